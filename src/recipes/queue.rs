//! The queue every waiting recipe stands in: a lock, a semaphore, an election. One ephemeral
//! sequential node per attempt, created protected; the recipe decides from the listing which
//! earlier nodes this one must wait for, and the attempt watches exactly those (one for a lock
//! or an election, the `max` nearest for a semaphore), never the whole directory.
//!
//! Cancel-safe: the attempt's node is removed by a [`DeleteOnDrop`] armed before the create,
//! so a dropped acquire (a timeout, a `select!`) leaves nothing behind.

use super::cleanup::{delete_until_gone, DeleteOnDrop, Leftover};
use super::layout::{Layout, Role};
use super::lock_node::{self, NodeRef, QueueKind, QueueNode};
use super::retry::{pause_if_local, retry_or_fail, retrying};
use super::support::{basename, create_protected};
use crate::error::{Error, Result};
use crate::paths::join;
use crate::{Acl, ChildNames, Client, CreateMode};
use std::collections::HashSet;
use tokio::task::JoinSet;

/// One attempt to get into a queue.
pub(crate) struct Attempt<'a> {
    pub client: &'a Client,
    /// The queue's directory (created with missing parents on first use).
    pub dir: &'a str,
    /// Whose names the nodes follow.
    pub layout: Layout,
    /// What this attempt's node stands for.
    pub role: Role,
    /// Stored in the node (the holder's id for operators and observers).
    pub data: &'a [u8],
    pub acl: &'a [Acl],
    /// Give up (remove the node, return `None`) instead of waiting.
    pub try_only: bool,
}

/// A node that reached the head of its queue: its parsed name and czxid (the fencing token).
pub(crate) struct Admitted {
    pub node: QueueNode,
    pub czxid: i64,
}

