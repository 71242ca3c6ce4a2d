//! A node this session holds in a recipe's queue (a lock, a permit, a leadership): its fencing
//! token, its lease, how its loss is noticed, and its release (by hand or on drop).
//!
//! One monitor per held node, started by the first `lost()` or `at_risk()`, watches the node
//! (one server watch for the holder's whole life, however often those are called; the client
//! fails it when the session ends) and the lease, and publishes what it saw into a [`Verdict`]
//! (`at_risk()` follows the session's transitions itself, only while it waits); `is_lost()`
//! reads that and the clock without awaiting. `LockGuard`, `Permit` and `Leadership` are thin
//! wrappers that give it the words of their recipe.
//!
//! A scheduler may hold thousands of locks with `lost()` armed on each, so the monitor is kept
//! small: one task of about half a kilobyte and a verdict cell, no channel and no subscription
//! to the session's transitions (`bench --scenario many-locks`).

use super::cleanup::{delete_until_gone, DeleteOnDrop, Leftover};
use super::retry::retrying;
use crate::error::{Error, Result};
use crate::Client;
use crate::EventType;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Why a held lock (or a permit, or a leadership) was lost.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockLost {
    /// The session ended (usually [`Error::SessionExpired`]): the server has removed, or is
    /// about to remove, the node, and another process may already hold the lock.
    SessionEnded(Error),
    /// The node was deleted by someone else (an operator, or a buggy peer).
    NodeDeleted,
    /// The session's lease ran out with no newer contact with the servers (`valid_until`
    /// passed): the servers may have expired the session and given the lock to another
    /// process. The client may still reconnect with the session (then the lock was in fact held
    /// all along), but this process could not know in time, so it counts as lost for good.
    LeaseExpired,
}

/// What the monitor found: empty while the node is held, then the loss (final).
#[derive(Debug, Default)]
struct Verdict {
    lost: OnceLock<LockLost>,
    /// Wakes every waiting `lost()`/`at_risk()` once the loss is set.
    found: Notify,
}

impl Verdict {
    /// Sets the loss (the first one counts) and wakes the waiters.
    fn publish(&self, reason: LockLost) {
        let _ = self.lost.set(reason);
        self.found.notify_waiters();
    }

    /// The loss, waiting for it. Registered before the check, so a publish in between is seen.
    async fn wait(&self) -> LockLost {
        loop {
            let found = self.found.notified();
            tokio::pin!(found);
            found.as_mut().enable();
            if let Some(lost) = self.lost.get() {
                return lost.clone();
            }
            found.await;
        }
    }
}

/// The monitor task's hold on the verdict: if the task is dropped without a verdict (its
/// runtime shut down), waiters learn that the session is gone for this process.
struct Publisher(Arc<Verdict>);

impl Drop for Publisher {
    fn drop(&mut self) {
        self.0.publish(LockLost::SessionEnded(Error::Closed));
    }
}

/// The shared core of every holder type: see the module docs.
#[derive(Debug)]
pub(crate) struct HeldNode {
    client: Client,
    node: String,
    token: i64,
    /// Deletes the node when the holder is dropped without releasing it.
    release_on_drop: DeleteOnDrop,
    monitor: OnceLock<Arc<Verdict>>,
    /// Set by the first `is_lost()` that said true.
    lost: AtomicBool,
}

impl HeldNode {
    /// Takes over `node` (an ephemeral of this session, created with czxid `token`).
    pub(crate) fn new(client: Client, node: String, token: i64) -> HeldNode {
        HeldNode {
            release_on_drop: DeleteOnDrop::new(&client, Leftover::Created(node.clone())),
            client,
            node,
            token,
            monitor: OnceLock::new(),
            lost: AtomicBool::new(false),
        }
    }

    pub(crate) fn token(&self) -> i64 {
        self.token
    }

    pub(crate) fn node(&self) -> &str {
        &self.node
    }

    pub(crate) fn valid_until(&self) -> Instant {
        self.client
            .session_valid_until()
            .unwrap_or_else(Instant::now)
    }

    pub(crate) fn is_lost(&self) -> bool {
        if self.lost.load(Ordering::Acquire) {
            return true;
        }
        let lost = self
            .monitor
            .get()
            .is_some_and(|verdict| verdict.lost.get().is_some())
            || self.client.state().is_terminal()
            || Instant::now() >= self.valid_until();
        if lost {
            self.lost.store(true, Ordering::Release);
        }
        lost
    }

    pub(crate) async fn lost(&self) -> LockLost {
        self.monitor().wait().await
    }

    pub(crate) async fn at_risk(&self) -> Option<LockLost> {
        let verdict = self.monitor();
        // Subscribed before the state is checked: no transition after this call is missed.
        // (Only a waiting `at_risk` holds a subscription; the monitor itself needs none.)
        let mut states = self.client.state_changes();
        let state = self.client.state();
        if state.is_terminal() {
            return Some(self.lost().await);
        }
        if !state.is_connected() {
            return None;
        }
        let lost = verdict.wait();
        tokio::pin!(lost);
        loop {
            tokio::select! {
                state = states.next() => match state {
                    Some(s) if s.is_terminal() => return Some(self.lost().await),
                    Some(s) if !s.is_connected() => return None,
                    Some(_) => {}
                    None => return Some(self.lost().await),
                },
                lost = &mut lost => return Some(lost),
            }
        }
    }

    /// The monitor's verdict, the monitor started on first use (inside a runtime: called from
    /// async fns).
    fn monitor(&self) -> &Verdict {
        self.monitor.get_or_init(|| {
            let verdict = Arc::new(Verdict::default());
            let publisher = Publisher(verdict.clone());
            tokio::spawn(monitor(self.client.clone(), self.node.clone(), publisher));
            verdict
        })
    }

