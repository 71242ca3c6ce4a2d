//! Leader election: one leader at a time among the candidates of a path, with a token that
//! grows with each new leader, and observers that see each change once, in order.

use super::held::{held_api, HeldNode};
use super::layout::{Layout, Role};
use super::lock_node::{NodeRef, QueueKind, QueueNode};
use super::queue::{earlier, Attempt};
use super::retry::{retry_or_fail, retrying, unless_no_node};
use super::support::after_sync;
use crate::error::Result;
use crate::paths::join;
use crate::validate_path;
use crate::{Acl, Client};
use bytes::Bytes;

/// Leader election on a ZooKeeper path (like Curator's LeaderLatch, kazoo's Election).
///
/// Each candidate creates one ephemeral sequential node `_c_<hex>-elect-<seq>` holding its id;
/// the candidate with the lowest sequence number is the leader, and every other candidate
/// watches only the candidate just before it, so a leader's exit wakes exactly its successor.
/// A node counts only while the session that made it lives: the server removes it when that
/// session ends, and a [`Leadership`] is lost for good when its session ends or its lease runs
/// out (a client never goes on under a new session, so a node of a previous session can never
/// be mistaken for ours: the cause of Curator's two-leaders bug).
///
/// [`Election::campaign`] is cancel-safe: dropping it (a timeout, a `select!`) removes the
/// candidate's node. A [`Leadership`] that is dropped resigns in the background.
///
/// ```no_run
/// # async fn f() -> zksync::Result<()> {
/// use zksync::{recipes::Election, Client};
/// let client = Client::connect("127.0.0.1:2181").await?;
/// let election = Election::new(client.clone(), "/app/scheduler-leader").with_id(b"host-a");
/// let leadership = election.campaign().await?; // waits until this process leads
/// tokio::select! {
///     lost = leadership.lost() => eprintln!("no longer leader ({lost:?}): stop leading"),
///     () = async { /* lead; fence every write with leadership.token() */ } => {}
/// }
/// leadership.resign().await?; // the next candidate leads at once
///
/// // Anyone can ask who leads, or follow the changes:
/// if let Some(leader) = election.leader().await? {
///     println!("leader {:?} (token {})", leader.id, leader.token);
/// }
/// let mut changes = election.observe();
/// let next = changes.next().await?; // the current leader, then each new one
/// # let _ = next;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Election {
    client: Client,
    path: String,
    id: Bytes,
    acl: Vec<Acl>,
    layout: Layout,
}

impl Election {
    /// An election at `path` (created with missing parents on first use; checked on first use).
    pub fn new(client: Client, path: &str) -> Election {
        Election {
            client,
            path: path.to_string(),
            id: Bytes::new(),
            acl: Acl::open_unsafe(),
            layout: Layout::Go,
        }
    }

