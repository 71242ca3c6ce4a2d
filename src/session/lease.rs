//! The session's lease: the latest instant before which no server can have expired the session,
//! judged on this client's own clock from contacts the servers answered.
//!
//! # How servers track a session, and what follows for the bound
//! Only the leader expires sessions. It expires a session a session timeout `T` (rounded up to
//! its next tick) after the last *touch* it knows of. A touch reaches the leader in one of two
//! ways:
//! - **A handshake.** A follower that is asked to resume a session revalidates it with the
//!   leader (which touches it) before it answers; a new session is registered by the leader
//!   itself. So the send time of an answered handshake is a touch the leader knows of.
//! - **Any other request or ping.** The server the client talks to touches the session in a
//!   table of its own and, if it is a follower, passes that table on to the leader only in its
//!   reply to the leader's next ping. The leader pings every half tick, and ZooKeeper grants no
//!   session timeout below two ticks (`minSessionTimeout` defaults to `2 * tickTime`), so a
//!   touch is passed on within [`forward_bound`] = `T / 4` *if the follower is still alive*.
//!   If it dies first, the touch is lost: the leader knows only earlier ones.
//!
//! So a contact answered at `a` counts only once the same connection has carried another request
//! that was *sent* at `a + T/4` or later and answered: the server received that request (it was
//! alive at its send time at the latest), so it had passed the earlier touch on. The lease is the
//! send time of the latest contact that counts, plus `T`, less [`CLOCK_RATE_DIVISOR`]'s share of
//! `T` for the difference between the rates of this client's clock and the leader's.
//!
//! The client pings every `T/6` whatever else it sends (see `ping_interval`), so on an idle
//! connection a contact counts two pings later: the lease stays about `T/2` to `2T/3` ahead, and
//! one slow answer (up to about `T/2`) does not let it run out. A process that is paused (a
//! stall, a SIGSTOP) cannot renew it: after a pause longer than that, the lease has run out when the
//! process looks, before its driver has run.
//!
//! # A server that answers but passes nothing on
//! "The server was alive, so it had passed the touch on" fails in two cases: a follower cut off
//! from the leader by a network that drops packets (no reset), and a leader that stalls (a GC
//! pause, a frozen VM). Either way the follower goes on answering for up to `S` = the servers'
//! `syncLimit × tickTime` (it drops a leader only after that long without a word from it),
//! while the leader gets none of its touches. So with `S > T/4 - tick/2` a contact can count
//! that the leader never learns of. Given `S` (`ConnectOptions::server_sync_limit`), a contact
//! counts only once a request sent `T/4 + S` after its answer was answered: the follower that
//! answered it had heard from the leader less than `S` before, so after the contact's answer
//! plus `T/4`, by which time it had passed the touch on. The lease then stays about `7T/12 - S`
//! ahead on an idle connection, which is why `S` must stay below `T/2`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The clock-rate error allowed for: `T / 100`, i.e. 1 %, a hundred times the drift of an
/// ordinary undisciplined quartz clock (about 100 ppm).
pub const CLOCK_RATE_DIVISOR: u32 = 100;

/// At most this many unconfirmed contacts are kept; older ones are dropped (a conservative
/// choice: dropping a candidate can only make the lease shorter).
const MAX_PENDING: usize = 64;

/// The time within which a follower passes a touch on to the leader: half a tick, and a tick is
/// at most half the session timeout.
pub fn forward_bound(timeout: Duration) -> Duration {
    timeout / 4
}

/// A contact the server answered: when it was sent and when its answer arrived.
#[derive(Debug, Clone, Copy)]
struct Contact {
    sent: Instant,
    answered: Instant,
}

/// The contacts that may extend the lease. See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Lease {
    /// Send time of the latest contact the leader must know of.
    confirmed: Option<Instant>,
    /// Contacts on the current connection not yet known to have reached the leader, oldest first.
    pending: VecDeque<Contact>,
}

impl Lease {
    /// A handshake sent at `sent` was answered: the leader touched the session after `sent`.
    pub(crate) fn on_handshake(&mut self, sent: Instant) {
        self.pending.clear();
        self.confirm(sent);
    }

    /// A request or ping sent at `sent` was answered at `answered`. A contact counts once the
    /// same connection has answered a request sent `confirm_after` or more after its answer:
    /// [`forward_bound`], plus the servers' `syncLimit × tickTime` if the caller gave it.
    pub(crate) fn on_answer(&mut self, sent: Instant, answered: Instant, confirm_after: Duration) {
        let forward = confirm_after;
        // The server was alive when this request reached it, no earlier than `sent`: every
        // touch it made `forward` before that has been passed on.
        while let Some(c) = self.pending.front().copied() {
            if c.answered + forward > sent {
                break;
            }
            self.pending.pop_front();
            self.confirm(c.sent);
        }
        // Keep a sample every forward/8 of send time: enough to confirm within an eighth of the
        // bound, and a deep pipeline does not fill the queue with thousands of near-equal ones.
        let newer = match self.pending.back() {
            Some(last) => sent >= last.sent + forward / 8,
            None => self.confirmed.is_none_or(|c| sent > c),
        };
        if newer {
            if self.pending.len() == MAX_PENDING {
                self.pending.pop_front();
            }
            self.pending.push_back(Contact { sent, answered });
        }
    }

