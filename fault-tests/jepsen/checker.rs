//! The checker of the Jepsen-style runs: the overlap checks shared with the interop tests
//! (`zksync_test_support::overlap`: mutual exclusion, fencing-token order, at most `max`
//! permits at once), and the fault-power count (how many sections a fault landed in).

use std::time::Duration;
pub use zksync_test_support::overlap::{
    peak_permits, permit_violations, violations, Kind, Section,
};

/// A time window in which a fault was in force, and whom it hit.
#[derive(Debug, Clone)]
pub struct FaultWindow {
    pub start: Duration,
    pub end: Duration,
    /// The proxy whose connections it hit (for a server restart: that server's proxy); `None`:
    /// every session (the lock's directory removed).
    pub proxy: Option<usize>,
    pub kind: &'static str,
}

/// True if a fault that affects `s`'s session was in force at some point of `s`.
pub fn hit(s: &Section, faults: &[FaultWindow]) -> bool {
    hit_span(&[s.proxy], s.start, s.end, faults)
}

/// True if a fault that affects a session through one of `proxies` was in force at some point
/// of `start..=end` (a section, or a double-barrier round with several participants).
pub fn hit_span(proxies: &[usize], start: Duration, end: Duration, faults: &[FaultWindow]) -> bool {
    faults
        .iter()
        .any(|f| f.proxy.is_none_or(|p| proxies.contains(&p)) && f.start <= end && start < f.end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Kind::Write;

    fn s(worker: usize, kind: Kind, token: i64, start: u64, end: u64) -> Section {
        Section {
            worker,
            proxy: worker,
            kind,
            token,
            start: Duration::from_millis(start),
            end: Duration::from_millis(end),
            lost: false,
        }
    }

    #[test]
    fn a_fault_hits_the_sections_through_its_proxy_it_overlaps() {
        let ms = Duration::from_millis;
        let cut = |p| FaultWindow {
            start: ms(100),
            end: ms(200),
            proxy: p,
            kind: "cut",
        };
        let faults = [cut(Some(1))];
        assert!(hit(&s(1, Write, 1, 150, 300), &faults));
        assert!(
            !hit(&s(2, Write, 1, 150, 300), &faults),
            "another proxy's cut"
        );
        assert!(!hit(&s(1, Write, 1, 200, 300), &faults), "after it");
        assert!(
            hit(&s(2, Write, 1, 50, 101), &[cut(None)]),
            "a server fault hits all"
        );
    }
}
