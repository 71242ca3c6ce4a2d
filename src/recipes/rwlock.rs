//! A distributed read-write lock (ZooKeeper's "shared locks" recipe).

use super::layout::{Layout, Role};
use super::lock_guard::LockGuard;
use super::lock_node::{LockKind, LockNode, NodeRef, QueueKind};
use super::queue::{earlier, Attempt};
use crate::error::Result;
use crate::paths::join;
use crate::validate_path;
use crate::Acl;
use crate::Client;
use bytes::Bytes;

/// A read-write lock on a ZooKeeper path, shared by every process that uses the same path
/// (including processes using the Go library this project follows: same node layout).
///
/// Waiters queue in the order the server numbered their nodes. A reader waits only for the
/// nearest earlier *writer* node; a writer only for the nearest earlier node of any kind:
/// one watch per waiter, so a release wakes exactly the next in line, not the whole queue.
///
/// Acquire futures are cancel-safe: dropping one (a timeout, a `select!`) deletes the node it
/// created, so `tokio::time::timeout(d, lock.write())` is a correct timed acquire.
///
/// ```no_run
/// # async fn f() -> zksync::Result<()> {
/// use std::time::Duration;
/// use zksync::{Client, recipes::RwLock};
/// let client = Client::connect("127.0.0.1:2181").await?;
/// let lock = RwLock::new(client.clone(), "/app/config-lock");
/// {
///     let guard = lock.read().await?;          // shared with other readers
///     // ... read the configuration ...
///     guard.unlock().await?;
/// }
/// match tokio::time::timeout(Duration::from_secs(5), lock.write()).await {
///     Ok(guard) => {
///         let guard = guard?;                 // exclusive
///         // ... rewrite it; fence writes with guard.fencing_token() ...
///         guard.unlock().await?;
///     }
///     Err(_) => eprintln!("busy: gave up after 5 s (no node left behind)"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RwLock {
    client: Client,
    path: String,
    acl: Vec<Acl>,
    data: Bytes,
    layout: Layout,
    /// What a write lock's node stands for: `Mutex` for a [`super::Mutex`] (Curator names a
    /// mutex's nodes apart from a read-write lock's writers).
    write_role: Role,
}

impl RwLock {
    /// A lock at `path` (created with missing parents on first use). The path is checked on
    /// the first acquire.
    pub fn new(client: Client, path: &str) -> RwLock {
        RwLock {
            client,
            path: path.to_string(),
            acl: Acl::open_unsafe(),
            data: Bytes::new(),
            layout: Layout::Go,
            write_role: Role::Write,
        }
    }

    /// A lock whose write side names its nodes as a mutex does (for [`super::Mutex`]).
    pub(crate) fn mutex(client: Client, path: &str) -> RwLock {
        RwLock {
            write_role: Role::Mutex,
            ..RwLock::new(client, path)
        }
    }

    /// The node layout (default [`Layout::Go`]): use [`Layout::Curator`] to share the lock with
    /// Curator's InterProcessReadWriteLock, [`Layout::Kazoo`] with kazoo's ReadLock/WriteLock
    /// (kazoo 2.9.0 or later: see the README).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_layout(mut self, layout: Layout) -> RwLock {
        self.layout = layout;
        self
    }

    /// The ACL for the lock nodes and any parents created (default: open).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_acl(mut self, acl: Vec<Acl>) -> RwLock {
        self.acl = acl;
        self
    }

    /// Data stored in each lock node (e.g. the holder's host name, for operators).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_data(mut self, data: &[u8]) -> RwLock {
        self.data = Bytes::copy_from_slice(data);
        self
    }

    /// The lock's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Acquires a shared lock: waits while an earlier writer holds or waits for the lock.
    pub async fn read(&self) -> Result<LockGuard> {
        self.acquire(LockKind::Read, false)
            .await
            .map(|g| g.expect("blocking acquire"))
    }

    /// Acquires the exclusive lock: waits for every earlier holder or waiter.
    pub async fn write(&self) -> Result<LockGuard> {
        self.acquire(LockKind::Write, false)
            .await
            .map(|g| g.expect("blocking acquire"))
    }

    /// Takes a shared lock if that is possible at once; `Ok(None)` otherwise (no node left).
    pub async fn try_read(&self) -> Result<Option<LockGuard>> {
        self.acquire(LockKind::Read, true).await
    }

    /// Takes the exclusive lock if it is free at once; `Ok(None)` otherwise (no node left).
    pub async fn try_write(&self) -> Result<Option<LockGuard>> {
        self.acquire(LockKind::Write, true).await
    }

    async fn acquire(&self, kind: LockKind, try_only: bool) -> Result<Option<LockGuard>> {
        validate_path(&self.path)?;
        let role = match kind {
            LockKind::Read => Role::Read,
            LockKind::Write => self.write_role,
        };
        let attempt = Attempt {
            client: &self.client,
            dir: &self.path,
            layout: self.layout,
            role,
            data: &self.data,
            acl: &self.acl,
            try_only,
        };
        let Some(admitted) = attempt.run(lock_blockers).await? else {
            return Ok(None);
        };
        let me = LockNode {
            name: admitted.node.name,
            kind,
            seq: admitted.node.seq,
        };
        let node = join(&self.path, &me.name);
        Ok(Some(LockGuard::new(
            self.client.clone(),
            node,
            me,
            admitted.czxid,
        )))
    }
}

/// What a lock node waits for in the queue: the nearest earlier lock node that conflicts (for
/// a writer any lock node, for a reader a writer; other kinds of queue node in the same
/// directory are not the lock's business).
fn lock_blockers(nodes: &[NodeRef<'_>], me: &NodeRef<'_>) -> Vec<String> {
    let conflicting: &[QueueKind] = match me.kind {
        QueueKind::Read => &[QueueKind::Write],
        _ => &[QueueKind::Read, QueueKind::Write],
    };
    earlier(nodes, me, conflicting)
        .last()
        .map(|b| vec![b.name.to_string()])
        .unwrap_or_default()
}
