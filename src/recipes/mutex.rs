//! A distributed mutex: the exclusive half of [`RwLock`], same node layout as its write lock.

use super::layout::Layout;
use super::lock_guard::LockGuard;
use super::rwlock::RwLock;
use crate::error::Result;
use crate::Acl;
use crate::Client;

/// A distributed mutual-exclusion lock. In the Go and kazoo layouts it interoperates with
/// [`RwLock::write`] on the same path
/// (and excludes its readers).
///
/// ```no_run
/// # async fn f() -> zksync::Result<()> {
/// let client = zksync::Client::connect("127.0.0.1:2181").await?;
/// let mutex = zksync::recipes::Mutex::new(client, "/jobs/nightly-report");
/// let guard = mutex.lock().await?;
/// // ... only one process at a time runs this ...
/// guard.unlock().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Mutex {
    inner: RwLock,
}

impl Mutex {
    /// A mutex at `path`.
    pub fn new(client: Client, path: &str) -> Mutex {
        Mutex {
            inner: RwLock::mutex(client, path),
        }
    }

    /// The ACL for the lock nodes and any parents created.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_acl(self, acl: Vec<Acl>) -> Mutex {
        Mutex {
            inner: self.inner.with_acl(acl),
        }
    }

    /// The node layout (default [`Layout::Go`]): [`Layout::Curator`] shares the lock with
    /// Curator's InterProcessMutex, [`Layout::Kazoo`] with kazoo's Lock and WriteLock (waiting,
    /// as WriteLock does, also for kazoo's readers).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_layout(self, layout: Layout) -> Mutex {
        Mutex {
            inner: self.inner.with_layout(layout),
        }
    }

    /// Data stored in each lock node.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_data(self, data: &[u8]) -> Mutex {
        Mutex {
            inner: self.inner.with_data(data),
        }
    }

    /// Waits for and takes the lock (cancel-safe).
    pub async fn lock(&self) -> Result<LockGuard> {
        self.inner.write().await
    }

    /// Takes the lock if it is free at once.
    pub async fn try_lock(&self) -> Result<Option<LockGuard>> {
        self.inner.try_write().await
    }
}
