//! The overlap checker of the fault tests and the interop tests: mutual exclusion and
//! fencing-token order among the critical sections the clients believed they held (a lock's,
//! or a leader's from `campaign()` to its resignation), and at most `max` permits of a
//! semaphore held at once.

use std::time::Duration;
use zksync::recipes::LockKind;

/// What a section held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A read lock: shared with other readers.
    Read,
    /// A write lock (`RwLock::write` or `Mutex`): exclusive.
    Write,
    /// An election's leadership: exclusive.
    Leader,
    /// A semaphore's permit: shared with up to `max - 1` others (`permit_violations`).
    Permit,
}

impl From<LockKind> for Kind {
    fn from(k: LockKind) -> Kind {
        match k {
            LockKind::Read => Kind::Read,
            _ => Kind::Write,
        }
    }
}

/// The token of a section whose holder's token is not known (no node has czxid 0).
pub const UNKNOWN_TOKEN: i64 = 0;

/// One critical section, as the client that held it saw it.
#[derive(Debug, Clone)]
pub struct Section {
    pub worker: usize,
    /// The proxy (index into the fault fixture's proxies) the worker's session went through
    /// (0 where there are none).
    pub proxy: usize,
    pub kind: Kind,
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

/// Every violation of mutual exclusion and of fencing-token order among `sections` (a lock's,
/// or an election's: two leaders overlapping, a later leader with a token not larger).
///
/// A token of [`UNKNOWN_TOKEN`] (a holder in another library's process, whose node this side
/// never saw) takes part in the overlap check only.
pub fn violations(sections: &[Section]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in sections.iter().enumerate() {
        for b in &sections[i + 1..] {
            if a.kind == Kind::Read && b.kind == Kind::Read {
                continue; // readers share
            }
            if a.start < b.end && b.start < a.end {
                out.push(format!("overlap: {a:?} and {b:?}"));
                continue;
            }
            let (first, second) = if a.end <= b.start { (a, b) } else { (b, a) };
            if first.token != UNKNOWN_TOKEN
                && second.token != UNKNOWN_TOKEN
                && first.token >= second.token
            {
                out.push(format!(
                    "token order: {first:?} ended before {second:?} started, with a token not smaller"
                ));
            }
        }
    }
    out
}

/// Every moment at which more than `max` of a semaphore's permits were held (`sections` are
/// its permits' sections: each from its `acquire()` returning to its holder's last check that
/// the permit was still held). Held at once means their open intervals overlap, as for
/// `violations`. One violation per section whose start saw more than `max` sections in force
/// (the count can only rise at a start).
pub fn permit_violations(sections: &[Section], max: usize) -> Vec<String> {
    let mut out = Vec::new();
    for b in sections.iter().filter(|b| b.start < b.end) {
        // In force just after b starts: every section that started no later and ends later.
        let held: Vec<&Section> = sections
            .iter()
            .filter(|a| a.start < a.end && a.start <= b.start && b.start < a.end)
            .collect();
        if held.len() > max {
            out.push(format!(
                "{} permits held at once (max {max}) at {:?}: {held:?}",
                held.len(),
                b.start
            ));
        }
    }
    out
}

/// The most permits held at once among `sections` (as `permit_violations` counts them): shows
/// that the semaphore was run at its limit, so that `permit_violations` had something to judge.
pub fn peak_permits(sections: &[Section]) -> usize {
    sections
        .iter()
        .filter(|b| b.start < b.end)
        .map(|b| {
            sections
                .iter()
                .filter(|a| a.start < a.end && a.start <= b.start && b.start < a.end)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Kind::{Leader, Permit, Read, Write};

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
    fn a_foreign_holder_with_no_known_token_is_checked_for_overlap_only() {
        let h = [
            s(0, Write, UNKNOWN_TOKEN, 0, 10),
            s(1, Write, 7, 11, 20),
            s(2, Write, UNKNOWN_TOKEN, 21, 30),
        ];
        assert!(violations(&h).is_empty(), "{:?}", violations(&h));
        let v = violations(&[s(0, Write, UNKNOWN_TOKEN, 0, 10), s(1, Write, 7, 5, 20)]);
        assert_eq!(v.len(), 1);
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
    fn accepts_leaders_one_after_another() {
        let h = [
            s(0, Leader, 10, 0, 10),
            s(1, Leader, 12, 10, 20),
            // Lost at its first check: an empty section, it never led.
            s(2, Leader, 13, 21, 21),
            s(3, Leader, 20, 22, 30),
        ];
        assert!(violations(&h).is_empty(), "{:?}", violations(&h));
    }

    #[test]
    fn finds_two_leaders_at_once_and_a_leader_token_going_backwards() {
        let v = violations(&[s(0, Leader, 10, 0, 10), s(1, Leader, 12, 9, 20)]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].starts_with("overlap"));
        // One leader inside another's section.
        let v = violations(&[s(0, Leader, 10, 0, 100), s(1, Leader, 12, 40, 50)]);
        assert_eq!(v.len(), 1, "{v:?}");
        let v = violations(&[s(0, Leader, 12, 0, 10), s(1, Leader, 10, 11, 20)]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].starts_with("token order"));
        let v = violations(&[s(0, Leader, 12, 0, 10), s(1, Leader, 12, 11, 20)]);
        assert_eq!(v.len(), 1, "an equal token is not larger: {v:?}");
    }

    #[test]
    fn accepts_max_permits_at_once() {
        let h = [
            s(0, Permit, 1, 0, 50),
            s(1, Permit, 2, 10, 30),
            // Starts as the second ends: two in force, never three.
            s(2, Permit, 3, 30, 60),
            s(3, Permit, 4, 50, 70),
            // Lost at its first check (empty): held nothing.
            s(4, Permit, 5, 55, 55),
            // Tokens need not grow from one permit to the next.
            s(5, Permit, 0, 61, 80),
        ];
        assert!(
            permit_violations(&h, 2).is_empty(),
            "{:?}",
            permit_violations(&h, 2)
        );
        assert_eq!(peak_permits(&h), 2);
        let all: Vec<Section> = (0..3).map(|i| s(i, Permit, i as i64, 0, 10)).collect();
        assert!(permit_violations(&all, 3).is_empty());
        assert_eq!(peak_permits(&all), 3);
    }

    #[test]
    fn finds_max_plus_one_permits_at_once() {
        let h = [
            s(0, Permit, 1, 0, 50),
            s(1, Permit, 2, 10, 30),
            s(2, Permit, 3, 29, 60),
        ];
        let v = permit_violations(&h, 2);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(
            v[0].starts_with("3 permits held at once (max 2) at 29ms"),
            "{v:?}"
        );
        // Four at once under max 3, starting together: each start sees all four.
        let all: Vec<Section> = (0..4).map(|i| s(i, Permit, i as i64, 0, 10)).collect();
        let v = permit_violations(&all, 3);
        assert_eq!(v.len(), 4, "{v:?}");
        assert!(v.iter().all(|v| v.starts_with("4 permits")), "{v:?}");
    }
}
