//! Building blocks shared by the recipes: parent creation, protected creates, deletes that
//! survive connection loss, and clean-up of abandoned nodes. Public client API only.

use crate::client::{Client, CreateMode};
use crate::error::{Error, Result};
use crate::paths::{join, parent};
use crate::proto::Acl;
use std::time::Duration;

/// Pause before retrying after a local timeout/queue-full: the client is disconnected and the
/// call did not even reach a server, so retrying at once would only spin.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

pub(crate) async fn pause_if_local(e: &Error) {
    if matches!(e, Error::Timeout | Error::QueueFull(_)) {
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

/// Creates every missing ancestor of `path` and `path` itself as empty persistent nodes with
/// `acl`; nodes that already exist are fine.
pub(crate) async fn create_path(client: &Client, path: &str, acl: &[Acl]) -> Result<()> {
    let mut missing = Vec::new();
    let mut p = path;
    // Walk up until an existing node, then create downwards.
    loop {
        match client.exists(p).await {
            Ok(Some(_)) => break,
            Ok(None) => missing.push(p.to_string()),
            Err(e) if e.is_retryable() => {
                pause_if_local(&e).await;
                continue;
            }
            Err(e) => return Err(e),
        }
        match parent(p) {
            Some("/") | None => break,
            Some(up) => p = up,
        }
    }
    for p in missing.iter().rev() {
        loop {
            match client
                .create_with_acl(p, b"", CreateMode::Persistent, acl.to_vec())
                .await
            {
                Ok(_) => break,
                Err(e) if e.is_node_exists() => break,
                Err(e) if e.is_retryable() => pause_if_local(&e).await,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Creates `dir/prefix<seq>` (ephemeral sequential) "protected": if the connection drops
/// during the create, lists `dir` and adopts the node whose name carries `id` instead of
/// creating a second one. Missing parents are created. Returns the child name.
pub(crate) async fn create_protected(
    client: &Client,
    dir: &str,
    prefix: &str,
    id: &str,
    data: &[u8],
    acl: &[Acl],
) -> Result<String> {
    let path = join(dir, prefix);
    loop {
        match client
            .create_with_acl(&path, data, CreateMode::EphemeralSequential, acl.to_vec())
            .await
        {
            Ok((created, _)) => return Ok(basename(&created).to_string()),
            Err(e) if e.is_no_node() => create_path(client, dir, acl).await?,
            Err(e) if e.is_retryable() => {
                pause_if_local(&e).await;
                if let Some(name) = find_own(client, dir, id).await? {
                    return Ok(name);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// The child of `dir` created by the attempt `id`, if any (retrying through connection loss).
pub(crate) async fn find_own(client: &Client, dir: &str, id: &str) -> Result<Option<String>> {
    loop {
        match client.get_children(dir).await {
            Ok((children, _)) => {
                return Ok(children
                    .into_iter()
                    .find(|c| super::lock_node::has_id(c, id)))
            }
            Err(e) if e.is_no_node() => return Ok(None),
            Err(e) if e.is_retryable() => pause_if_local(&e).await,
            Err(e) => return Err(e),
        }
    }
}

/// Deletes `path`, retrying through connection loss until the node is gone or the session is
/// known dead (then its ephemeral nodes are gone or going anyway, and the error says so).
pub(crate) async fn delete_until_gone(client: &Client, path: &str) -> Result<()> {
    loop {
        match client.delete(path, None).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_no_node() => return Ok(()),
            Err(e) if e.is_retryable() => pause_if_local(&e).await,
            Err(e) => return Err(e),
        }
    }
}

/// Deletes every child of `dir` created by attempt `id` (the clean-up of a cancelled acquire,
/// which may not know whether its create reached the server).
pub(crate) async fn delete_own(client: &Client, dir: &str, id: &str) -> Result<()> {
    while let Some(name) = find_own(client, dir, id).await? {
        delete_until_gone(client, &join(dir, &name)).await?;
    }
    Ok(())
}

/// The last segment of a path.
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Runs `f` in the background if a tokio runtime is available. Used from `Drop`, which cannot
/// await: without a runtime nothing can be sent anyway, and closing the session removes the
/// ephemeral nodes.
pub(crate) fn spawn_cleanup<F>(f: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(f);
    }
}

/// Deletes the nodes of an attempt when dropped while armed: makes acquire/enter futures
/// cancel-safe (a `timeout` or `select!` dropping them leaves nothing behind).
pub(crate) struct AttemptCleanup {
    client: Client,
    dir: String,
    id: String,
    armed: bool,
}

impl AttemptCleanup {
    pub(crate) fn new(client: &Client, dir: &str, id: &str) -> Self {
        AttemptCleanup {
            client: client.clone(),
            dir: dir.to_string(),
            id: id.to_string(),
            armed: true,
        }
    }

    /// The attempt succeeded (or cleaned up itself): nothing to do on drop.
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for AttemptCleanup {
    fn drop(&mut self) {
        if self.armed {
            let (client, dir, id) = (self.client.clone(), self.dir.clone(), self.id.clone());
            spawn_cleanup(async move {
                let _ = delete_own(&client, &dir, &id).await;
            });
        }
    }
}
