//! A held lock: its fencing token, its lease, and how its loss is noticed.
//!
//! One monitor per guard, started by the first `lost()` or `at_risk()`, watches the lock node
//! (one server watch for the guard's whole life, however often those are called), the session
//! state and the session's lease, and publishes what it saw; `is_lost()` reads that and the
//! clock without awaiting.

use super::cleanup::{delete_until_gone, DeleteOnDrop, Leftover};
use super::lock_node::{LockKind, LockNode};
use super::retry::retrying;
use crate::error::{Error, Result};
use crate::Client;
use crate::EventType;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Why a held lock was lost.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockLost {
    /// The session ended (usually [`Error::SessionExpired`]): the server has removed, or is
    /// about to remove, the lock node, and another process may already hold the lock.
    SessionEnded(Error),
    /// The lock node was deleted by someone else (an operator, or a buggy peer).
    NodeDeleted,
    /// The session's lease ran out with no newer contact with the servers
    /// ([`LockGuard::valid_until`] passed): the servers may have expired the session and given
    /// the lock to another process. The client may still reconnect with the session (then the
    /// lock was in fact held all along), but this process could not know in time, so the guard
    /// counts as lost for good.
    LeaseExpired,
}

/// What the monitor has seen so far.
#[derive(Debug, Clone, Default)]
struct Seen {
    /// Connection losses since the monitor started (at least one if it started disconnected).
    disconnects: u64,
    /// The loss, once known (final).
    lost: Option<LockLost>,
}

/// A held lock. Release it with [`LockGuard::unlock`] (which reports errors); a guard that is
/// just dropped is released in the background (by the client's driver: no runtime needed).
///
/// A lock can be lost while held: when the session expires (the client was cut off from the
/// ensemble for the whole session timeout, or this process was paused that long) the server
/// deletes the node and the next waiter gets the lock. Three tools deal with that:
///
/// - [`LockGuard::fencing_token`]: the lock node's czxid, larger for every later holder for the
///   life of the ensemble. Hand it to the resource you protect, which rejects writes with a token
///   below the highest it has seen. This is the real protection: nothing else can stop a write
///   that is already on its way when the lock is lost.
/// - [`LockGuard::valid_until`]: the lease. Until then no server can have expired the session,
///   so no other process can hold the lock. Check it (or [`LockGuard::is_lost`], which also
///   does) right before each externally visible step; it is judged on this process's clock, so
///   it is right even after a long pause of the process, before anything else has run.
/// - [`LockGuard::lost`] / [`LockGuard::at_risk`]: futures to `select!` against the work.
///
/// ```no_run
/// # async fn f(lock: zksync::recipes::RwLock) -> zksync::Result<()> {
/// # async fn store_write(_token: i64, _step: u32) {}
/// use std::time::{Duration, Instant};
/// let guard = lock.write().await?;
/// let token = guard.fencing_token();
/// for step in 0..10 {
///     // Before each visible step: is the lock still ours for long enough?
///     if guard.valid_until() < Instant::now() + Duration::from_millis(200) {
///         eprintln!("lease about to run out: stop here");
///         break;
///     }
///     tokio::select! {
///         lost = guard.lost() => { eprintln!("lock lost ({lost:?}): stop"); break; }
///         // The store rejects tokens lower than the highest it has seen, so a holder that
///         // lost the lock cannot overwrite a newer holder's data.
///         () = store_write(token, step) => {}
///     }
/// }
/// guard.unlock().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "dropping a guard releases the lock at once (in the background)"]
pub struct LockGuard {
    client: Client,
    node: String,
    kind: LockKind,
    seq: i64,
    token: i64,
    /// Releases the lock when the guard is dropped without [`LockGuard::unlock`].
    release_on_drop: DeleteOnDrop,
    monitor: OnceLock<watch::Receiver<Seen>>,
    /// Set by the first `is_lost()` that said true.
    lost: AtomicBool,
}