    /// The node layout (default [`Layout::Go`]): [`Layout::Curator`] campaigns beside Curator's
    /// LeaderLatch (`latch-` nodes), [`Layout::Kazoo`] beside kazoo's Election (a Lock).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_layout(mut self, layout: Layout) -> Election {
        self.layout = layout;
        self
    }

    /// This candidate's id, stored in its node: what [`Election::leader`] and observers report
    /// (e.g. `host:port` of the service that leads). Default: empty.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_id(mut self, id: &[u8]) -> Election {
        self.id = Bytes::copy_from_slice(id);
        self
    }

    /// The ACL for the candidate nodes and any parents created (default: open).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_acl(mut self, acl: Vec<Acl>) -> Election {
        self.acl = acl;
        self
    }

    /// The election's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Stands as a candidate and waits until this candidate leads. Cancel-safe: a dropped
    /// campaign leaves no node behind. Fails if the session ends while waiting.
    pub async fn campaign(&self) -> Result<Leadership> {
        validate_path(&self.path)?;
        let attempt = Attempt {
            client: &self.client,
            dir: &self.path,
            layout: self.layout,
            role: Role::Candidate,
            data: &self.id,
            acl: &self.acl,
            try_only: false,
        };
        let candidate = self.layout.candidate_kind();
        let admitted = attempt
            .run(|nodes, me| candidate_blockers(nodes, me, candidate))
            .await?
            .expect("blocking campaign");
        Ok(Leadership {
            held: HeldNode::new(
                self.client.clone(),
                join(&self.path, &admitted.node.name),
                admitted.czxid,
            ),
            id: self.id.clone(),
        })
    }

    /// The current leader, if any, as the ensemble sees it now (the read follows a `sync`, so
    /// it is not older than this call).
    pub async fn leader(&self) -> Result<Option<LeaderInfo>> {
        validate_path(&self.path)?;
        let client = &self.client;
        loop {
            let listed = retrying(|| {
                unless_no_node(after_sync(
                    client,
                    &self.path,
                    client.get_children_names(&self.path),
                ))
            })
            .await?;
            // Only the leading candidate is kept: the listing is gone before the read.
            let first = match listed {
                Some((children, _)) => first_candidate(self.layout, children.iter()),
                None => return Ok(None), // no election here yet
            };
            let Some(first) = first else {
                return Ok(None);
            };
            let node = join(&self.path, &first.name);
            match retrying(|| unless_no_node(client.get_data(&node))).await? {
                Some((id, stat)) => {
                    return Ok(Some(LeaderInfo {
                        id,
                        token: stat.czxid,
                        session_id: stat.ephemeral_owner,
                        node,
                    }))
                }
                None => continue, // resigned meanwhile: look again
            }
        }
    }

    /// The leader changes from now on: the current leader first (once there is one), then each
    /// new leader, each once and in order (tokens strictly growing). Uses one watch at a time
    /// (on the leader's node, or on the candidate list while nobody leads).
    pub fn observe(&self) -> LeaderChanges {
        LeaderChanges {
            client: self.client.clone(),
            path: self.path.clone(),
            layout: self.layout,
            last: None,
        }
    }
}

/// The candidate an election's candidate waits for: the nearest earlier one (candidates are
/// the nodes of kind `candidate` in the election's layout).
fn candidate_blockers(
    nodes: &[NodeRef<'_>],
    me: &NodeRef<'_>,
    candidate: QueueKind,
) -> Vec<String> {
    earlier(nodes, me, &[candidate])
        .last()
        .map(|n| vec![n.name.to_string()])
        .unwrap_or_default()
}

/// The leading candidate among an election's children (only its name is copied out).
fn first_candidate<'a>(
    layout: Layout,
    children: impl IntoIterator<Item = &'a str>,
) -> Option<QueueNode> {
    let candidate = layout.candidate_kind();
    children
        .into_iter()
        .filter_map(|c| layout.parse_ref(c))
        .filter(|n| n.kind == candidate)
        .min_by_key(|n| n.seq)
        .map(NodeRef::to_owned)
}

/// Who leads an election.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaderInfo {
    /// The id the leader campaigned with ([`Election::with_id`]).
    pub id: Bytes,
    /// The leader's token: its node's czxid, larger for every later leader.
    pub token: i64,
    /// The leader's session.
    pub session_id: i64,
    /// The leader's node.
    pub node: String,
}

/// The leader changes of an election ([`Election::observe`]).
#[derive(Debug)]
#[must_use = "leader changes are only seen through next()"]
pub struct LeaderChanges {
    client: Client,
    path: String,
    layout: Layout,
    /// The token of the last leader reported.
    last: Option<i64>,
}

