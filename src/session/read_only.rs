//! Leaving a read-only server: the schedule of probes for a read-write one.
//!
//! A session that allows read-only servers may land on one that is cut off from the quorum.
//! It serves reads, but every write fails until the client moves. Like the reference client,
//! the session then asks the other hosts, one at a time, whether they serve read-write (the
//! `isro` four-letter word, answered "rw" or "ro"), first after [`FIRST_PROBE`], then at doubling
//! intervals up to [`MAX_PROBE_INTERVAL`]; the first "rw" answer moves the session there.
//!
//! A session first created by a read-only server is known to that server only: a read-write
//! server would call it expired. Until the client has seen a read-write server it therefore
//! asks for a new session at every handshake (session id 0), as the reference client does, and
//! takes the id it is given; nothing is lost, since a read-only session cannot own ephemeral
//! nodes, and its watches are registered again with the new session.

use std::time::{Duration, Instant};

/// Delay of the first probe after connecting to a read-only server.
pub const FIRST_PROBE: Duration = Duration::from_millis(100);
/// Longest pause between two probes.
pub const MAX_PROBE_INTERVAL: Duration = Duration::from_secs(10);

/// When to probe next, and which probe is being waited for.
#[derive(Debug)]
pub(crate) struct RwSeeker {
    next_at: Option<Instant>,
    interval: Duration,
    /// The connection epoch of the probe in progress, if any.
    waiting: Option<u64>,
}

impl RwSeeker {
    pub(crate) fn new() -> RwSeeker {
        RwSeeker {
            next_at: None,
            interval: FIRST_PROBE,
            waiting: None,
        }
    }

    /// A read-only server now serves the session: start probing.
    pub(crate) fn start(&mut self, now: Instant) {
        self.interval = FIRST_PROBE;
        self.next_at = Some(now + FIRST_PROBE);
        self.waiting = None;
    }

    /// Not on a read-only server any more (or no connection): nothing to seek.
    pub(crate) fn stop(&mut self) {
        self.next_at = None;
        self.waiting = None;
    }

    /// When the next probe is due (none while one is in progress).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.next_at.filter(|_| self.waiting.is_none())
    }

    /// Whether a probe should start now.
    pub(crate) fn due(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|t| now >= t)
    }

    /// A probe was handed to the driver on connection `epoch`.
    pub(crate) fn probe_started(&mut self, epoch: u64) {
        self.waiting = Some(epoch);
        self.next_at = None;
    }

    /// Whether a probe result belongs to the probe being waited for.
    pub(crate) fn awaits(&self, epoch: u64) -> bool {
        self.waiting == Some(epoch)
    }

    /// The probed host is not read-write (or did not answer): try again later, less often.
    pub(crate) fn probe_failed(&mut self, now: Instant) {
        self.waiting = None;
        self.interval = (self.interval * 2).min(MAX_PROBE_INTERVAL);
        self.next_at = Some(now + self.interval);
    }
}
