//! DURATION arguments: a number with a unit (`500ms`, `10s`, `1.5s`, `2m`, `1h`).

use std::time::Duration;

/// Parses a duration for clap: a non-negative number (decimals allowed) directly followed by
/// one of the units `ms`, `s`, `m`, `h`. A bare number is refused: `--timeout 10` could mean
/// seconds or milliseconds, and a script should say which.
pub fn parse(text: &str) -> Result<Duration, String> {
    let hint = "expected a number with a unit, e.g. 500ms, 10s or 2m";
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() {
        return Err(format!("{text:?}: {hint}"));
    }
    if unit.is_empty() {
        return Err(format!("{text:?} has no unit: {hint}"));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: bad number {number:?}; {hint}"))?;
    let seconds_per_unit = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ))
        }
    };
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .ok()
        .filter(|d| *d <= Duration::from_secs(100 * 365 * 24 * 3600))
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// Formats a duration the way a user would write it (`500ms`, `10s`, `1.5s`, `2m`).
pub fn show(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 60_000 == 0 && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 && ms > 0 {
        format!("{}s", ms / 1000)
    } else if ms >= 1000 {
        format!("{}s", d.as_secs_f64())
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "10",
            "s",
            "10x",
            "1.2.3s",
            "-1s",
            "10 s",
            "1e3s",
            "99999999999h",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn shows_like_typed() {
        assert_eq!(show(Duration::from_millis(500)), "500ms");
        assert_eq!(show(Duration::from_secs(10)), "10s");
        assert_eq!(show(Duration::from_millis(1500)), "1.5s");
        assert_eq!(show(Duration::from_secs(120)), "2m");
        assert_eq!(show(Duration::ZERO), "0ms");
    }
}