impl LockGuard {
    pub(crate) fn new(client: Client, node: String, me: LockNode, czxid: i64) -> LockGuard {
        LockGuard {
            release_on_drop: DeleteOnDrop::new(&client, Leftover::Created(node.clone())),
            client,
            node,
            kind: me.kind,
            seq: me.seq,
            token: czxid,
            monitor: OnceLock::new(),
            lost: AtomicBool::new(false),
        }
    }

    /// The fencing token: the czxid of this lock node (the zxid of the transaction that created
    /// it). Every later holder of the same lock has a larger token, for the life of the
    /// ensemble: also when the lock's parent node is deleted and created again (the sequence
    /// numbers in the node names start again at 0 then, czxids never do). Tokens of different
    /// locks are comparable too, but only the order among one lock's holders means anything.
    pub fn fencing_token(&self) -> i64 {
        self.token
    }

    /// The server's sequence number in the node's name: the position in this lock's queue (it
    /// restarts when the lock's parent node is created again: not a fencing token).
    pub fn sequence(&self) -> i64 {
        self.seq
    }

    /// Read or write.
    pub fn kind(&self) -> LockKind {
        self.kind
    }

    /// The full path of this holder's lock node.
    pub fn node_path(&self) -> &str {
        &self.node
    }

    /// The lease: the latest instant before which no server can have expired this session,
    /// so no other process can have been given this lock (see
    /// [`Client::session_valid_until`] for how it is derived and what it assumes). It moves
    /// forward with every contact the servers answer. Once it has passed without newer contact
    /// [`LockGuard::is_lost`] is true and [`LockGuard::lost`] resolves.
    pub fn valid_until(&self) -> Instant {
        self.client
            .session_valid_until()
            .unwrap_or_else(Instant::now)
    }

    /// True once this process cannot count on holding the lock: the lease has passed without
    /// newer contact (judged on the clock now, so also right after a pause of the process,
    /// before any await), the session ended, or the monitor of [`LockGuard::lost`] saw the node
    /// go. Once true it stays true: a lease that ran out is not trusted again even if the client
    /// then reconnects with its session (the node is probably still there: unlock and acquire
    /// again to go on).
    pub fn is_lost(&self) -> bool {
        if self.lost.load(Ordering::Acquire) {
            return true;
        }
        let lost = self
            .monitor
            .get()
            .is_some_and(|rx| rx.borrow().lost.is_some())
            || self.client.state().is_terminal()
            || Instant::now() >= self.valid_until();
        if lost {
            self.lost.store(true, Ordering::Release);
        }
        lost
    }

    /// Resolves when the lock is lost: the lease ran out without newer contact
    /// ([`LockLost::LeaseExpired`], the earliest sign), the session ended, or the node was
    /// deleted. Pending forever while the lock is held. Cheap to call again and again (in a
    /// `select!` loop, say): every call shares the guard's one monitor.
    pub async fn lost(&self) -> LockLost {
        let mut rx = self.monitor();
        loop {
            if let Some(lost) = rx.borrow_and_update().lost.clone() {
                return lost;
            }
            if rx.changed().await.is_err() {
                // The monitor ended without a verdict (its runtime is shutting down).
                return rx
                    .borrow()
                    .lost
                    .clone()
                    .unwrap_or(LockLost::SessionEnded(Error::Closed));
            }
        }
    }

