//! `zksync holders`: who holds a lock, a semaphore's permits or an election's leadership, and
//! who waits (a thin layer over [`zksync::recipes::inspect::queue`]).

use crate::args::{Cli, HoldersArgs};
use crate::{server_error, Failure, EXIT_ERROR};
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;
use zksync::recipes::inspect::{self, QueueEntry};
use zksync::Client;

/// Prints the queue at the path: one line per node (or one JSON array); `Ok(0)`.
pub async fn run(cli: &Cli, client: &Client, args: &HoldersArgs) -> Result<i32, Failure> {
    let path = &args.path;
    let entries = inspect::queue(client, path).await.map_err(|e| {
        let why = if e.is_no_node() {
            "no such node".to_string()
        } else {
            server_error(cli, &e)
        };
        Failure::new(
            EXIT_ERROR,
            format!("cannot list the queue of {path}: {why}"),
        )
    })?;
    let text = if args.json {
        json(&entries)
    } else {
        entries.iter().map(line).collect()
    };
    let mut out = std::io::stdout();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Failure::new(EXIT_ERROR, format!("cannot write: {e}"))),
    }
}

/// `holder write 4294967301 0x100a3f2c0000 12.3s host-1234` (the data last: it may hold spaces).
fn line(e: &QueueEntry) -> String {
    format!(
        "{} {} {} 0x{:x} {} {}\n",
        if e.holder { "holder" } else { "waiter" },
        e.kind.as_str(),
        e.token,
        e.session_id,
        age(e.age()),
        field(&e.data)
    )
}

/// An age as `850ms`, `12.3s`, `4m05s`, `3h07m`.
fn age(d: Duration) -> String {
    let s = d.as_secs();
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if s < 60 {
        format!("{:.1}s", d.as_secs_f64())
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    }
}

/// The entries as one JSON array on one line.
fn json(entries: &[QueueEntry]) -> String {
    let mut out = String::from("[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"kind\":{},\"holder\":{},\"token\":{},\"session\":{},\"data\":{},\"age_ms\":{},\"node\":{}}}",
            json_string(e.kind.as_str()),
            e.holder,
            e.token,
            json_string(&format!("0x{:x}", e.session_id)),
            json_string(&String::from_utf8_lossy(&e.data)),
            e.age().as_millis(),
            json_string(&e.node),
        );
    }
    out.push_str("]\n");
    out
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A node's data (an id) for a line of text: lossy UTF-8 with control characters escaped
/// (so one node is one line), `-` if empty.
pub fn field(data: &[u8]) -> String {
    if data.is_empty() {
        return "-".into();
    }
    printable(data)
}

/// Lossy UTF-8 with control characters escaped (`\n`, `\x1b`...).
fn printable(data: &[u8]) -> String {
    String::from_utf8_lossy(data)
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}é"), r#""a\"b\\c\nd\u0001é""#);
    }

    #[test]
    fn ages() {
        assert_eq!(age(Duration::from_millis(850)), "850ms");
        assert_eq!(age(Duration::from_millis(12_345)), "12.3s");
        assert_eq!(age(Duration::from_secs(245)), "4m05s");
        assert_eq!(age(Duration::from_secs(3 * 3600 + 7 * 60 + 5)), "3h07m");
    }

    #[test]
    fn data_fields_stay_on_one_line() {
        assert_eq!(field(b""), "-");
        assert_eq!(field(b"host-12"), "host-12");
        assert_eq!(field(b"a\nb"), "a\\nb");
    }
}
