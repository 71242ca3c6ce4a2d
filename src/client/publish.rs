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
            self.subscribers.push(tx);
        }
    }
}
