//! A counting semaphore: at most `max` permits held at any moment, across processes.

use super::held::{held_api, HeldNode};
use super::layout::{Layout, Role};
use super::lease_semaphores;
use super::lock_node::{NodeRef, QueueKind};
use super::queue::{earlier, Attempt};
use super::retry::{retrying, unless_no_node};
use super::support::create_path;
use crate::error::{Error, Result};
use crate::paths::{join, parent};
use crate::validate_path;
use crate::{Acl, Client, CreateMode, ErrorCode};
use bytes::Bytes;

/// A semaphore on a ZooKeeper path: at most `max` processes (or tasks) hold a [`Permit`] at any
/// moment, the others queue in arrival order (fair: a later arrival never overtakes an
/// earlier one).
///
/// Layout: one ephemeral sequential node `_c_<id>-permit-<seq>` per holder or waiter under
/// `path`; the first `max` of them (by sequence) hold permits. A waiter watches only the
/// `max` nodes just before its own. That is enough: it is admitted once fewer than `max`
/// nodes precede it, which can only happen once one of those `max` has gone (a farther one
/// going leaves them in place), and no node can join in front of it. So no release is missed,
/// and a release wakes at most `max` waiters, never the whole queue (with `max` 1 this is
/// exactly a lock's one watch).
///
/// `max` is kept in the data of the semaphore's node. The first process to use the path fixes
/// it; a process asking for another number gets [`Error::SemaphoreMismatch`] and no permit (a
/// node its attempt made meanwhile is removed in the background). Curator's
/// InterProcessSemaphoreV2 lets each process bring its own number, so two processes that
/// disagree let in as many holders as the larger one says, silently; kazoo refuses a mismatch
/// too. To change `max`, delete the node while nobody holds or waits.
///
/// Acquire futures are cancel-safe: a dropped acquire (a timeout, a `select!`) removes its node
/// through the client's driver. A dropped [`Permit`] is released the same way.
///
/// ```no_run
/// # async fn f() -> zksync::Result<()> {
/// use std::time::Duration;
/// use zksync::{recipes::Semaphore, Client};
/// let client = Client::connect("127.0.0.1:2181").await?;
/// // At most three report builders at once, across every host.
/// let builders = Semaphore::new(client.clone(), "/app/report-builders", 3);
/// let permit = builders.acquire().await?;
/// tokio::select! {
///     lost = permit.lost() => eprintln!("permit lost ({lost:?}): stop"),
///     () = tokio::time::sleep(Duration::from_secs(1)) => { /* ... build, fenced by permit.token() ... */ }
/// }
/// permit.release().await?;
/// // Or without waiting:
/// if let Some(permit) = builders.try_acquire().await? {
///     permit.release().await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Semaphore {
    client: Client,
    path: String,
    max: u32,
    acl: Vec<Acl>,
    data: Bytes,
    layout: Layout,
}

impl Semaphore {
    /// A semaphore of `max` permits at `path` (created with missing parents on first use).
    /// The path and `max` (at least 1) are checked on the first acquire.
    pub fn new(client: Client, path: &str, max: u32) -> Semaphore {
        Semaphore {
            client,
            path: path.to_string(),
            max,
            acl: Acl::open_unsafe(),
            data: Bytes::new(),
            layout: Layout::Go,
        }
    }

