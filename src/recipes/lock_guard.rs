//! A held lock: its fencing token, its lease, and how its loss is noticed (the machinery is
//! `held::HeldNode`, shared with permits and leaderships).

use super::held::{held_api, HeldNode};
use super::lock_node::{LockKind, LockNode};
use crate::error::Result;
use crate::Client;

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
    held: HeldNode,
    kind: LockKind,
    seq: i64,
}

impl LockGuard {
    held_api!("the lock");

    pub(crate) fn new(client: Client, node: String, me: LockNode, czxid: i64) -> LockGuard {
        LockGuard {
            held: HeldNode::new(client, node, czxid),
            kind: me.kind,
            seq: me.seq,
        }
    }

    /// The fencing token: the czxid of this lock node (the zxid of the transaction that created
    /// it). Every later holder of the same lock has a larger token, for the life of the
    /// ensemble: also when the lock's parent node is deleted and created again (the sequence
    /// numbers in the node names start again at 0 then, czxids never do). Tokens of different
    /// locks are comparable too, but only the order among one lock's holders means anything.
    pub fn fencing_token(&self) -> i64 {
        self.held.token()
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

    /// Releases the lock: deletes the node, retrying through connection loss. Fails only if
    /// the session ended first (then the lock was lost at some point, and the error says so).
    /// Cancel-safe: if this future is dropped before the node is gone (a `timeout` during a
    /// partition), the client's driver goes on deleting it, as for a dropped guard.
    pub async fn unlock(self) -> Result<()> {
        self.held.release().await
    }
}
