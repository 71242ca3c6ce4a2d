//! Watches as values: a one-shot watch is a future, a persistent watch a stream-like receiver.

use crate::error::Error;
use crate::session::{SessionState, WatchedEvent};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot};

/// A one-shot watch: resolves once, with the event that fired it, or with an error if the
/// session ended first ([`Error::SessionExpired`], [`Error::AuthFailed`], [`Error::Closed`]).
///
/// Watches survive reconnects within a session: the client re-registers them, and the server
/// fires them at once if the node changed while the client was away.
#[derive(Debug)]
#[must_use = "a watch does nothing unless awaited"]
pub struct OneshotWatch {
    pub(crate) rx: oneshot::Receiver<Result<WatchedEvent, Error>>,
}

impl Future for OneshotWatch {
    type Output = Result<WatchedEvent, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(Error::Closed)))
    }
}

/// A persistent (or persistent-recursive) watch: every matching event, in order, until the
/// session ends (then one error) or the watch is dropped.
#[derive(Debug)]
#[must_use = "a persistent watch delivers events only to whoever reads them; dropping it ends it"]
pub struct PersistentWatch {
    pub(crate) rx: mpsc::UnboundedReceiver<Result<WatchedEvent, Error>>,
}

impl PersistentWatch {
    /// The next event; `Some(Err(..))` once when the session ends, then `None`.
    ///
    /// **Cancel-safety:** a dropped call loses no event; the next call returns it.
    pub async fn next(&mut self) -> Option<Result<WatchedEvent, Error>> {
        self.rx.recv().await
    }

    /// An event if one is already waiting.
    pub fn try_next(&mut self) -> Option<Result<WatchedEvent, Error>> {
        self.rx.try_recv().ok()
    }
}

/// Every session state transition, in order, starting with the state at subscription.
#[derive(Debug)]
#[must_use = "state transitions are seen only by reading them"]
pub struct StateChanges {
    pub(crate) rx: mpsc::UnboundedReceiver<SessionState>,
}

impl StateChanges {
    /// The next state; `None` once the client is gone and every state was seen.
    ///
    /// **Cancel-safety:** a dropped call loses no transition; the next call returns it.
    pub async fn next(&mut self) -> Option<SessionState> {
        self.rx.recv().await
    }

    /// A transition if one is already waiting.
    pub fn try_next(&mut self) -> Option<SessionState> {
        self.rx.try_recv().ok()
    }
}