impl LeaderChanges {
    /// The next leader: one whose token is larger than every leader reported before. Waits
    /// while nobody leads or the leader is the one reported last. A leader that comes and goes
    /// between two looks may be skipped (ZooKeeper's watches fire once and carry no data), but
    /// none is reported twice or out of order. Cancel-safe: a dropped call reports nothing, and
    /// the next call looks afresh. Fails when the session ends.
    pub async fn next(&mut self) -> Result<LeaderInfo> {
        let client = &self.client;
        let path = self.path.as_str();
        loop {
            let listed = after_sync(client, path, client.get_children_names(path));
            // Only the leading candidate is kept: the listing is gone before any wait.
            let first = match unless_no_node(listed).await {
                Ok(Some((children, _))) => first_candidate(self.layout, children.iter()),
                Ok(None) => {
                    // No election yet: wait for its node.
                    match client.exists_w(path).await {
                        Ok((Some(_), _)) => {}
                        Ok((None, watch)) => {
                            watch.await?;
                        }
                        Err(e) => retry_or_fail(e).await?,
                    }
                    continue;
                }
                Err(e) => {
                    retry_or_fail(e).await?;
                    continue;
                }
            };
            let Some(first) = first else {
                // Nobody leads: wait for the candidate list to change.
                match unless_no_node(client.get_children_w(path)).await {
                    Ok(Some((now, _, watch))) => {
                        if first_candidate(self.layout, now.iter().map(String::as_str)).is_none() {
                            watch.await?;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => retry_or_fail(e).await?,
                }
                continue;
            };
            let node = join(path, &first.name);
            match client.get_data_w(&node).await {
                Ok((id, stat, watch)) => {
                    if self.last.is_none_or(|last| stat.czxid > last) {
                        self.last = Some(stat.czxid);
                        return Ok(LeaderInfo {
                            id,
                            token: stat.czxid,
                            session_id: stat.ephemeral_owner,
                            node,
                        });
                    }
                    // Reported already: wait until it goes.
                    watch.await?;
                }
                Err(e) if e.is_no_node() => {}
                Err(e) => retry_or_fail(e).await?,
            }
        }
    }
}

/// The leadership of this process in an [`Election`]. Resign with [`Leadership::resign`];
/// dropping it resigns in the background. Lost, like a lock, when the session expires or its
/// lease runs out: a leader must stop acting as one when [`Leadership::lost`] resolves, and
/// check [`Leadership::is_lost`] (or [`Leadership::valid_until`]) before each visible step.
#[derive(Debug)]
#[must_use = "dropping a leadership resigns at once (in the background)"]
pub struct Leadership {
    held: HeldNode,
    id: Bytes,
}

impl Leadership {
    held_api!("the leadership");

    /// The leader's token: this candidate's node's czxid, larger for every later leader of
    /// the election (for the life of the ensemble). Fence what the leader writes with it.
    pub fn token(&self) -> i64 {
        self.held.token()
    }

    /// The id this candidate campaigned with.
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// Steps down: deletes this leader's node (the next candidate, watching it, leads at
    /// once), retrying through connection loss. Fails only if the session ended first.
    /// Cancel-safe: a dropped call leaves the delete to the driver.
    pub async fn resign(self) -> Result<()> {
        self.held.release().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_candidate_leads_and_each_waits_for_the_one_before() {
        let children = [
            "_c_aa-elect-0000000007".to_string(),
            "_c_bb-elect-0000000003".to_string(),
            "_c_cc-write-0000000001".to_string(),
            "other".to_string(),
        ];
        assert_eq!(
            first_candidate(Layout::Go, children.iter().map(String::as_str))
                .unwrap()
                .seq,
            3
        );
        let nodes: Vec<NodeRef> = children
            .iter()
            .filter_map(|c| Layout::Go.parse_ref(c))
            .collect();
        let me = &nodes[0];
        let c = QueueKind::Candidate;
        assert_eq!(
            candidate_blockers(&nodes, me, c),
            ["_c_bb-elect-0000000003"]
        );
        assert!(candidate_blockers(&nodes, &nodes[1], c).is_empty());
        // In kazoo's layout the candidates are lock nodes, and readers do not count.
        let kazoo = [
            "aa__lock__0000000005".to_string(),
            "bb__rlock__0000000001".to_string(),
            "cc__lock__0000000004".to_string(),
        ];
        assert_eq!(
            first_candidate(Layout::Kazoo, kazoo.iter().map(String::as_str))
                .unwrap()
                .seq,
            4
        );
    }
}
