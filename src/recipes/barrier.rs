//! A barrier: one node whose existence holds every waiter back.

use super::lock_node::new_id;
use super::retry::{pause_if_local, retry_or_fail, retrying, unless_no_node};
use super::support::{after_sync_if, create_path};
use crate::error::{Error, Result};
use crate::paths::parent;
use crate::Acl;
use crate::ErrorCode;
use crate::{Client, CreateMode};
use bytes::Bytes;

/// A barrier: while its node exists, [`Barrier::wait`] blocks; deleting it
/// ([`Barrier::unset`]) releases every waiter on every client at once (each waits with one
/// watch on the node, nothing else). The node is persistent; its data is the protected id of
/// the `set` that made it (processes that only test for the node, as the Go library does,
/// share the barrier).
///
/// ```no_run
/// # async fn f() -> zksync::Result<()> {
/// use zksync::{Client, recipes::Barrier};
/// let client = Client::connect("127.0.0.1:2181").await?;
/// let gate = Barrier::new(client.clone(), "/deploy/gate");
/// gate.set().await?;                       // close the gate
/// let waiter = tokio::spawn({
///     let gate = gate.clone();
///     async move { gate.wait().await }     // blocks until unset
/// });
/// gate.unset().await?;                     // open it: every waiter returns
/// waiter.await.unwrap()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Barrier {
    client: Client,
    path: String,
    acl: Vec<Acl>,
}

impl Barrier {
    /// A barrier at `path`.
    pub fn new(client: Client, path: &str) -> Barrier {
        Barrier {
            client,
            path: path.to_string(),
            acl: Acl::open_unsafe(),
        }
    }

    /// The ACL of the barrier node and any parents created.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_acl(mut self, acl: Vec<Acl>) -> Barrier {
        self.acl = acl;
        self
    }

    /// Sets the barrier (creates its node, and missing parents). Fails with a `NodeExists`
    /// server error if it is already set.
    ///
    /// Safe under connection loss: the node's data is a protected id of this call, so when the
    /// reply to the create is lost, `set` looks (after a `sync`) and tells its own node, which
    /// means success, from another process's, which means "already set".
    pub async fn set(&self) -> Result<()> {
        let id = new_id();
        loop {
            match self
                .client
                .create_with_acl(
                    &self.path,
                    id.as_bytes(),
                    CreateMode::Persistent,
                    self.acl.clone(),
                )
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.is_no_node() => {
                    if let Some(p) = parent(&self.path) {
                        create_path(&self.client, p, &self.acl).await?;
                    }
                }
                Err(e) if e.is_node_exists() || e.is_retryable() => {
                    pause_if_local(&e).await;
                    match self.current(e.is_retryable()).await? {
                        Some((data, _)) if data[..] == *id.as_bytes() => return Ok(()),
                        Some(_) => return Err(Error::Server(ErrorCode::NodeExists)),
                        None => {} // not applied (or already unset again): create again
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Removes the barrier, releasing all waiters. Fails with a `NoNode` server error if it
    /// is not set.
    ///
    /// Safe under connection loss: if the reply to the delete is lost, `unset` looks (after a
    /// `sync`) whether the node it deleted (known by its czxid) is gone, and never deletes a
    /// barrier that another process set after it.
    pub async fn unset(&self) -> Result<()> {
        // One round trip: catch up with the leader, note which node is there (its czxid), and
        // delete it. Replies come in order, so the czxid is that of the node the delete met.
        let (synced, seen, deleted) = tokio::join!(
            self.client.sync(&self.path),
            self.client.get_data(&self.path),
            self.client.delete(&self.path, None),
        );
        let czxid = match deleted {
            Ok(()) => return Ok(()),
            Err(e) if e.is_no_node() && synced.is_ok() => return Err(e),
            Err(e) if e.is_retryable() || e.is_no_node() => {
                pause_if_local(&e).await;
                match seen {
                    Ok((_, stat)) => stat.czxid,
                    Err(e) if e.is_no_node() => return Err(e),
                    // The connection broke before even the read was answered: look now. A node
                    // that is there is taken for the one this call meant (only a set by another
                    // process landing right after a delete of ours that was applied could make
                    // that wrong).
                    Err(e) if e.is_retryable() => match self.current(true).await? {
                        Some((_, czxid)) => czxid,
                        None => return Ok(()),
                    },
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        loop {
            // Did our delete go through? The node it was for is known by its czxid.
            match self.current(true).await? {
                Some((_, now)) if now == czxid => {} // not applied: delete again
                _ => return Ok(()),                  // gone, or a newer barrier set since ours went
            }
            match self.client.delete(&self.path, None).await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_no_node() => return Ok(()),
                Err(e) => retry_or_fail(e).await?, // look again before deleting again
            }
        }
    }

    /// The barrier node's data and czxid, if it is set; after a `sync` when `sync`: the server
    /// may not have applied yet what another process (or this session, through a connection that
    /// was lost) wrote.
    async fn current(&self, sync: bool) -> Result<Option<(Bytes, i64)>> {
        let found = retrying(|| {
            let read = self.client.get_data(&self.path);
            unless_no_node(after_sync_if(sync, &self.client, &self.path, read))
        })
        .await?;
        Ok(found.map(|(data, stat)| (data, stat.czxid)))
    }

    /// True if the barrier is set (after a `sync`, so a set or unset that another process
    /// finished before this call is seen).
    pub async fn is_set(&self) -> Result<bool> {
        Ok(self.current(true).await?.is_some())
    }

    /// Waits until the barrier is not set. Returns at once if it is not. Cancel-safe. A
    /// session expiry while waiting is an error ([`Error::SessionExpired`](crate::Error)), not
    /// a release. Syncs first, so a barrier that another process set before this call holds
    /// this waiter back even if this session's server has not applied the set yet.
    pub async fn wait(&self) -> Result<()> {
        let mut synced = false;
        loop {
            // getData rather than exists: on a missing node it sets no watch, so a waiter
            // that returns at once leaves nothing dangling on the server. Synced on the first
            // look only: later ones (on any server: the handshake checks the last zxid seen)
            // see at least what it saw.
            let look = retrying(|| {
                let read = self.client.get_data_w(&self.path);
                unless_no_node(after_sync_if(!synced, &self.client, &self.path, read))
            })
            .await?;
            synced = true;
            let Some((_, _, watch)) = look else {
                return Ok(());
            };
            // A deletion event is the condition itself (the node was absent at that zxid):
            // return without another round trip. Anything else: look again.
            if watch.await?.event_type == crate::EventType::NodeDeleted {
                return Ok(());
            }
        }
    }
}
