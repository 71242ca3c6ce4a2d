//! Building blocks shared by the recipes: reads behind a `sync`, parent creation, protected
//! creates and the look for an attempt's own node. Public client API only. (Retrying is in
//! `retry`, deleting and delete-on-drop in `cleanup`.)

use super::retry::{retry_or_fail, retrying, unless_no_node};
use crate::error::{Error, Result};
use crate::paths::{join, parent};
use crate::Acl;
use crate::{Client, CreateMode};

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

/// [`after_sync`] when `sync`, else just `read`: for a step that needs the sync only on its first
/// try, or only after a connection loss (when a write of ours may have gone through another
/// server that this one has not caught up with).
pub(crate) async fn after_sync_if<T>(
    sync: bool,
    client: &Client,
    path: &str,
    read: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    if sync {
        after_sync(client, path, read).await
    } else {
        read.await
    }
}

/// Creates every missing ancestor of `path` and `path` itself as empty persistent nodes with
/// `acl`; nodes that already exist are fine.
pub(crate) async fn create_path(client: &Client, path: &str, acl: &[Acl]) -> Result<()> {
    let mut missing = Vec::new();
    let mut p = path;
    // Walk up until an existing node, then create downwards.
    loop {
        if retrying(|| client.exists(p)).await?.is_some() {
            break;
        }
        missing.push(p.to_string());
        match parent(p) {
            Some("/") | None => break,
            Some(up) => p = up,
        }
    }
    for p in missing.iter().rev() {
        // Safe to repeat: after a lost reply the node is there (ours or another process's, both
        // empty and persistent), and `NodeExists` counts as done.
        let created =
            retrying(|| client.create_with_acl(p, b"", CreateMode::Persistent, acl.to_vec()));
        match created.await {
            Ok(_) => {}
            Err(e) if e.is_node_exists() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Creates `dir/prefix<seq>` (ephemeral sequential) "protected": `prefix` carries the
/// attempt's random id, so if the connection drops during the create, the node whose name
/// starts with `prefix` (found after a `sync`, see [`find_own`]) is ours
/// and adopts it instead of creating a second one. With `look_first`, looks before the first
/// create (the caller's own create may have been applied). Missing parents are created.
/// Returns the child name and its czxid.
pub(crate) async fn create_protected(
    client: &Client,
    dir: &str,
    prefix: &str,
    data: &[u8],
    acl: &[Acl],
    mut look_first: bool,
) -> Result<(String, i64)> {
    let path = join(dir, prefix);
    loop {
        if look_first {
            if let Some(found) = find_own(client, dir, prefix).await? {
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
            Err(e) => {
                // Never created again blindly: a create whose reply was lost may have been
                // applied, so look for it (by the id in its prefix) first.
                retry_or_fail(e).await?;
                look_first = true;
            }
        }
    }
}

/// The child of `dir` created by the attempt whose protected prefix is `prefix` (it carries
/// the attempt's random id), with its czxid, if any (retrying through connection loss).
///
/// Syncs first: after a connection loss the server this session reconnected to may not have
/// applied a create that another server answered (the client never saw that reply's zxid, so
/// the handshake's zxid check does not hold the server back). A listing without the sync could
/// miss the node, and a second one would be made.
pub(crate) async fn find_own(
    client: &Client,
    dir: &str,
    prefix: &str,
) -> Result<Option<(String, i64)>> {
    let look = || async move {
        let (children, _) = after_sync(client, dir, client.get_children(dir)).await?;
        let Some(name) = children.into_iter().find(|c| c.starts_with(prefix)) else {
            return Ok(None);
        };
        Ok::<_, Error>(
            client
                .exists(&join(dir, &name))
                .await?
                .map(|stat| (name, stat.czxid)),
        )
    };
    // A missing `dir` holds no node of ours.
    let found = retrying(|| unless_no_node(look())).await?;
    Ok(found.flatten())
}

/// The last segment of a path.
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
