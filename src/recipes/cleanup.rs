//! Removing a recipe's own nodes: the deletes that survive connection loss, and the one
//! delete-on-drop guard every recipe uses for cancel-safety and for guards that are dropped.
//!
//! Rule kept here: a recipe deletes only nodes its own session created. Each kind of
//! [`Leftover`] says how that is known (a protected id in the name, the node's ephemeral owner,
//! or a sequential name only this session's create can have produced).

use super::retry::{retrying, unless_no_node};
use super::support::find_own;
use crate::error::Result;
use crate::paths::join;
use crate::Client;
use crate::{ErrorCode, Stat};

/// True if `stat` is that of an ephemeral node of this client's session: the owner check
/// before deleting a node whose name another session could hold too.
pub(crate) fn is_ours(client: &Client, stat: &Stat) -> bool {
    stat.ephemeral_owner == client.session_id()
}

/// Deletes `path`, retrying through connection loss until the node is gone or the session is
/// known dead (then its ephemeral nodes are gone or going anyway, and the error says so). Only
/// for a node this session made under a name nobody else can have (a sequential one).
pub(crate) async fn delete_until_gone(client: &Client, path: &str) -> Result<()> {
    // Repeating the delete is safe: `NoNode` after a lost reply means the first one went through.
    retrying(|| unless_no_node(client.delete(path, None)))
        .await
        .map(drop)
}

/// Deletes every child of `dir` created by the attempt with protected prefix `prefix` (the
/// clean-up of a cancelled acquire,
/// which may not know whether its create reached the server). Looks after a `sync` (see
/// [`find_own`]), so a create applied on another server is found too.
pub(crate) async fn delete_own(client: &Client, dir: &str, prefix: &str) -> Result<()> {
    while let Some((name, _)) = find_own(client, dir, prefix).await? {
        delete_until_gone(client, &join(dir, &name)).await?;
    }
    Ok(())
}

/// Deletes `path` if it is an ephemeral node of this client's session, retrying through
/// connection loss; leaves a node of any other owner alone. For nodes named by the caller (a
/// double-barrier participant id), which another session may hold under the same name.
pub(crate) async fn delete_if_owned(client: &Client, path: &str) -> Result<()> {
    loop {
        // The delete names the version the look saw, so it cannot remove a node that another
        // session created in between.
        let deleted = retrying(|| {
            unless_no_node(async move {
                match client.exists(path).await? {
                    Some(st) if is_ours(client, &st) => client.delete(path, Some(st.version)).await,
                    _ => Ok(()),
                }
            })
        })
        .await;
        match deleted {
            // Changed between the look and the delete: look again.
            Err(e) if e.code() == Some(ErrorCode::BadVersion) => {}
            done => return done.map(drop),
        }
    }
}

/// What an abandoned attempt, or a dropped guard, must remove.
#[derive(Debug)]
pub(crate) enum Leftover {
    /// The children of `dir` whose names start with the attempt's protected prefix (which
    /// carries its random id): an acquire that may not know whether its create reached the
    /// server ([`delete_own`]).
    Protected { dir: String, prefix: String },
    /// The node at this path, if it is an ephemeral of this session: a name chosen by the
    /// caller, which another session may hold ([`delete_if_owned`]).
    Owned(String),
    /// The node at this path, which this session created under a sequential name only it can
    /// have: a held lock's node ([`delete_until_gone`]).
    Created(String),
}

impl Leftover {
    async fn remove(self, client: &Client) -> Result<()> {
        match self {
            Leftover::Protected { dir, prefix } => delete_own(client, &dir, &prefix).await,
            Leftover::Owned(path) => delete_if_owned(client, &path).await,
            Leftover::Created(path) => delete_until_gone(client, &path).await,
        }
    }
}

/// Removes a [`Leftover`] when dropped while armed. It makes acquire/enter futures cancel-safe
/// (a `timeout` or `select!` dropping them leaves nothing behind) and releases a lock whose
/// guard is dropped without `unlock`.
///
/// The deletes are handed to the client's driver ([`Client::background`]), so a drop outside
/// a runtime, or while the runtime shuts down, still sends them (as long as the session
/// lives), and a close sends them before closeSession. Arm it *before* the create it covers:
/// a cancel may land while the create is in flight, and the leftover's own look finds (or
/// rules out) the node then.
#[derive(Debug)]
pub(crate) struct DeleteOnDrop {
    client: Client,
    leftover: Option<Leftover>,
}

impl DeleteOnDrop {
    pub(crate) fn new(client: &Client, leftover: Leftover) -> Self {
        DeleteOnDrop {
            client: client.clone(),
            leftover: Some(leftover),
        }
    }

    /// Nothing to do on drop any more: the attempt succeeded (its node now belongs to a guard),
    /// removed its node itself, or learned it created none.
    pub(crate) fn disarm(&mut self) {
        self.leftover = None;
    }
}

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        let Some(leftover) = self.leftover.take() else {
            return;
        };
        let client = self.client.clone();
        self.client.background(async move {
            // Nobody is left to tell: a session that ended took its ephemeral nodes with it.
            let _ = leftover.remove(&client).await;
        });
    }
}