    /// The connection is gone: its unconfirmed contacts can no longer be confirmed by it.
    pub(crate) fn on_connection_lost(&mut self) {
        self.pending.clear();
    }

    /// Forgets everything (the session was replaced by a new one).
    pub(crate) fn reset(&mut self) {
        *self = Lease::default();
    }

    /// The latest instant before which no server can have expired the session, for a session
    /// timeout `timeout`; `None` before the first handshake.
    pub(crate) fn valid_until(&self, timeout: Duration) -> Option<Instant> {
        self.confirmed
            .map(|c| c + timeout - timeout / CLOCK_RATE_DIVISOR)
    }

    fn confirm(&mut self, sent: Instant) {
        self.confirmed = Some(self.confirmed.map_or(sent, |c| c.max(sent)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(4);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_handshake_counts_at_once() {
        let t0 = Instant::now();
        let mut l = Lease::default();
        assert_eq!(l.valid_until(T), None);
        l.on_handshake(t0);
        assert_eq!(l.valid_until(T), Some(t0 + T - T / 100));
    }

    #[test]
    fn a_contact_counts_once_a_request_sent_a_forward_bound_after_its_answer_was_answered() {
        let t0 = Instant::now();
        let mut l = Lease::default();
        l.on_handshake(t0);
        // A ping sent at 1 s, answered at 1.01 s: not yet known to the leader.
        l.on_answer(t0 + ms(1000), t0 + ms(1010), forward_bound(T));
        assert_eq!(l.valid_until(T), Some(t0 + T - T / 100));
        // A request sent 0.5 s after that answer (less than T/4 = 1 s): still not.
        l.on_answer(t0 + ms(1510), t0 + ms(1520), forward_bound(T));
        assert_eq!(l.valid_until(T), Some(t0 + T - T / 100));
        // Sent exactly T/4 after the first answer: the first contact counts now, not the second.
        l.on_answer(t0 + ms(2010), t0 + ms(2020), forward_bound(T));
        assert_eq!(l.valid_until(T), Some(t0 + ms(1000) + T - T / 100));
        // Much later: both of the others count; the latest send time wins.
        l.on_answer(t0 + ms(9000), t0 + ms(9010), forward_bound(T));
        assert_eq!(l.valid_until(T), Some(t0 + ms(2010) + T - T / 100));
    }

    #[test]
    fn contacts_of_a_lost_connection_never_count() {
        let t0 = Instant::now();
        let mut l = Lease::default();
        l.on_handshake(t0);
        l.on_answer(t0 + ms(1000), t0 + ms(1010), forward_bound(T));
        l.on_connection_lost();
        // The next connection's first answered request cannot vouch for the dead server.
        l.on_answer(t0 + ms(5000), t0 + ms(5010), forward_bound(T));
        assert_eq!(l.valid_until(T), Some(t0 + T - T / 100));
        l.on_handshake(t0 + ms(4000));
        assert_eq!(l.valid_until(T), Some(t0 + ms(4000) + T - T / 100));
    }

    #[test]
    fn a_late_read_does_not_confirm_what_the_server_may_not_have_passed_on() {
        // Two replies sent back to back by a server that then died, the second read 7 s late
        // (the process was paused): the late read must not confirm the first contact, since the
        // rule looks at when the later request was *sent*.
        let t0 = Instant::now();
        let mut l = Lease::default();
        l.on_handshake(t0);
        l.on_answer(t0 + ms(1000), t0 + ms(1010), forward_bound(T));
        l.on_answer(t0 + ms(1005), t0 + ms(8000), forward_bound(T));
        assert_eq!(l.valid_until(T), Some(t0 + T - T / 100));
    }

    #[test]
    fn a_deep_pipeline_keeps_few_samples_and_the_lease_still_advances() {
        let t0 = Instant::now();
        let mut l = Lease::default();
        l.on_handshake(t0);
        for i in 0..100_000u64 {
            let sent = t0 + Duration::from_micros(50 * i);
            l.on_answer(sent, sent + ms(2), forward_bound(T));
            assert!(l.pending.len() <= MAX_PENDING);
        }
        // 5 s of traffic: the lease rests on a contact about T/4 (plus a sample step) old.
        let last = t0 + Duration::from_micros(50 * 99_999);
        let until = l.valid_until(T).unwrap();
        assert!(until <= last + T - T / 100 - forward_bound(T));
        assert!(until >= last + T - T / 100 - forward_bound(T) - forward_bound(T) / 4);
    }
}
