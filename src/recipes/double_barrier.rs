//! A double barrier: `count` participants enter together and leave together.

use super::cleanup::{delete_if_owned, is_ours, DeleteOnDrop, Leftover};
use super::retry::{pause_if_local, retry_or_fail, retrying, unless_no_node};
use super::support::{after_sync_if, create_path};
use crate::error::{Error, Result};
use crate::paths::join;
use crate::validate_path;
use crate::Acl;
use crate::{Client, CreateMode, Op, ReadOp, ReadResult};

/// Name of the node whose creation releases the entering participants.
const READY: &str = "ready";

/// A double barrier (ZooKeeper's recipe): [`DoubleBarrier::enter`] returns once `count`
/// participants have entered, [`DoubleBarrier::leave`] once all of them have left (or died:
/// participant nodes are ephemeral).
///
/// Layout (shared with the Go library): the barrier node `B`, one ephemeral child per
/// participant named by its id, and a persistent `B/ready` created by the participant that
/// completes the count. After the last leave `B/ready` and `B` are removed.
///
/// Beyond the textbook recipe:
/// - A `ready` node left by an earlier round whose participants all died is recognised (it is
///   older than our own node, and none of its round is still there) and removed, so it cannot
///   let the next round through early; a round still leaving holds newcomers back until it
///   is gone.
/// - A participant beyond `count` (by creation order) gets [`Error::BarrierFull`] and its
///   node is removed.
/// - Dropping an `enter` future (timeout, `select!`) removes the participant's node.
/// - Ids are compared as byte strings (plain `str` order): the lowest id leaves last.
///
/// ```no_run
/// # async fn f() -> zksync::Result<()> {
/// use zksync::{Client, recipes::DoubleBarrier};
/// let client = Client::connect("127.0.0.1:2181").await?;
/// let barrier = DoubleBarrier::new(client, "/batch/step-1", "worker-7", 3);
/// barrier.enter().await?;   // returns when 3 workers are in
/// // ... compute ...
/// barrier.leave().await?;   // returns when all 3 are done
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DoubleBarrier {
    client: Client,
    path: String,
    id: String,
    count: usize,
    acl: Vec<Acl>,
}

impl DoubleBarrier {
    /// A double barrier at `path` for `count` participants; this one is `id` (unique among
    /// the participants, a single path segment, not `ready`).
    pub fn new(client: Client, path: &str, id: &str, count: usize) -> DoubleBarrier {
        DoubleBarrier {
            client,
            path: path.to_string(),
            id: id.to_string(),
            count,
            acl: Acl::open_unsafe(),
        }
    }

