//! Looking at a recipe's queue from outside: who holds a lock, a semaphore's permits or an
//! election's leadership, and who waits, with each node's token, session, data and age. For
//! operators and tools (`zksync holders`); it takes nothing and watches nothing.

use super::layout::Layout;
use super::lock_node::QueueKind;
use super::lock_node::{self, NodeRef, QueueNode};
use super::queue::earlier;
use super::retry::{retrying, unless_no_node};
use super::support::after_sync;
use crate::error::{Error, Result};
use crate::paths::join;
use crate::validate_path;
use crate::Client;
use bytes::Bytes;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::task::JoinSet;

/// One node of a recipe's queue ([`queue`]): a holder (of a lock, a permit, the leadership)
/// or a waiter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueEntry {
    /// What the node stands for: a read or write lock node, a semaphore permit, an election
    /// candidate ([`QueueKind::as_str`] names it).
    pub kind: QueueKind,
    /// True if the node holds (the lock, a permit, the leadership) by the queue's state at the
    /// time of the listing; false if it waits.
    pub holder: bool,
    /// The node's czxid: the fencing token its owner got (or will get) on acquiring.
    pub token: i64,
    /// The session that owns the (ephemeral) node.
    pub session_id: i64,
    /// The node's data: the owner's id as it set it (`HOSTNAME-PID` for the `zksync` command).
    pub data: Bytes,
    /// When the node was created, in milliseconds since the Unix epoch, by the clock of the
    /// server that applied the create.
    pub created_ms: i64,
    /// The server's sequence number in the node's name: the order of the queue.
    pub seq: i64,
    /// The node's full path.
    pub node: String,
}

impl QueueEntry {
    /// How long ago the node was created, by this machine's clock against the server's
    /// creation time (zero if the clocks disagree so that it lies in the future).
    pub fn age(&self) -> Duration {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Duration::from_millis(now.saturating_sub(self.created_ms).max(0) as u64)
    }
}

/// The queue of the lock, semaphore or election at `path`: its holders first, then its waiters,
/// each group in queue order (by sequence number).
///
/// The listing follows a `sync`, so it is not older than this call. Who holds is decided by the
/// rules of each node's recipe, as the recipes themselves decide it: a write node holds if no
/// lock node comes before it, a read node if no write node does; a semaphore's first `max`
/// permit nodes hold (`max` is read from the semaphore node's data); an election's lowest
/// candidate leads. Children that are not queue nodes are left out; a node deleted between the
/// listing and its read is skipped.
///
/// Nodes of every [`Layout`] are listed (their names tell them apart); the semaphores of
/// Curator and kazoo keep no queue (their waiters wait on a lock, then hold leases that are
/// all equal), so for those list the lock (`PATH/locks`, or kazoo's `PATH-__lock__`).
///
/// Fails with `NoNode` if `path` does not exist, with [`Error::InvalidPath`] for a malformed
/// path, and with [`Error::InvalidArgument`] if permit nodes are queued under a node whose data
/// is not a number of permits.
///
/// ```no_run
/// # async fn f() -> zksync::Result<()> {
/// use zksync::{recipes::inspect, Client};
/// let client = Client::connect("127.0.0.1:2181").await?;
/// for entry in inspect::queue(&client, "/locks/backup").await? {
///     let role = if entry.holder { "holds" } else { "waits" };
///     println!("{role} {:?} token {} session 0x{:x}", entry.kind, entry.token, entry.session_id);
/// }
/// # Ok(()) }
/// ```
pub async fn queue(client: &Client, path: &str) -> Result<Vec<QueueEntry>> {
    validate_path(path)?;
    let ((children, _), (dir_data, _)) = retrying(|| {
        after_sync(client, path, async {
            let (children, data) = tokio::join!(client.get_children(path), client.get_data(path));
            Ok((children?, data?))
        })
    })
    .await?;
    let mut nodes: Vec<QueueNode> = children.iter().filter_map(|c| parse_any(c)).collect();
    nodes.sort_by_key(|n| n.seq);

    // Read every node at once (pipelined on the one connection).
    let mut reads = JoinSet::new();
    for (i, n) in nodes.iter().enumerate() {
        let client = client.clone();
        let node = join(path, &n.name);
        reads.spawn(async move {
            let read = retrying(|| unless_no_node(client.get_data(&node))).await;
            (i, node, read)
        });
    }
    let mut read: Vec<Option<(String, Bytes, crate::Stat)>> = vec![None; nodes.len()];
    while let Some(done) = reads.join_next().await {
        let (i, node, result) = done.map_err(|e| Error::Protocol(format!("read task: {e}")))?;
        if let Some((data, stat)) = result? {
            read[i] = Some((node, data, stat));
        }
    }
    // Deleted meanwhile: gone from the queue, and from the decision of who holds.
    let (nodes, read): (Vec<QueueNode>, Vec<_>) = nodes
        .into_iter()
        .zip(read)
        .filter_map(|(n, r)| r.map(|r| (n, r)))
        .unzip();

    let max = if nodes.iter().any(|n| n.kind == QueueKind::Permit) {
        Some(semaphore_max(path, &dir_data)?)
    } else {
        None
    };
    let holds = holders(&nodes, max);
    let mut entries: Vec<QueueEntry> = nodes
        .into_iter()
        .zip(read)
        .zip(holds)
        .map(|((n, (node, data, stat)), holder)| QueueEntry {
            kind: n.kind,
            holder,
            token: stat.czxid,
            session_id: stat.ephemeral_owner,
            data,
            created_ms: stat.ctime,
            seq: n.seq,
            node,
        })
        .collect();
    // Stable: queue order within each group.
    entries.sort_by_key(|e| !e.holder);
    Ok(entries)
}

