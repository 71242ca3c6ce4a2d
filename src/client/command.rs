//! What a `Client` handle asks of its driver ([`Command`]), and the driver's book of background
//! tasks (clean-up handed over from a `Drop`) that a close waits for.

use super::sink::{Reply, Sink};
use crate::error::Unreachable;
use crate::proto::Request;
use crate::session::{SessionState, WatchKind};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// A message from a `Client` handle to its driver.
pub(crate) enum Command {
    /// Send a request; the result goes to `reply`. The request is boxed so that a command
    /// (a channel slot) stays small when thousands are queued at once.
    Request {
        request: Box<Request>,
        watch: Option<(WatchKind, Sink)>,
        reply: Reply,
    },
    /// Subscribe to every state transition.
    SubscribeStates(mpsc::UnboundedSender<SessionState>),
    /// Run this future on the driver's runtime (a clean-up handed over from a `Drop` that may
    /// have no runtime of its own); a close waits for it (see [`BACKGROUND_CLOSE_WAIT`]).
    Background(BackgroundTask),
    /// Report how many watch registrations the session holds.
    WatchCount(oneshot::Sender<usize>),
    /// Report what happened on each host: `connect` waited this long for a session in vain.
    Unreachable(Duration, oneshot::Sender<Unreachable>),
    /// Close the session (closeSession, then drop the connection).
    Close,
}

/// A future handed to the driver by [`Command::Background`].
pub(crate) type BackgroundTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How long a close waits for background tasks (queued clean-up deletes) to finish before it
/// closes the session anyway (closing removes the session's ephemeral nodes in any case).
pub(crate) const BACKGROUND_CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Tells the driver that a background task ended, also if it panicked or its runtime dropped it.
struct BackgroundDone(mpsc::UnboundedSender<()>);

impl Drop for BackgroundDone {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// Background tasks in flight and a close that waits for them.
pub(crate) struct Background {
    running: usize,
    done_tx: mpsc::UnboundedSender<()>,
    /// Where the tasks report their end.
    pub(crate) done_rx: mpsc::UnboundedReceiver<()>,
    /// A close was asked for while tasks ran: it happens when they are done or at this instant.
    pub(crate) close_at: Option<Instant>,
}

impl Background {
    /// No tasks yet, no close waiting.
    pub(crate) fn new() -> Background {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Background {
            running: 0,
            done_tx,
            done_rx,
            close_at: None,
        }
    }

    /// Runs `task` on the current runtime, counted until it ends.
    pub(crate) fn spawn(&mut self, task: BackgroundTask) {
        self.running += 1;
        let done = BackgroundDone(self.done_tx.clone());
        tokio::spawn(async move {
            let _done = done;
            task.await;
        });
    }

    /// A close asked for at `now`: false if it must wait for running tasks (until they end,
    /// or [`BACKGROUND_CLOSE_WAIT`] at most), true if it may happen at once.
    pub(crate) fn close_now(&mut self, now: Instant) -> bool {
        if self.running == 0 {
            return true;
        }
        self.close_at.get_or_insert(now + BACKGROUND_CLOSE_WAIT);
        false
    }

    /// A task ended: true if a waiting close may happen now.
    pub(crate) fn task_done(&mut self) -> bool {
        self.running -= 1;
        self.running == 0 && self.close_at.take().is_some()
    }
}