    /// Resolves as soon as the lock can no longer be *relied on*: the connection dropped
    /// (`None`: the session may well survive and the lock with it, but until a server answers
    /// again this process cannot know), or the lock was lost (`Some(reason)`, as
    /// [`LockGuard::lost`]). Stricter than `lost()`, like Curator's SUSPENDED state: for work
    /// that must stop while in doubt because the protected resource cannot check a fencing
    /// token. After a `None`, wait for the client's state to be connected again and check
    /// [`LockGuard::is_lost`] before going on.
    pub async fn at_risk(&self) -> Option<LockLost> {
        let mut rx = self.monitor();
        let start = rx.borrow_and_update().disconnects;
        let state = self.client.state();
        if state.is_terminal() {
            return Some(self.lost().await);
        }
        if !state.is_connected() {
            return None;
        }
        loop {
            {
                let seen = rx.borrow_and_update();
                if let Some(lost) = seen.lost.clone() {
                    return Some(lost);
                }
                if seen.disconnects != start {
                    return None;
                }
            }
            if rx.changed().await.is_err() {
                return Some(self.lost().await);
            }
        }
    }

    /// The guard's monitor, started on first use (inside a runtime: called from async fns).
    fn monitor(&self) -> watch::Receiver<Seen> {
        self.monitor
            .get_or_init(|| {
                let (tx, rx) = watch::channel(Seen::default());
                // Subscribed here, before anything awaits: no transition after this call is
                // missed by an `at_risk` that checked the state just after it.
                let states = self.client.state_changes();
                tokio::spawn(monitor(self.client.clone(), self.node.clone(), states, tx));
                rx
            })
            .clone()
    }

    /// Releases the lock: deletes the node, retrying through connection loss. Fails only if
    /// the session ended first (then the lock was lost at some point, and the error says so).
    /// Cancel-safe: if this future is dropped before the node is gone (a `timeout` during a
    /// partition), the client's driver goes on deleting it, as for a dropped guard.
    pub async fn unlock(mut self) -> Result<()> {
        let released = delete_until_gone(&self.client, &self.node).await;
        // Gone, or the session ended (and took the node with it): nothing left to do on drop.
        self.release_on_drop.disarm();
        released
    }
}

/// Watches the node, the session state and the lease until the lock is lost (then publishes
/// the reason) or the guard is gone (every receiver dropped).
async fn monitor(
    client: Client,
    node: String,
    mut states: crate::StateChanges,
    tx: watch::Sender<Seen>,
) {
    let lost = async {
        let node_gone = node_lost(&client, &node);
        tokio::pin!(node_gone);
        loop {
            let lease = client.session_valid_until();
            let wake = lease.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                state = states.next() => match state {
                    Some(s) if s.is_terminal() => {
                        return LockLost::SessionEnded(client.session_ended().await)
                    }
                    Some(s) if !s.is_connected() => tx.send_modify(|seen| seen.disconnects += 1),
                    Some(_) => {}
                    None => return LockLost::SessionEnded(Error::Closed),
                },
                reason = &mut node_gone => return reason,
                () = tokio::time::sleep_until(wake.into()) => {
                    // The lease may have moved on meanwhile: judge by the latest one.
                    if client
                        .session_valid_until()
                        .is_none_or(|until| Instant::now() >= until)
                    {
                        return LockLost::LeaseExpired;
                    }
                }
            }
        }
    };
    tokio::select! {
        () = tx.closed() => return,
        reason = lost => tx.send_modify(|seen| seen.lost = Some(reason)),
    }
    // Keep the verdict readable until the guard is gone.
    tx.closed().await;
}

/// Resolves when the lock node is deleted or the session ends; one server watch at a time.
async fn node_lost(client: &Client, node: &str) -> LockLost {
    loop {
        match retrying(|| client.get_data_w(node)).await {
            Ok((_, _, watch)) => match watch.await {
                Ok(ev) if ev.event_type == EventType::NodeDeleted => return LockLost::NodeDeleted,
                Ok(_) => {} // data changed: watch again
                Err(e) => return LockLost::SessionEnded(e),
            },
            Err(e) if e.is_no_node() => return LockLost::NodeDeleted,
            Err(e) if e.is_terminal() => return LockLost::SessionEnded(e),
            // Cannot watch the node (an ACL without read for us): the session and the lease
            // are still watched by the caller.
            Err(_) => std::future::pending::<()>().await,
        }
    }
}