    /// The ACL of the barrier's nodes.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn with_acl(mut self, acl: Vec<Acl>) -> DoubleBarrier {
        self.acl = acl;
        self
    }

    fn me(&self) -> String {
        join(&self.path, &self.id)
    }

    fn check_args(&self) -> Result<()> {
        validate_path(&self.path)?;
        if self.count == 0 {
            return Err(Error::InvalidArgument(
                "double barrier count must be at least 1".into(),
            ));
        }
        if self.id.is_empty() || self.id.contains('/') || self.id == READY {
            return Err(Error::InvalidArgument(format!(
                "invalid participant id {:?}",
                self.id
            )));
        }
        validate_path(&self.me())
    }

    /// Enters the barrier: waits until `count` participants are in. Cancel-safe: a dropped
    /// `enter` removes this participant's node.
    pub async fn enter(&self) -> Result<()> {
        self.check_args()?;
        let me = self.me();
        // Armed before the create (a cancel may land while it is in flight), but it deletes the
        // node only if this session owns it: never a node another participant holds under the
        // same id.
        let mut cleanup = DeleteOnDrop::new(&self.client, Leftover::Owned(me.clone()));
        let my_czxid = match self.create_own_node(&me).await {
            Ok(czxid) => czxid,
            Err(e) => {
                if e.is_node_exists() {
                    cleanup.disarm(); // someone else's node: nothing of ours to clean up
                }
                return Err(e);
            }
        };
        let ready = join(&self.path, READY);
        loop {
            let (ready_stat, watch) = retrying(|| self.client.exists_w(&ready)).await?;
            let participants = self.participants().await?;
            match ready_stat {
                Some(st) if st.czxid > my_czxid => {
                    // Released after we joined: our round.
                    if participants.len() > self.count {
                        self.check_rank(&participants, my_czxid, &mut cleanup)
                            .await?;
                    }
                    cleanup.disarm();
                    return Ok(());
                }
                Some(st) => {
                    // Older than our node: a finished or dead round's `ready`.
                    let czxids = self.czxids(&participants).await?;
                    if czxids.iter().any(|&(_, c)| c < st.czxid) {
                        // That round is still inside (or leaving). With more than `count`
                        // present we are one too many; otherwise wait until it is gone.
                        if participants.len() > self.count {
                            self.check_rank(&participants, my_czxid, &mut cleanup)
                                .await?;
                        }
                        self.wait_children_change().await?;
                    } else {
                        // Every member of that round is gone: the node is stale.
                        match self.client.delete(&ready, Some(st.version)).await {
                            Ok(()) => {}
                            Err(e)
                                if e.is_no_node()
                                    || e.code() == Some(crate::ErrorCode::BadVersion) => {}
                            Err(e) => retry_or_fail(e).await?, // look again first
                        }
                    }
                }
                None if participants.len() >= self.count => {
                    self.check_rank(&participants, my_czxid, &mut cleanup)
                        .await?;
                    match self
                        .client
                        .create_with_acl(&ready, b"", CreateMode::Persistent, self.acl.clone())
                        .await
                    {
                        Ok(_) => {
                            cleanup.disarm();
                            return Ok(());
                        }
                        Err(e) if e.is_node_exists() || e.is_retryable() => {} // look again
                        Err(e) => return Err(e),
                    }
                }
                None => {
                    // Fewer than `count`: wait for `ready` to appear.
                    watch.await?;
                }
            }
        }
    }

    /// Creates this participant's ephemeral node (and missing parents); returns its czxid.
    async fn create_own_node(&self, me: &str) -> Result<i64> {
        loop {
            match self
                .client
                .create_with_acl(me, b"", CreateMode::Ephemeral, self.acl.clone())
                .await
            {
                Ok((_, stat)) => return Ok(stat.czxid),
                Err(e) if e.is_no_node() => {
                    create_path(&self.client, &self.path, &self.acl).await?
                }
                Err(e) if e.is_node_exists() || e.is_retryable() => {
                    pause_if_local(&e).await;
                    // Ours (a create whose reply was lost) or another process's? After a
                    // connection loss, sync first: the new server may not have applied it yet.
                    let read = self.client.exists(me);
                    match after_sync_if(e.is_retryable(), &self.client, me, read).await {
                        Ok(Some(st)) if is_ours(&self.client, &st) => return Ok(st.czxid),
                        Ok(Some(_)) => return Err(Error::Server(crate::ErrorCode::NodeExists)),
                        Ok(None) => {}
                        Err(e) if e.is_retryable() => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Fails with [`Error::BarrierFull`] (removing our node) if `count` participants created
    /// their nodes before ours.
    async fn check_rank(
        &self,
        participants: &[String],
        my_czxid: i64,
        cleanup: &mut DeleteOnDrop,
    ) -> Result<()> {
        let czxids = self.czxids(participants).await?;
        let earlier = czxids.iter().filter(|&&(_, c)| c < my_czxid).count();
        if earlier >= self.count {
            let r = delete_if_owned(&self.client, &self.me()).await;
            cleanup.disarm();
            r?;
            return Err(Error::BarrierFull { count: self.count });
        }
        Ok(())
    }

    /// The participant ids present now (every child but `ready`), sorted.
    async fn participants(&self) -> Result<Vec<String>> {
        let listed = retrying(|| unless_no_node(self.client.get_children(&self.path))).await?;
        let mut ids = listed.map(|(children, _)| children).unwrap_or_default();
        ids.retain(|n| n != READY);
        ids.sort();
        Ok(ids)
    }

    /// (id, czxid) of each participant still present, in one round trip.
    async fn czxids(&self, participants: &[String]) -> Result<Vec<(String, i64)>> {
        let results = retrying(|| {
            let ops = participants
                .iter()
                .map(|p| ReadOp::GetData(join(&self.path, p)))
                .collect();
            self.client.multi_read(ops)
        })
        .await?;
        Ok(participants
            .iter()
            .zip(results)
            .filter_map(|(p, r)| match r {
                ReadResult::Data(_, st) => Some((p.clone(), st.czxid)),
                _ => None,
            })
            .collect())
    }

    /// Waits until the participants change; returns at once after a connection loss (the
    /// caller looks again).
    async fn wait_children_change(&self) -> Result<()> {
        match self.client.get_children_w(&self.path).await {
            Ok((_, _, w)) => w.await.map(drop),
            Err(e) => retry_or_fail(e).await,
        }
    }

    /// Waits until `name` is gone (or changes); returns at once if it is already gone.
    async fn wait_gone(&self, name: &str) -> Result<()> {
        match self.client.get_data_w(&join(&self.path, name)).await {
            Ok((_, _, w)) => w.await.map(drop),
            Err(e) if e.is_no_node() => Ok(()),
            Err(e) => retry_or_fail(e).await,
        }
    }

    /// Leaves the barrier: waits until every participant has left (or died). The lowest id
    /// leaves last; the others delete their node at once and wait for it. The barrier's nodes
    /// are removed after the last participant is gone.
    ///
    /// Only a node of this session counts as this participant: if another session holds a node
    /// under the same id (this one's `enter` failed), `leave` never deletes it; it waits for
    /// the barrier to empty like any non-participant.
    ///
    /// Cancel-safe: a dropped `leave` (a timeout around it) removes this participant's node,
    /// so the others are not left waiting for it.
    pub async fn leave(&self) -> Result<()> {
        self.check_args()?;
        let me = self.me();
        // A dropped `leave` (a timeout around it) still removes our node: we were leaving, and
        // the others wait for it to go (only if this session owns it).
        let mut cleanup = DeleteOnDrop::new(&self.client, Leftover::Owned(me.clone()));
        // Both in one round trip: the first listing and whether the node of our id is ours.
        let (first, mine) = tokio::join!(self.participants(), self.owns(&me));
        let (mut listed, mut mine) = (Some(first?), mine?);
        loop {
            let participants = match listed.take() {
                Some(p) => p,
                None => self.participants().await?,
            };
            let Some(lowest) = participants.first() else {
                break;
            };
            mine = mine && participants.contains(&self.id);
            let present = mine;
            if participants.len() == 1 && present {
                delete_if_owned(&self.client, &me).await?;
                break;
            }
            if present && *lowest == self.id {
                let highest = participants.last().expect("non-empty").clone();
                self.wait_gone(&highest).await?;
            } else {
                if present {
                    delete_if_owned(&self.client, &me).await?;
                    mine = false;
                }
                let lowest = lowest.clone();
                self.wait_gone(&lowest).await?;
            }
        }
        cleanup.disarm(); // our node is gone
        self.remove_barrier_nodes().await
    }

    /// True if `path` is an ephemeral node of this session.
    async fn owns(&self, path: &str) -> Result<bool> {
        let st = retrying(|| self.client.exists(path)).await?;
        Ok(st.is_some_and(|st| is_ours(&self.client, &st)))
    }

    /// Removes `ready` and the barrier node in one transaction, which succeeds only if no
    /// participant of a new round has entered meanwhile; any refusal means someone else did
    /// it or a new round started, both fine.
    async fn remove_barrier_nodes(&self) -> Result<()> {
        let ready = join(&self.path, READY);
        let both = vec![Op::delete(&ready, None), Op::delete(&self.path, None)];
        match self.client.multi(both).await {
            Ok(_) => Ok(()),
            Err(Error::MultiFailed { index: 0, .. }) => {
                match self.client.delete(&self.path, None).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.is_terminal() => Err(e),
                    Err(_) => Ok(()),
                }
            }
            Err(e) if e.is_terminal() => Err(e),
            Err(_) => Ok(()),
        }
    }
}
