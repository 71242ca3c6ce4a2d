//! Coordination recipes built on the public [`Client`](crate::Client) API only.
//!
//! | recipe | on disconnect | on session expiry | on cancel (dropped future) |
//! |---|---|---|---|
//! | [`RwLock`] / [`Mutex`] | waits go on; the lock stays held | guard's `lost()` resolves; pending acquires fail | its node is deleted |
//! | [`Barrier`] | waits go on (watch re-armed) | `wait()` fails with `SessionExpired` | nothing to clean |
//! | [`DoubleBarrier`] | waits go on | `enter`/`leave` fail; the participant node is gone | `enter`: its node is deleted |

mod barrier;
mod double_barrier;
mod lock_node;
mod mutex;
mod rwlock;
mod support;

pub use barrier::Barrier;
pub use double_barrier::DoubleBarrier;
pub use lock_node::LockKind;
pub use mutex::Mutex;
pub use rwlock::{LockGuard, LockLost, RwLock};

/// Lock node naming, exposed for tools and tests that inspect a lock's queue.
pub mod naming {
    pub use super::lock_node::{has_id, new_id, node_prefix, parse, LockNode};
}
