//! The checker: mutual exclusion and fencing-token order among the critical sections the
//! clients believed they held, and the fault-power count (how many sections a fault landed in).

use std::time::Duration;
use zksync::recipes::LockKind;

/// One critical section, as the client that held it saw it.
#[derive(Debug, Clone)]
pub struct Section {
    pub worker: usize,
    /// The proxy (index into the fixture's proxies) the worker's session went through.
    pub proxy: usize,
    pub kind: LockKind,
    pub token: i64,
    /// Since the start of the run (one monotonic clock for every worker).
    pub start: Duration,
    /// The last moment the holder acted on the lock: its last check that the lock was still
    /// held (`is_lost()` false), right before its last step. A holder that finds the lock lost
    /// stops there; what it sent before may still arrive (the register fences that).
    pub end: Duration,
    /// The guard reported the lock lost during the section.
    pub lost: bool,
}

/// Every violation of mutual exclusion and of fencing-token order among `sections`.
pub fn violations(sections: &[Section]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in sections.iter().enumerate() {
        for b in &sections[i + 1..] {
            if a.kind == LockKind::Read && b.kind == LockKind::Read {
                continue; // readers share
            }
            if a.start < b.end && b.start < a.end {
                out.push(format!("overlap: {a:?} and {b:?}"));
                continue;
            }
            let (first, second) = if a.end <= b.start { (a, b) } else { (b, a) };
            if first.token >= second.token {
                out.push(format!(
                    "token order: {first:?} ended before {second:?} started, with a token not smaller"
                ));
            }
        }
    }
    out
}

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
    use LockKind::{Read, Write};

    fn s(worker: usize, kind: LockKind, token: i64, start: u64, end: u64) -> Section {
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
    fn accepts_a_correct_history() {
        let h = [
            s(0, Write, 1, 0, 10),
            s(1, Read, 2, 11, 20),
            s(2, Read, 3, 12, 25),
            s(3, Write, 4, 26, 30),
            s(1, Read, 6, 31, 40),
            // A later reader that started first (both readers waited for the same writer).
            s(2, Read, 5, 41, 45),
        ];
        assert!(violations(&h).is_empty(), "{:?}", violations(&h));
    }

    #[test]
    fn finds_overlapping_writers_and_reader_writer_overlap() {
        let v = violations(&[s(0, Write, 1, 0, 10), s(1, Write, 2, 9, 20)]);
        assert_eq!(v.len(), 1);
        assert!(v[0].starts_with("overlap"));
        let v = violations(&[s(0, Read, 1, 0, 10), s(1, Write, 2, 5, 6)]);
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn finds_tokens_going_backwards() {
        let v = violations(&[s(0, Write, 5, 0, 10), s(1, Write, 4, 11, 20)]);
        assert_eq!(v.len(), 1);
        assert!(v[0].starts_with("token order"));
        let v = violations(&[s(0, Read, 5, 0, 10), s(1, Write, 4, 11, 20)]);
        assert_eq!(v.len(), 1);
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
