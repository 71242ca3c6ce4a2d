//! What the driver publishes for the handles, without a round trip: the session state (a
//! `watch` channel plus subscribers that see every transition), the session's id, password and
//! timeout, and its lease.

use super::lease::LeaseCell;
use super::sink::{Reply, Sink};
use crate::session::{Session, SessionState};
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Session id, password and negotiated timeout, published at every (re)connect.
pub(crate) type SessionInfo = (i64, Bytes, Duration);

/// The driver's side of the channels the handles read.
pub(crate) struct Publisher {
    state: watch::Sender<SessionState>,
    session_info: watch::Sender<Option<SessionInfo>>,
    /// Receivers of every state transition (`Client::state_changes`).
    subscribers: Vec<mpsc::UnboundedSender<SessionState>>,
    lease: Arc<LeaseCell>,
    /// The lease as last published: only a change is stored again.
    published: Option<Instant>,
    /// `subscribers` are pruned of closed ones when they reach this many.
    prune_at: usize,
}

impl Publisher {
    /// Publishes into these channels and this lease cell.
    pub(crate) fn new(
        state: watch::Sender<SessionState>,
        session_info: watch::Sender<Option<SessionInfo>>,
        lease: Arc<LeaseCell>,
    ) -> Publisher {
        Publisher {
            state,
            session_info,
            subscribers: Vec::new(),
            lease,
            published: None,
            prune_at: MIN_PRUNE_AT,
        }
    }

    /// Publishes the session's lease if it changed.
    pub(crate) fn lease(&mut self, session: &Session<Reply, Sink>) {
        let lease = session.valid_until();
        if lease != self.published {
            self.lease.publish(lease);
            self.published = lease;
        }
    }

    /// The state changed to `s`: tells the handles, and on a (re)connect the session's
    /// id, password and timeout.
    pub(crate) fn state(&mut self, session: &Session<Reply, Sink>, s: SessionState) {
        if s.is_connected() {
            let info = (
                session.session_id(),
                session.session_passwd().clone(),
                session.negotiated_timeout().unwrap_or_default(),
            );
            self.session_info.send_replace(Some(info));
        }
        self.state.send_replace(s);
        self.subscribers.retain(|tx| tx.send(s).is_ok());
    }

    /// Adds a subscriber of every transition, starting with the `current` state.
    pub(crate) fn subscribe(
        &mut self,
        tx: mpsc::UnboundedSender<SessionState>,
        current: SessionState,
    ) {
        if tx.send(current).is_ok() {
            // Receivers dropped since the last transition are only noticed by the next send:
            // without this, a session whose state never changes would keep one channel (about
            // 1 KB) for every `state_changes()` ever made, e.g. each lock's `lost()` monitor.
            // Pruning when the list has doubled keeps the cost per subscription constant.
            if self.subscribers.len() >= self.prune_at {
                self.subscribers.retain(|tx| !tx.is_closed());
                self.prune_at = (2 * self.subscribers.len()).max(MIN_PRUNE_AT);
            }
            self.subscribers.push(tx);
        }
    }
}

/// Subscribers kept before closed ones are first looked for.
const MIN_PRUNE_AT: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::lease::LeaseCell;

    #[test]
    fn dropped_subscribers_are_pruned_without_a_state_change() {
        let (state, _) = watch::channel(SessionState::Connecting);
        let (info, _) = watch::channel(None);
        let mut p = Publisher::new(state, info, Arc::new(LeaseCell::new(Instant::now())));
        let mut kept = Vec::new();
        for i in 0..10_000 {
            let (tx, rx) = mpsc::unbounded_channel();
            p.subscribe(tx, SessionState::Connected);
            if i % 100 == 0 {
                kept.push(rx); // 100 live ones among 10,000 dropped at once
            }
        }
        assert!(p.subscribers.len() <= 2 * MIN_PRUNE_AT.max(2 * kept.len()));
        assert!(p.subscribers.iter().filter(|tx| !tx.is_closed()).count() == kept.len());
    }
}
