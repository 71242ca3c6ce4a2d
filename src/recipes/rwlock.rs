//! A distributed read-write lock (ZooKeeper's "shared locks" recipe).

use super::cleanup::{delete_until_gone, DeleteOnDrop, Leftover};
use super::lock_guard::LockGuard;
use super::lock_node::{self, LockKind, LockNode};
use super::retry::{pause_if_local, retry_or_fail, retrying};
use super::support::{basename, create_protected};
use crate::error::{Error, Result};
use crate::paths::join;
use crate::validate_path;
use crate::Acl;
use crate::{Client, CreateMode};
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
        }
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
        let client = &self.client;
        let dir = self.path.as_str();
        let id = lock_node::new_id();
        let prefix = lock_node::node_prefix(&id, kind);
        // Armed before the create: a cancel may land while it is in flight.
        let mut cleanup = DeleteOnDrop::new(
            client,
            Leftover::Protected {
                dir: dir.to_string(),
                id: id.clone(),
            },
        );
        let (my_name, czxid, mut listing) = match self.fast_path(&prefix).await {
            Ok(queued) => queued,
            Err(e) if e.is_no_node() || e.is_retryable() => {
                pause_if_local(&e).await;
                // After a connection loss the create may have been applied: adopt our node
                // (found by the id in its name) rather than leaving an orphan behind.
                let look_first = e.is_retryable();
                let (name, czxid) =
                    create_protected(client, dir, &prefix, &id, &self.data, &self.acl, look_first)
                        .await?;
                (name, czxid, None)
            }
            Err(e) => {
                cleanup.disarm(); // refused by the server: nothing was created
                return Err(e);
            }
        };
        let me = lock_node::parse(&my_name)
            .ok_or_else(|| Error::Protocol(format!("server named the lock node {my_name:?}")))?;

        loop {
            let children = match listing.take() {
                Some(c) => c,
                None => retrying(|| client.get_children(dir)).await?.0,
            };
            let nodes: Vec<LockNode> = children
                .iter()
                .filter_map(|c| lock_node::parse(c))
                .collect();
            if !nodes.iter().any(|n| n.name == me.name) {
                // Our ephemeral node is gone: the session expired or someone deleted it.
                return Err(Error::Server(crate::ErrorCode::NoNode));
            }
            let Some(blocker) = blocker(&nodes, &me) else {
                cleanup.disarm();
                return Ok(Some(LockGuard::new(
                    client.clone(),
                    join(dir, &me.name),
                    me,
                    czxid,
                )));
            };
            if try_only {
                let result = delete_until_gone(client, &join(dir, &me.name)).await;
                cleanup.disarm();
                return result.map(|()| None);
            }
            // Watch only the node we wait for. getData sets no watch on a missing node, so a
            // predecessor that is already gone leaves no dangling watch: just look again.
            match client.get_data_w(&join(dir, &blocker.name)).await {
                Ok((_, _, watch)) => {
                    watch.await?;
                }
                Err(e) if e.is_no_node() => {}
                // List again rather than retry the watch: the queue may have moved meanwhile.
                Err(e) => retry_or_fail(e).await?,
            }
        }
    }

    /// The fast path of an acquire: creates this attempt's node and lists the queue in one
    /// round trip (the server answers in order, so the listing already holds the new node).
    /// Returns the node's name and czxid, and the listing unless that failed. A failed create
    /// comes back as it is: only the caller knows what to do about it (after a connection loss
    /// the node may exist: look for it by its id; a refusal created nothing).
    async fn fast_path(&self, prefix: &str) -> Result<(String, i64, Option<Vec<String>>)> {
        let create_path = join(&self.path, prefix);
        let (created, listed) = tokio::join!(
            self.client.create_with_acl(
                &create_path,
                &self.data,
                CreateMode::EphemeralSequential,
                self.acl.clone()
            ),
            self.client.get_children(&self.path),
        );
        let (path, stat) = created?;
        let listing = listed.ok().map(|(children, _)| children);
        Ok((basename(&path).to_string(), stat.czxid, listing))
    }
}

/// The node `me` must wait for, if any: for a writer the nearest earlier node, for a reader
/// the nearest earlier writer.
pub(crate) fn blocker<'a>(nodes: &'a [LockNode], me: &LockNode) -> Option<&'a LockNode> {
    nodes
        .iter()
        .filter(|n| n.seq < me.seq && (me.kind == LockKind::Write || n.kind == LockKind::Write))
        .max_by_key(|n| n.seq)
}
