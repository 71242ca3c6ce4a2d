//! The session's lease as the driver last published it, readable by every handle without a
//! round trip to the driver (and without a runtime: a guard's `is_lost()` reads it from any
//! thread, also while the driver cannot run).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// One instant in an atomic: nanoseconds after `base`, plus one (0 = not known yet).
#[derive(Debug)]
pub(crate) struct LeaseCell {
    base: Instant,
    nanos: AtomicU64,
}

impl LeaseCell {
    pub(crate) fn new(base: Instant) -> LeaseCell {
        LeaseCell {
            base,
            nanos: AtomicU64::new(0),
        }
    }

    /// Publishes `until` (the session's `valid_until`).
    pub(crate) fn publish(&self, until: Option<Instant>) {
        let n = until.map_or(0, |u| {
            let d = u.saturating_duration_since(self.base).as_nanos();
            d.min(u128::from(u64::MAX - 1)) as u64 + 1
        });
        self.nanos.store(n, Ordering::Release);
    }

    /// The instant last published.
    pub(crate) fn get(&self) -> Option<Instant> {
        match self.nanos.load(Ordering::Acquire) {
            0 => None,
            n => Some(self.base + std::time::Duration::from_nanos(n - 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn round_trips_an_instant() {
        let base = Instant::now();
        let cell = LeaseCell::new(base);
        assert_eq!(cell.get(), None);
        let t = base + Duration::from_millis(1234);
        cell.publish(Some(t));
        assert_eq!(cell.get(), Some(t));
        cell.publish(Some(base));
        assert_eq!(cell.get(), Some(base));
        cell.publish(None);
        assert_eq!(cell.get(), None);
    }
}
