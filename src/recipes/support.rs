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

/// Runs `read` right behind a `sync` of `path`, pipelined (one round trip's wait, not two):
/// the server answers the read only after it has caught up with the leader. Replies come in
/// order on one connection, so if the sync succeeded the read was answered after it; if the
/// sync failed (a connection loss), its error is returned and the read's result is dropped.
pub(crate) async fn after_sync<T>(
    client: &Client,
    path: &str,
    read: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let (synced, read) = tokio::join!(client.sync(path), read);
    synced?;
    read
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
/// during the create, finds the node whose name carries `id` (after a `sync`, see [`find_own`])
/// and adopts it instead of creating a second one. With `look_first`, looks before the first
/// create (the caller's own create may have been applied). Missing parents are created.
/// Returns the child name and its czxid.
pub(crate) async fn create_protected(
    client: &Client,
    dir: &str,
    prefix: &str,
    id: &str,
    data: &[u8],
    acl: &[Acl],
    mut look_first: bool,
) -> Result<(String, i64)> {
    let path = join(dir, prefix);
    loop {
        if look_first {
            if let Some(found) = find_own(client, dir, id).await? {
                return Ok(found);
            }
        }
        match client
            .create_with_acl(&path, data, CreateMode::EphemeralSequential, acl.to_vec())
            .await
        {
            Ok((created, stat)) => return Ok((basename(&created).to_string(), stat.czxid)),
            Err(e) if e.is_no_node() => {
                create_path(client, dir, acl).await?;
                look_first = false;
            }
            Err(e) if e.is_retryable() => {
                pause_if_local(&e).await;
                look_first = true;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The child of `dir` created by the attempt `id`, with its czxid, if any (retrying through
/// connection loss).
///
/// Syncs first: after a connection loss the server this session reconnected to may not have
/// applied a create that another server answered (the client never saw that reply's zxid, so
/// the handshake's zxid check does not hold the server back). A listing without the sync could
/// miss the node, and a second one would be made.
pub(crate) async fn find_own(
    client: &Client,
    dir: &str,
    id: &str,
) -> Result<Option<(String, i64)>> {
    loop {
        let looked = async {
            let (children, _) = after_sync(client, dir, client.get_children(dir)).await?;
            let Some(name) = children
                .into_iter()
                .find(|c| super::lock_node::has_id(c, id))
            else {
                return Ok(None);
            };
            Ok::<_, Error>(
                client
                    .exists(&join(dir, &name))
                    .await?
                    .map(|stat| (name, stat.czxid)),
            )
        };
        match looked.await {
            Ok(found) => return Ok(found),
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
    while let Some((name, _)) = find_own(client, dir, id).await? {
        delete_until_gone(client, &join(dir, &name)).await?;
    }
    Ok(())
}

/// Deletes `path` if it is an ephemeral node of this client's session, retrying through
/// connection loss; leaves a node of any other owner alone. For nodes named by the caller (a
/// double-barrier participant id), which another session may hold under the same name.
pub(crate) async fn delete_if_owned(client: &Client, path: &str) -> Result<()> {
    loop {
        let step = async {
            match client.exists(path).await? {
                Some(st) if st.ephemeral_owner == client.session_id() => {
                    client.delete(path, Some(st.version)).await
                }
                _ => Ok(()),
            }
        };
        match step.await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_no_node() => return Ok(()),
            // Changed between the look and the delete: look again.
            Err(e) if e.code() == Some(crate::ErrorCode::BadVersion) => {}
            Err(e) if e.is_retryable() => pause_if_local(&e).await,
            Err(e) => return Err(e),
        }
    }
}

/// The last segment of a path.
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// What an abandoned attempt must remove when it is dropped.
pub(crate) enum Leftover {
    /// The children of `dir` whose names carry the attempt's protected id.
    Protected { dir: String, id: String },
    /// The node at this path, if it is an ephemeral of this session.
    Owned(String),
}

/// Removes an attempt's nodes when dropped while armed: makes acquire/enter futures
/// cancel-safe (a `timeout` or `select!` dropping them leaves nothing behind). The deletes are
/// handed to the client's driver ([`Client::background`]), so a drop outside a runtime, or
/// while the runtime shuts down, still sends them (as long as the session lives), and a
/// close sends them before closeSession. Only nodes this session created are ever deleted.
pub(crate) struct AttemptCleanup {
    client: Client,
    leftover: Option<Leftover>,
}

impl AttemptCleanup {
    pub(crate) fn new(client: &Client, leftover: Leftover) -> Self {
        AttemptCleanup {
            client: client.clone(),
            leftover: Some(leftover),
        }
    }

    /// The attempt succeeded (or cleaned up itself): nothing to do on drop.
    pub(crate) fn disarm(&mut self) {
        self.leftover = None;
    }
}

impl Drop for AttemptCleanup {
    fn drop(&mut self) {
        let Some(leftover) = self.leftover.take() else {
            return;
        };
        let client = self.client.clone();
        self.client.background(async move {
            let _ = match leftover {
                Leftover::Protected { dir, id } => delete_own(&client, &dir, &id).await,
                Leftover::Owned(path) => delete_if_owned(&client, &path).await,
            };
        });
    }
}