impl Attempt<'_> {
    /// Creates the attempt's node and waits until `blockers` returns no names: `blockers`
    /// gets every parsed queue node in the directory (any kind: it picks those that count) and
    /// this attempt's own, both borrowing the listing's names, and names the nodes it must
    /// still wait for. `Ok(None)` only with `try_only`, when it would have had to wait (its
    /// node is removed then).
    pub(crate) async fn run(
        &self,
        blockers: impl Fn(&[NodeRef<'_>], &NodeRef<'_>) -> Vec<String>,
    ) -> Result<Option<Admitted>> {
        let client = self.client;
        let id = lock_node::new_id();
        let prefix = self.layout.prefix(&id, self.role);
        // Armed before the create: a cancel may land while it is in flight.
        let mut cleanup = DeleteOnDrop::new(
            client,
            Leftover::Protected {
                dir: self.dir.to_string(),
                prefix: prefix.clone(),
            },
        );
        let (my_name, czxid, mut listing) = match self.fast_path(&prefix).await {
            Ok(queued) => queued,
            Err(e) if e.is_no_node() || e.is_retryable() => {
                pause_if_local(&e).await;
                // After a connection loss the create may have been applied: adopt our node
                // (found by the id in its name) rather than leaving an orphan behind.
                let look_first = e.is_retryable();
                let (name, czxid) =
                    create_protected(client, self.dir, &prefix, self.data, self.acl, look_first)
                        .await?;
                (name, czxid, None)
            }
            Err(e) => {
                cleanup.disarm(); // refused by the server: nothing was created
                return Err(e);
            }
        };
        let me = self
            .layout
            .parse(&my_name)
            .ok_or_else(|| Error::Protocol(format!("server named the queue node {my_name:?}")))?;

        // The watches armed so far, by node name; each task ends when its node changes.
        let mut armed: HashSet<String> = HashSet::new();
        let mut fired: JoinSet<(String, Result<()>)> = JoinSet::new();
        loop {
            let children = match listing.take() {
                Some(c) => c,
                None => retrying(|| client.get_children_names(self.dir)).await?.0,
            };
            // The listing is used up here, before any wait: a waiter keeps only the names it
            // waits for, never the queue (at 1,000 contenders a listing is some 56 KB of names,
            // and a `ChildNames` keeps the whole reply frame they sit in, and the read buffer
            // it was cut from, per waiting session).
            let Some(wait_for) = self.decide(children, &me, &blockers) else {
                // Our ephemeral node is gone: the session expired or someone deleted it.
                return Err(Error::Server(crate::ErrorCode::NoNode));
            };
            if wait_for.is_empty() {
                cleanup.disarm();
                return Ok(Some(Admitted { node: me, czxid }));
            }
            if self.try_only {
                let result = delete_until_gone(client, &join(self.dir, &me.name)).await;
                cleanup.disarm();
                return result.map(|()| None);
            }
            if self.arm(&wait_for, &mut armed, &mut fired).await? {
                continue; // one was gone already: the queue moved, look again
            }
            // Every node waited for has a watch: the first to change sends us round again.
            // (A watch task cannot panic; if the runtime is shutting down, look again.)
            if let Some(Ok((name, outcome))) = fired.join_next().await {
                armed.remove(&name);
                outcome?;
            }
        }
    }

    /// The nodes this attempt (`me`) must still wait for according to `children` (a listing
    /// of the queue, consumed), or `None` if `me` is not in it. Not async, so that nothing of
    /// the listing can live on across the wait that follows. The nodes borrow their names
    /// from the listing: only the names returned (the few waited for) are copied out.
    fn decide(
        &self,
        children: ChildNames,
        me: &QueueNode,
        blockers: impl Fn(&[NodeRef<'_>], &NodeRef<'_>) -> Vec<String>,
    ) -> Option<Vec<String>> {
        let nodes: Vec<NodeRef<'_>> = children
            .iter()
            .filter_map(|c| self.layout.parse_ref(c))
            .collect();
        let me = me.borrowed();
        nodes
            .iter()
            .any(|n| n.name == me.name)
            .then(|| blockers(&nodes, &me))
    }

    /// Sets a watch on each node of `wait_for` not watched yet. getData sets no watch on a
    /// missing node, so a node that is already gone leaves no dangling watch: returns true
    /// then (look again). Retryable failures also say "look again": the queue may have moved
    /// while the connection was down.
    async fn arm(
        &self,
        wait_for: &[String],
        armed: &mut HashSet<String>,
        fired: &mut JoinSet<(String, Result<()>)>,
    ) -> Result<bool> {
        for name in wait_for {
            if armed.contains(name) {
                continue;
            }
            match self.client.get_data_w(&join(self.dir, name)).await {
                Ok((_, _, watch)) => {
                    armed.insert(name.clone());
                    let name = name.clone();
                    fired.spawn(async move { (name, watch.await.map(drop)) });
                }
                Err(e) if e.is_no_node() => return Ok(true),
                Err(e) => {
                    retry_or_fail(e).await?;
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The fast path: creates this attempt's node and lists the queue in one round trip (the
    /// server answers in order, so the listing already holds the new node). Returns the
    /// node's name and czxid, and the listing unless that failed. A failed create comes back
    /// as it is: only the caller knows what to do about it (after a connection loss the node
    /// may exist: look for it by its id; a refusal created nothing).
    async fn fast_path(&self, prefix: &str) -> Result<(String, i64, Option<ChildNames>)> {
        let create_path = join(self.dir, prefix);
        let (created, listed) = tokio::join!(
            self.client.create_with_acl(
                &create_path,
                self.data,
                CreateMode::EphemeralSequential,
                self.acl.to_vec()
            ),
            self.client.get_children_names(self.dir),
        );
        let (path, stat) = created?;
        let listing = listed.ok().map(|(children, _)| children);
        Ok((basename(&path).to_string(), stat.czxid, listing))
    }
}

/// The nodes of `kinds` that come before `me` in the queue, nearest last.
pub(crate) fn earlier<'a, 'n>(
    nodes: &'a [NodeRef<'n>],
    me: &NodeRef<'_>,
    kinds: &[QueueKind],
) -> Vec<&'a NodeRef<'n>> {
    let mut before: Vec<&NodeRef<'n>> = nodes
        .iter()
        .filter(|n| n.seq < me.seq && kinds.contains(&n.kind))
        .collect();
    before.sort_by_key(|n| n.seq);
    before
}