    /// Deletes the node, retrying through connection loss; cancel-safe (a dropped call leaves
    /// the delete to the driver, as a dropped holder does).
    pub(crate) async fn release(mut self) -> Result<()> {
        let released = delete_until_gone(&self.client, &self.node).await;
        // Gone, or the session ended (and took the node with it): nothing left to do on drop.
        self.release_on_drop.disarm();
        released
    }
}

/// The methods every holder type shares (`LockGuard`, `Permit`, `Leadership`), written once:
/// `$what` names the held thing in the docs ("the lock", "the permit", "the leadership").
/// The type must have a `held: HeldNode` field.
macro_rules! held_api {
    ($what:literal) => {
        #[doc = concat!("The full path of the node that holds ", $what, ".")]
        pub fn node_path(&self) -> &str {
            self.held.node()
        }

        #[doc = concat!(
            "The lease: the latest instant before which no server can have expired this \
             session, so no other process can have been given ", $what, " (see \
             [`Client::session_valid_until`](crate::Client::session_valid_until) for how it \
             is derived and what it assumes). It moves forward with every contact the \
             servers answer. Once it has passed without newer contact \
             [`is_lost`](Self::is_lost) is true and [`lost`](Self::lost) resolves."
        )]
        pub fn valid_until(&self) -> std::time::Instant {
            self.held.valid_until()
        }

        #[doc = concat!(
            "True once this process cannot count on holding ", $what, ": the lease has \
             passed without newer contact (judged on the clock now, so also right after a \
             pause of the process, before any await), the session ended, or the monitor of \
             [`lost`](Self::lost) saw the node go. Once true it stays true: a lease that ran \
             out is not trusted again even if the client then reconnects with its session \
             (the node is probably still there: release it and start again to go on)."
        )]
        pub fn is_lost(&self) -> bool {
            self.held.is_lost()
        }

        #[doc = concat!(
            "Resolves when ", $what, " is lost: the lease ran out without newer contact \
             ([`LockLost::LeaseExpired`](crate::recipes::LockLost::LeaseExpired), the \
             earliest sign), the session ended, or the node was deleted. Pending forever \
             while it is held. Cheap to call again and again (in a `select!` loop, say): \
             every call shares one monitor."
        )]
        pub async fn lost(&self) -> crate::recipes::LockLost {
            self.held.lost().await
        }

        #[doc = concat!(
            "Resolves as soon as ", $what, " can no longer be *relied on*: the connection \
             dropped (`None`: the session may well survive and with it ", $what, ", but until \
             a server answers again this process cannot know), or it was lost \
             (`Some(reason)`, as [`lost`](Self::lost)). Stricter than `lost()`, like \
             Curator's SUSPENDED state: for work that must stop while in doubt because the \
             protected resource cannot check a fencing token. After a `None`, wait for the \
             client's state to be connected again and check [`is_lost`](Self::is_lost) \
             before going on."
        )]
        pub async fn at_risk(&self) -> Option<crate::recipes::LockLost> {
            self.held.at_risk().await
        }
    };
}
pub(crate) use held_api;

/// Watches the node and the lease until the lock is lost, then publishes the reason. It ends
/// then, also once the holder is gone: releasing (or dropping) the holder deletes the node,
/// whose watch fires; a session that ends fails the watch. It holds no subscription to the
/// session's transitions (a connection loss changes nothing for it: the lease decides).
async fn monitor(client: Client, node: String, verdict: Publisher) {
    let node_gone = node_lost(&client, &node);
    tokio::pin!(node_gone);
    let reason = loop {
        let lease = client.session_valid_until();
        let wake = lease.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            reason = &mut node_gone => {
                // Our own close deletes the node before the session's state says closed:
                // that is the session ending, not someone else's delete.
                if reason == LockLost::NodeDeleted && client.is_closing() {
                    // (Boxed here and below: rare waits kept out of the task's size.)
                    break LockLost::SessionEnded(Box::pin(client.session_ended()).await);
                }
                break reason;
            }
            () = tokio::time::sleep_until(wake.into()) => {
                // The lease may have moved on meanwhile: judge by the latest one.
                if client
                    .session_valid_until()
                    .is_none_or(|until| Instant::now() >= until)
                {
                    break LockLost::LeaseExpired;
                }
            }
        }
    };
    verdict.0.publish(reason);
}

/// Resolves when the lock node is deleted or the session ends (the client fails every watch
/// then, with the session's error); one server watch at a time.
///
/// The call that sets the watch is boxed: it is large (a request in flight) and lives only until
/// the server answers, while the monitor waits for the rest of the guard's life; unboxed, its
/// size would be in every monitor task's state all along (measured with `size_of_val`: the
/// monitor's future went from 1,216 to 864 bytes when it was boxed; 472 bytes in its present
/// shape, with the session's end left to the watch).
async fn node_lost(client: &Client, node: &str) -> LockLost {
    loop {
        // Only the watch is kept across the wait (a `match` on the call would keep its whole
        // reply, data and Stat, alive until the watch fires).
        let watch = match Box::pin(retrying(|| client.get_data_w(node))).await {
            Ok((_, _, watch)) => watch,
            Err(e) if e.is_no_node() => return LockLost::NodeDeleted,
            Err(e) if e.is_terminal() => return LockLost::SessionEnded(e),
            // Cannot watch the node (an ACL without read for us): the lease is still watched by
            // the caller, and the session's end here.
            Err(_) => return LockLost::SessionEnded(Box::pin(client.session_ended()).await),
        };
        match watch.await {
            Ok(ev) if ev.event_type == EventType::NodeDeleted => return LockLost::NodeDeleted,
            Ok(_) => {} // data changed: watch again
            Err(e) => return LockLost::SessionEnded(e),
        }
    }
}
