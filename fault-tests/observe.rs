//! What a fault test watches while the fault is in force, each from a task of its own so the
//! instant of every event is known while the test does other things: a waiter's acquire
//! (`spawn_waiter`), a client's state changes (`TimedStates`), a guard's `lost()` verdict
//! (`LossWatch`); and instants printed relative to one another.

use crate::support::guard;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::watch;
use zksync::recipes::{LockGuard, LockLost, RwLock};
use zksync::{Client, SessionState};

/// A waiter for the write lock `dir` through `c`: resolves with when it acquired.
pub fn spawn_waiter(
    c: &Client,
    dir: &str,
) -> tokio::task::JoinHandle<(Instant, zksync::Result<LockGuard>)> {
    let lock = RwLock::new(c.clone(), dir);
    tokio::spawn(async move {
        let g = lock.write().await;
        (Instant::now(), g)
    })
}

/// Every state change of a client from now on (starting with the current state), with the
/// instant it was seen and the session's lease at that moment.
pub struct TimedStates {
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

/// A state change: when, which state, and the lease (`session_valid_until`) then.
pub type Seen = (Instant, SessionState, Option<Instant>);

impl TimedStates {
    pub fn start(c: &Client) -> TimedStates {
        let mut changes = c.state_changes();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (s2, c2) = (seen.clone(), c.clone());
        let task = tokio::spawn(async move {
            while let Some(s) = changes.next().await {
                let lease = c2.session_valid_until();
                s2.lock().unwrap().push((Instant::now(), s, lease));
            }
        });
        TimedStates { seen, task }
    }

    pub fn get(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The first change to a state matching `pred`.
    pub fn find(&self, pred: impl Fn(SessionState) -> bool) -> Option<Seen> {
        self.get().into_iter().find(|(_, s, _)| pred(*s))
    }

    /// The first change after `after` to a state matching `pred`.
    pub fn find_after(&self, after: Instant, pred: impl Fn(SessionState) -> bool) -> Option<Seen> {
        self.get()
            .into_iter()
            .find(|(i, s, _)| *i > after && pred(*s))
    }

    /// When the first state matching `pred` was seen.
    pub fn first(&self, pred: impl Fn(SessionState) -> bool) -> Option<Instant> {
        self.find(pred).map(|(i, _, _)| i)
    }

    /// The states as `+ms state` relative to `base`, for messages.
    pub fn show(&self, base: Instant) -> String {
        self.get()
            .iter()
            .map(|(i, s, _)| {
                let s = match s {
                    SessionState::Disconnected { .. } => "Disconnected".to_string(),
                    s => format!("{s:?}"),
                };
                format!("{} {s}", rel(*i, base))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Drop for TimedStates {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// When, and why, `g.lost()` resolved. Its first poll starts the guard's monitor.
pub struct LossWatch {
    seen: watch::Receiver<Option<(Instant, LockLost)>>,
    task: tokio::task::JoinHandle<()>,
}

impl LossWatch {
    pub fn start(g: &Arc<LockGuard>) -> LossWatch {
        let (tx, seen) = watch::channel(None);
        let g2 = g.clone();
        let task = tokio::spawn(async move {
            let l = g2.lost().await;
            tx.send_replace(Some((Instant::now(), l)));
        });
        LossWatch { seen, task }
    }

    /// The verdict, if there is one yet.
    pub fn get(&self) -> Option<(Instant, LockLost)> {
        self.seen.borrow().clone()
    }

    /// Waits (hang-guarded) for the verdict.
    pub async fn wait(&self) -> (Instant, LockLost) {
        let mut seen = self.seen.clone();
        guard("the holder's lost()", async {
            seen.wait_for(Option::is_some)
                .await
                .expect("loss watch task")
                .clone()
                .expect("a verdict")
        })
        .await
    }

    /// Ends the watch (its task holds a clone of the guard); returns the verdict, if any.
    pub async fn stop(self) -> Option<(Instant, LockLost)> {
        let LossWatch { seen, task } = self;
        task.abort();
        let _ = task.await;
        let verdict = seen.borrow().clone();
        verdict
    }
}

/// The guard back from its `Arc` once every watch on it has stopped.
pub fn unwrap_guard(g: Arc<LockGuard>) -> LockGuard {
    Arc::try_unwrap(g).unwrap_or_else(|_| panic!("guard still shared"))
}

/// `t` relative to `base`, signed, in milliseconds.
pub fn rel(t: Instant, base: Instant) -> String {
    format!("{:+}ms", ms(t, base))
}

/// Signed `a - b` in milliseconds, for messages.
pub fn ms(a: Instant, b: Instant) -> i128 {
    if a >= b {
        (a - b).as_millis() as i128
    } else {
        -((b - a).as_millis() as i128)
    }
}