    /// The node layout (default [`Layout::Go`], described above). [`Layout::Curator`] shares
    /// the semaphore with Curator's InterProcessSemaphoreV2 (a `locks` mutex, then a node in
    /// `leases`; Curator keeps no `max` in ZooKeeper, so a mismatch cannot be detected there:
    /// every process must be given the same number). [`Layout::Kazoo`] shares it with kazoo's
    /// Semaphore (a lock at `PATH-__lock__`, leases as children of `PATH`, `max` in `PATH`'s
    /// data, a mismatch refused as here). In both, a waiter holds the library's lock while it
    /// waits, as the libraries do: one waiter at a time watches the leases.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_layout(mut self, layout: Layout) -> Semaphore {
        self.layout = layout;
        self
    }

    /// The ACL for the permit nodes and any nodes created on the way (default: open).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_acl(mut self, acl: Vec<Acl>) -> Semaphore {
        self.acl = acl;
        self
    }

    /// Data stored in each permit node (e.g. the holder's host name, for operators).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_data(mut self, data: &[u8]) -> Semaphore {
        self.data = Bytes::copy_from_slice(data);
        self
    }

    /// The semaphore's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The number of permits.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// Waits for and takes a permit (cancel-safe).
    pub async fn acquire(&self) -> Result<Permit> {
        self.acquire_inner(false)
            .await
            .map(|p| p.expect("blocking acquire"))
    }

    /// Takes a permit if one is free at once; `Ok(None)` otherwise (no node left).
    pub async fn try_acquire(&self) -> Result<Option<Permit>> {
        self.acquire_inner(true).await
    }

    async fn acquire_inner(&self, try_only: bool) -> Result<Option<Permit>> {
        validate_path(&self.path)?;
        if self.max == 0 {
            return Err(Error::InvalidArgument(
                "a semaphore needs at least 1 permit".to_string(),
            ));
        }
        let leases = lease_semaphores::Leases {
            client: &self.client,
            path: &self.path,
            max: self.max as usize,
            data: &self.data,
            acl: &self.acl,
            try_only,
        };
        match self.layout {
            Layout::Curator => return leases.curator().await,
            Layout::Kazoo => {
                self.agree_on_max().await?;
                return leases.kazoo().await;
            }
            Layout::Go => {}
        }
        let attempt = Attempt {
            client: &self.client,
            dir: &self.path,
            layout: Layout::Go,
            role: Role::Permit,
            data: &self.data,
            acl: &self.acl,
            try_only,
        };
        let max = self.max as usize;
        let queued = async {
            let admitted = attempt
                .run(|nodes, me| permit_blockers(nodes, me, max))
                .await?;
            // A permit at once: if the check below fails, dropping it releases the node.
            Ok(admitted.map(|admitted| {
                let node = join(&self.path, &admitted.node.name);
                Permit::new(&self.client, node, admitted.czxid, admitted.node.seq)
            }))
        };
        // The check of `max` and the queueing go out together (one round trip's wait, not
        // two). A permit is returned only if the check passed; if it fails, the attempt is
        // dropped (cancel-safe: its node is removed) or its permit released.
        let ((), permit) = tokio::try_join!(self.agree_on_max(), queued)?;
        Ok(permit)
    }

    /// Makes sure the semaphore's node says `max`: creates it with `max` if missing, claims it
    /// if its data is empty (a node made by an operator, or by an older acquire's parent
    /// creation), refuses if it says anything else. Every step is safe to repeat after a lost
    /// reply: a create that went through shows as `NodeExists` and then as our number, a claim
    /// that went through shows as `BadVersion` and then as our number.
    async fn agree_on_max(&self) -> Result<()> {
        let client = &self.client;
        let path = self.path.as_str();
        let want = self.max.to_string();
        loop {
            let stored = retrying(|| unless_no_node(client.get_data(path))).await?;
            let outcome = match stored {
                None => {
                    if let Some(up) = parent(path).filter(|p| *p != "/") {
                        create_path(client, up, &self.acl).await?;
                    }
                    let create = || {
                        client.create_with_acl(
                            path,
                            want.as_bytes(),
                            CreateMode::Persistent,
                            self.acl.clone(),
                        )
                    };
                    retrying(create).await.map(drop)
                }
                Some((data, stat)) if data.is_empty() => {
                    let claim = || client.set_data(path, want.as_bytes(), Some(stat.version));
                    retrying(claim).await.map(drop)
                }
                Some((data, _)) if data.trim_ascii() == want.as_bytes() => return Ok(()),
                Some((data, _)) => {
                    return Err(Error::SemaphoreMismatch {
                        path: path.to_string(),
                        stored: String::from_utf8_lossy(&data).into_owned(),
                        requested: self.max,
                    })
                }
            };
            match outcome {
                Ok(()) => return Ok(()),
                // Someone else created or claimed it first (or our own lost reply): look again.
                Err(e)
                    if e.is_node_exists()
                        || e.is_no_node()
                        || e.code() == Some(ErrorCode::BadVersion) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// What a permit node waits for: nothing if fewer than `max` permit nodes come before it,
/// else the `max` nearest of them (see [`Semaphore`] for why those suffice).
fn permit_blockers(nodes: &[NodeRef<'_>], me: &NodeRef<'_>, max: usize) -> Vec<String> {
    let before = earlier(nodes, me, &[QueueKind::Permit]);
    if before.len() < max {
        return Vec::new();
    }
    before[before.len() - max..]
        .iter()
        .map(|n| n.name.to_string())
        .collect()
}

/// A held permit of a [`Semaphore`]. Release it with [`Permit::release`] (which reports
/// errors); a permit that is just dropped is released in the background (by the client's
/// driver). It is lost, like a lock, when the session expires or its lease runs out: see
/// [`crate::recipes::LockGuard`] for how to use the token, the lease and `lost()`.
#[derive(Debug)]
#[must_use = "dropping a permit releases it at once (in the background)"]
pub struct Permit {
    held: HeldNode,
    seq: i64,
}

impl Permit {
    /// Takes over the permit node `node` (an ephemeral of this session, czxid `token`).
    pub(crate) fn new(client: &Client, node: String, token: i64, seq: i64) -> Permit {
        Permit {
            held: HeldNode::new(client.clone(), node, token),
            seq,
        }
    }

    held_api!("the permit");

    /// The fencing token: the czxid of this permit's node. It grows with every permit granted
    /// later on this semaphore (for the life of the ensemble), so a resource that takes each
    /// holder's writes can reject those of a holder whose permit has been lost.
    pub fn token(&self) -> i64 {
        self.held.token()
    }

    /// The server's sequence number in the node's name: the position in the queue.
    pub fn sequence(&self) -> i64 {
        self.seq
    }

    /// Releases the permit: deletes its node, retrying through connection loss. Fails only if
    /// the session ended first. Cancel-safe: a dropped call leaves the delete to the driver.
    pub async fn release(self) -> Result<()> {
        self.held.release().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(seq: i64, kind: QueueKind) -> NodeRef<'static> {
        const NAMES: [&str; 6] = ["n0", "n1", "n2", "n3", "n4", "n5"];
        NodeRef {
            name: NAMES[seq as usize],
            kind,
            seq,
        }
    }

    #[test]
    fn first_max_nodes_hold_and_waiters_watch_the_max_nearest() {
        let nodes: Vec<NodeRef> = (0..6).map(|s| node(s, QueueKind::Permit)).collect();
        for s in 0..3 {
            assert!(permit_blockers(&nodes, &nodes[s], 3).is_empty(), "{s}");
        }
        assert_eq!(permit_blockers(&nodes, &nodes[3], 3), ["n0", "n1", "n2"]);
        assert_eq!(permit_blockers(&nodes, &nodes[5], 3), ["n2", "n3", "n4"]);
        assert_eq!(permit_blockers(&nodes, &nodes[1], 1), ["n0"]);
    }

    #[test]
    fn other_kinds_of_node_do_not_count() {
        let nodes = vec![
            node(0, QueueKind::Write),
            node(1, QueueKind::Candidate),
            node(2, QueueKind::Permit),
            node(3, QueueKind::Permit),
        ];
        assert!(permit_blockers(&nodes, &nodes[3], 2).is_empty());
        assert_eq!(permit_blockers(&nodes, &nodes[3], 1), ["n2"]);
    }
}
