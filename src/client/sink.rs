//! The channel ends the session state machine completes requests and delivers events into.

use crate::error::Error;
use crate::proto::Response;
use crate::session::{Completer, WatchSink, WatchedEvent};
use tokio::sync::{mpsc, oneshot};

/// Where one request's result goes: the oneshot its caller awaits.
pub(crate) struct Reply(pub(crate) oneshot::Sender<Result<Response, Error>>);

impl Completer for Reply {
    fn complete(self, result: Result<Response, Error>) {
        // The caller may have given up (dropped its future): nothing to do then.
        let _ = self.0.send(result);
    }
}

/// Where watch events go: a oneshot for one-shot watches, an unbounded channel for persistent
/// ones (events must never be dropped or block the driver).
pub(crate) enum Sink {
    Once(Option<oneshot::Sender<Result<WatchedEvent, Error>>>),
    Stream(mpsc::UnboundedSender<Result<WatchedEvent, Error>>),
}

impl WatchSink for Sink {
    fn deliver(&mut self, event: Result<WatchedEvent, Error>) -> bool {
        match self {
            Sink::Once(tx) => {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(event);
                }
                false
            }
            Sink::Stream(tx) => tx.send(event).is_ok(),
        }
    }

    fn is_closed(&self) -> bool {
        match self {
            Sink::Once(Some(tx)) => tx.is_closed(),
            Sink::Once(None) => true,
            Sink::Stream(tx) => tx.is_closed(),
        }
    }
}
