//! A distributed read-write lock (ZooKeeper's "shared locks" recipe).

use super::lock_node::{self, LockKind, LockNode};
use super::support::{
    basename, create_protected, delete_until_gone, find_own, pause_if_local, spawn_cleanup,
    AttemptCleanup,
};
use crate::client::{Client, CreateMode};
use crate::error::{Error, Result};
use crate::paths::join;
use crate::proto::Acl;
use crate::session::EventType;
use crate::validate_path;
use bytes::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
    pub fn with_acl(mut self, acl: Vec<Acl>) -> RwLock {
        self.acl = acl;
        self
    }

    /// Data stored in each lock node (e.g. the holder's host name, for operators).
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
        let mut cleanup = AttemptCleanup::new(client, dir, &id);

        // Fast path: create and list in one round trip. The server answers in order, so the
        // listing already contains the new node.
        let create_path = join(dir, &prefix);
        let (created, listed) = tokio::join!(
            client.create_with_acl(
                &create_path,
                &self.data,
                CreateMode::EphemeralSequential,
                self.acl.clone()
            ),
            client.get_children(dir),
        );
        let (my_name, mut listing) = match created {
            Ok((path, _)) => (basename(&path).to_string(), listed.ok().map(|(c, _)| c)),
            Err(e) if e.is_no_node() || e.is_retryable() => {
                pause_if_local(&e).await;
                // After a connection loss the create may have been applied: adopt our node
                // (found by the id in its name) rather than leaving an orphan behind.
                let found = if e.is_no_node() {
                    None
                } else {
                    find_own(client, dir, &id).await?
                };
                let name = match found {
                    Some(name) => name,
                    None => {
                        create_protected(client, dir, &prefix, &id, &self.data, &self.acl).await?
                    }
                };
                (name, None)
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
                None => match client.get_children(dir).await {
                    Ok((c, _)) => c,
                    Err(e) if e.is_retryable() => {
                        pause_if_local(&e).await;
                        continue;
                    }
                    Err(e) => return Err(e),
                },
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
                Err(e) if e.is_retryable() => pause_if_local(&e).await,
                Err(e) => return Err(e),
            }
        }
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

/// Why a held lock was lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockLost {
    /// The session ended (usually [`Error::SessionExpired`]): the server has removed, or is
    /// about to remove, the lock node, and another process may already hold the lock.
    SessionEnded(Error),
    /// The lock node was deleted by someone else (an operator, or a buggy peer).
    NodeDeleted,
}

/// A held lock. Release it with [`LockGuard::unlock`] (which reports errors); a guard that is
/// just dropped is released in the background.
///
/// A lock can be lost while held: when the session expires (the client was cut off from the
/// ensemble for the whole session timeout) the server deletes the node and the next waiter
/// gets the lock. [`LockGuard::lost`] resolves when that happens, and
/// [`LockGuard::fencing_token`] lets the resource you protect reject a stale holder:
///
/// ```no_run
/// # async fn f(lock: zksync::recipes::RwLock) -> zksync::Result<()> {
/// let guard = lock.write().await?;
/// let token = guard.fencing_token();
/// tokio::select! {
///     lost = guard.lost() => eprintln!("lock lost ({lost:?}): stop writing"),
///     _ = async {
///         // Every write carries the token; the store rejects tokens lower than the
///         // highest it has seen, so a holder that lost the lock cannot overwrite a newer one.
///         // store.write_if_token_at_least(token, data).await
///         let _ = token;
///     } => {}
/// }
/// guard.unlock().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LockGuard {
    client: Client,
    node: String,
    kind: LockKind,
    seq: i64,
    released: bool,
    lost_seen: Arc<AtomicBool>,
}

impl LockGuard {
    pub(crate) fn new(client: Client, node: String, me: LockNode) -> LockGuard {
        LockGuard {
            client,
            node,
            kind: me.kind,
            seq: me.seq,
            released: false,
            lost_seen: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The fencing token: the server's sequence number of this lock node. Later holders of
    /// the same lock always have larger tokens.
    pub fn fencing_token(&self) -> i64 {
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

    /// True once the loss is known: the session ended, or [`LockGuard::lost`] saw the node go.
    pub fn is_lost(&self) -> bool {
        self.lost_seen.load(Ordering::Acquire) || self.client.state().is_terminal()
    }

    /// Resolves as soon as the lock can no longer be *relied on*: the connection dropped
    /// (`None`: the session may well survive and the lock with it, but until a server answers
    /// again this process cannot know), or the lock was lost (`Some(reason)`, as
    /// [`LockGuard::lost`]). Stricter than `lost()`, like Curator's SUSPENDED state: for work
    /// that must stop while in doubt because the protected resource cannot check a fencing
    /// token. After a `None`, wait for the client's state to be connected again and check
    /// [`LockGuard::is_lost`] before going on.
    pub async fn at_risk(&self) -> Option<LockLost> {
        // Every transition in order (a `watch` channel could skip a short disconnection).
        let mut changes = self.client.state_changes();
        let disconnected = async {
            while let Some(s) = changes.next().await {
                if !s.is_connected() {
                    return;
                }
            }
        };
        tokio::select! {
            lost = self.lost() => Some(lost),
            () = disconnected => match self.client.state() {
                s if s.is_terminal() => Some(self.lost().await),
                _ => None,
            },
        }
    }

    /// Resolves when the lock is lost: the session ended (expiry is judged by this client's
    /// own clock too, so this resolves within the session timeout of losing contact, even if
    /// no server can tell us), or the node was deleted. Pending forever while the lock is held.
    pub async fn lost(&self) -> LockLost {
        let reason = self.watch_loss().await;
        self.lost_seen.store(true, Ordering::Release);
        reason
    }

    async fn watch_loss(&self) -> LockLost {
        loop {
            let step = async {
                match self.client.get_data_w(&self.node).await {
                    Ok((_, _, watch)) => match watch.await {
                        Ok(ev) if ev.event_type == EventType::NodeDeleted => {
                            Some(LockLost::NodeDeleted)
                        }
                        Ok(_) => None,
                        Err(e) => Some(LockLost::SessionEnded(e)),
                    },
                    Err(e) if e.is_no_node() => Some(LockLost::NodeDeleted),
                    Err(e) if e.is_terminal() => Some(LockLost::SessionEnded(e)),
                    Err(e) => {
                        pause_if_local(&e).await;
                        None
                    }
                }
            };
            tokio::select! {
                e = self.client.session_ended() => return LockLost::SessionEnded(e),
                r = step => if let Some(r) = r { return r },
            }
        }
    }

    /// Releases the lock: deletes the node, retrying through connection loss. Fails only if
    /// the session ended first (then the lock was lost at some point, and the error says so).
    pub async fn unlock(mut self) -> Result<()> {
        self.released = true;
        delete_until_gone(&self.client, &self.node).await
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if !self.released {
            let client = self.client.clone();
            let node = std::mem::take(&mut self.node);
            spawn_cleanup(async move {
                let _ = delete_until_gone(&client, &node).await;
            });
        }
    }
}
