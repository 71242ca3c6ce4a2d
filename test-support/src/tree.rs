//! Recursive delete, for tests' namespaces and the demo's working tree.

use zksync::Client;

/// Deletes `path` and everything below it. Children that come and go meanwhile are retried
/// (up to 50 rounds), as are retryable errors (a connection loss); a node already gone counts
/// as deleted. Fails on the first error that retrying cannot fix (e.g. no permission, session
/// expired), or with [`zksync::Error::Timeout`] if the subtree never stopped changing.
pub async fn delete_tree(client: &Client, path: &str) -> zksync::Result<()> {
    for _ in 0..50 {
        let children = match client.get_children(path).await {
            Ok((c, _)) => c,
            Err(e) if e.is_no_node() => return Ok(()),
            Err(e) if e.is_retryable() => continue,
            Err(e) => return Err(e),
        };
        for c in children {
            Box::pin(delete_tree(client, &format!("{path}/{c}"))).await?;
        }
        match client.delete(path, None).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_no_node() => return Ok(()),
            Err(e) if e.is_terminal() => return Err(e),
            Err(_) => continue,
        }
    }
    Err(zksync::Error::Timeout)
}
