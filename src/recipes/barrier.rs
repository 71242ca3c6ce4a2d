//! A barrier: one node whose existence holds every waiter back.

use super::support::{create_path, pause_if_local};
use crate::client::{Client, CreateMode};
use crate::error::Result;
use crate::paths::parent;
use crate::proto::Acl;

/// A barrier: while its node exists, [`Barrier::wait`] blocks; deleting it
/// ([`Barrier::unset`]) releases every waiter on every client at once (each waits with one
/// watch on the node, nothing else).
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
    pub fn with_acl(mut self, acl: Vec<Acl>) -> Barrier {
        self.acl = acl;
        self
    }

    /// Sets the barrier (creates its node, and missing parents). Fails with a `NodeExists`
    /// server error if it is already set.
    pub async fn set(&self) -> Result<()> {
        loop {
            match self
                .client
                .create_with_acl(&self.path, b"", CreateMode::Persistent, self.acl.clone())
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.is_no_node() => {
                    if let Some(p) = parent(&self.path) {
                        create_path(&self.client, p, &self.acl).await?;
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Removes the barrier, releasing all waiters. Fails with a `NoNode` server error if it
    /// is not set.
    pub async fn unset(&self) -> Result<()> {
        self.client.delete(&self.path, None).await
    }

    /// True if the barrier is set.
    pub async fn is_set(&self) -> Result<bool> {
        Ok(self.client.exists(&self.path).await?.is_some())
    }

    /// Waits until the barrier is not set. Returns at once if it is not. Cancel-safe. A
    /// session expiry while waiting is an error ([`Error::SessionExpired`](crate::Error)), not
    /// a release.
    pub async fn wait(&self) -> Result<()> {
        loop {
            // getData rather than exists: on a missing node it sets no watch, so a waiter
            // that returns at once leaves nothing dangling on the server.
            match self.client.get_data_w(&self.path).await {
                Err(e) if e.is_no_node() => return Ok(()),
                Ok((_, _, watch)) => {
                    // A deletion event is the condition itself (the node was absent at that
                    // zxid): return without another round trip. Anything else: look again.
                    if watch.await?.event_type == crate::EventType::NodeDeleted {
                        return Ok(());
                    }
                }
                Err(e) if e.is_retryable() => pause_if_local(&e).await,
                Err(e) => return Err(e),
            }
        }
    }
}