/// The number of permits a semaphore's node records.
fn semaphore_max(path: &str, data: &[u8]) -> Result<usize> {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|&m| m > 0)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{path} holds permit nodes, but its data {:?} is not a number of permits",
                String::from_utf8_lossy(data)
            ))
        })
}

/// A queue node of any layout. Permits count only in the default layout (see [`queue`]).
fn parse_any(name: &str) -> Option<QueueNode> {
    Layout::ALL
        .into_iter()
        .find_map(|l| l.parse(name))
        .filter(|n| n.kind != QueueKind::Permit || lock_node::parse_queue_node(name).is_some())
}

/// Whether each of `nodes` (sorted by sequence) holds, by its recipe's rule; `max` is the
/// semaphore's number of permits (needed only if there are permit nodes).
fn holders(nodes: &[QueueNode], max: Option<usize>) -> Vec<bool> {
    let nodes: Vec<NodeRef> = nodes.iter().map(QueueNode::borrowed).collect();
    let nodes = &nodes[..];
    nodes
        .iter()
        .map(|n| match n.kind {
            QueueKind::Write => earlier(nodes, n, &[QueueKind::Read, QueueKind::Write]).is_empty(),
            QueueKind::Read => earlier(nodes, n, &[QueueKind::Write]).is_empty(),
            QueueKind::Candidate => earlier(nodes, n, &[QueueKind::Candidate]).is_empty(),
            QueueKind::Permit => {
                earlier(nodes, n, &[QueueKind::Permit]).len() < max.unwrap_or(usize::MAX)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(kinds: &[QueueKind]) -> Vec<QueueNode> {
        kinds
            .iter()
            .enumerate()
            .map(|(i, &kind)| QueueNode {
                name: format!("n{i}"),
                kind,
                seq: i as i64,
            })
            .collect()
    }

    #[test]
    fn a_lock_is_held_by_the_first_writer_or_the_readers_before_any_writer() {
        use QueueKind::{Read, Write};
        assert_eq!(
            holders(&nodes(&[Read, Read, Write, Read]), None),
            [true, true, false, false]
        );
        assert_eq!(
            holders(&nodes(&[Write, Read, Write]), None),
            [true, false, false]
        );
        assert_eq!(holders(&nodes(&[]), None), Vec::<bool>::new());
    }

    #[test]
    fn a_semaphore_is_held_by_its_first_max_permits() {
        let n = nodes(&[QueueKind::Permit; 4]);
        assert_eq!(holders(&n, Some(2)), [true, true, false, false]);
        assert_eq!(holders(&n, Some(5)), [true; 4]);
    }

    #[test]
    fn an_election_is_led_by_its_lowest_candidate() {
        let n = nodes(&[QueueKind::Candidate; 3]);
        assert_eq!(holders(&n, None), [true, false, false]);
    }

    #[test]
    fn the_semaphore_max_must_be_a_positive_number() {
        assert_eq!(semaphore_max("/s", b"3").unwrap(), 3);
        assert_eq!(semaphore_max("/s", b" 2\n").unwrap(), 2);
        for bad in [&b""[..], b"0", b"x", b"-1"] {
            assert!(semaphore_max("/s", bad).is_err(), "{bad:?}");
        }
    }
}
