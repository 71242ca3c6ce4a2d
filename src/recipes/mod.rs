//! Coordination recipes built on the public [`Client`](crate::Client) API only.
//!
//! | recipe | on disconnect | on session expiry | on cancel (dropped future) |
//! |---|---|---|---|
//! | [`RwLock`] / [`Mutex`] | waits go on; the lock stays held while the lease lasts | guard's `lost()` resolves (by the lease's end at the latest); pending acquires fail | its node is deleted |
//! | [`Barrier`] | waits go on (watch re-armed) | `wait()` fails with `SessionExpired` | nothing to clean |
//! | [`DoubleBarrier`] | waits go on | `enter`/`leave` fail; the participant node is gone | `enter`: its node is deleted |
//! | [`Semaphore`] | waits go on; permits stay held while the lease lasts | permit's `lost()` resolves (by the lease's end at the latest); pending acquires fail | its node is deleted |
//! | [`Election`] | campaigns go on; leadership stays while the lease lasts | leadership's `lost()` resolves (by the lease's end at the latest); pending campaigns fail | its node is deleted |

mod barrier;
mod cleanup;
mod double_barrier;
mod election;
mod held;
pub mod inspect;
mod layout;
mod lease_semaphores;
mod lock_guard;
mod lock_node;
mod mutex;
mod queue;
mod retry;
mod rwlock;
mod semaphore;
mod support;

pub use barrier::Barrier;
pub use double_barrier::DoubleBarrier;
pub use election::{Election, LeaderChanges, LeaderInfo, Leadership};
pub use held::LockLost;
pub use layout::Layout;

pub use lock_guard::LockGuard;
pub use lock_node::LockKind;
pub use mutex::Mutex;
pub use rwlock::RwLock;
pub use semaphore::{Permit, Semaphore};

/// Lock node naming, exposed for tools and tests that inspect a lock's queue.
pub mod naming {
    pub use super::lock_node::{
        has_id, new_id, node_prefix, parse, parse_queue_node, queue_prefix, LockNode, QueueKind,
        QueueNode,
    };
}
