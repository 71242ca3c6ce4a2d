//! The semaphores of Curator (InterProcessSemaphoreV2) and kazoo (Semaphore), followed step by
//! step so that zksync processes take permits beside theirs: both count every child of a
//! leases directory as a held permit, so a zksync process cannot queue there as it does in its
//! own layout. Instead, as they do, it takes the library's lock, and while holding it creates
//! its lease and waits (watching the leases) until the count lets it in; then it releases the
//! lock. Only the lock holder ever counts, which is what keeps the count right.

use super::cleanup::{delete_until_gone, DeleteOnDrop, Leftover};
use super::layout::{Layout, Role};
use super::lock_guard::LockGuard;
use super::lock_node::new_id;
use super::retry::{retry_or_fail, retrying};
use super::semaphore::Permit;
use super::support::{create_path, create_protected};
use crate::error::{Error, Result};
use crate::paths::join;
use crate::{Acl, Client, CreateMode, ErrorCode};

/// One acquire of a lease-style semaphore.
pub(crate) struct Leases<'a> {
    pub client: &'a Client,
    pub path: &'a str,
    pub max: usize,
    pub data: &'a [u8],
    pub acl: &'a [Acl],
    pub try_only: bool,
}

impl Leases<'_> {
    /// The library's lock, in its layout at `at`; `None` if `try_only` and it is taken.
    async fn lock(&self, at: &str, layout: Layout) -> Result<Option<LockGuard>> {
        let mutex = super::Mutex::new(self.client.clone(), at)
            .with_layout(layout)
            .with_acl(self.acl.to_vec())
            .with_data(self.data);
        if self.try_only {
            mutex.try_lock().await
        } else {
            mutex.lock().await.map(Some)
        }
    }

    /// Curator: the mutex `PATH/locks`, then a protected sequential lease
    /// `PATH/leases/_c_<uuid>-lease-<seq>`, admitted while the leases number at most `max`.
    pub(crate) async fn curator(&self) -> Result<Option<Permit>> {
        let client = self.client;
        let leases = join(self.path, "leases");
        let Some(lock) = self
            .lock(&join(self.path, "locks"), Layout::Curator)
            .await?
        else {
            return Ok(None);
        };
        let prefix = Layout::Curator.prefix(&new_id(), Role::Permit);
        // Armed before the create: a cancel may land while it is in flight.
        let mut cleanup = DeleteOnDrop::new(
            client,
            Leftover::Protected {
                dir: leases.clone(),
                prefix: prefix.clone(),
            },
        );
        let (name, czxid) =
            create_protected(client, &leases, &prefix, self.data, self.acl, false).await?;
        let node = join(&leases, &name);
        loop {
            let (children, _, watch) = retrying(|| client.get_children_w(&leases)).await?;
            if !children.contains(&name) {
                // Our ephemeral lease is gone: the session ended or someone deleted it.
                return Err(Error::Server(ErrorCode::NoNode));
            }
            if children.len() <= self.max {
                break;
            }
            if self.try_only {
                delete_until_gone(client, &node).await?;
                cleanup.disarm();
                lock.unlock().await?;
                return Ok(None);
            }
            watch.await?;
        }
        cleanup.disarm();
        let seq = Layout::Curator.parse(&name).map_or(0, |n| n.seq);
        let permit = Permit::new(client, node, czxid, seq);
        // If the lock cannot be released the session ended, and the lease with it.
        lock.unlock().await?;
        Ok(Some(permit))
    }

    /// kazoo: the lock `PATH-__lock__` (a sibling of `PATH`), then, once the children of `PATH`
    /// number less than `max`, an ephemeral lease `PATH/<32 hex>` (not sequential). The caller
    /// has checked `max` against `PATH`'s data, as kazoo does.
    pub(crate) async fn kazoo(&self) -> Result<Option<Permit>> {
        let client = self.client;
        let lock_path = format!("{}-__lock__", self.path);
        let Some(lock) = self.lock(&lock_path, Layout::Kazoo).await? else {
            return Ok(None);
        };
        loop {
            let (children, _, watch) = retrying(|| client.get_children_w(self.path)).await?;
            if children.len() < self.max {
                break;
            }
            if self.try_only {
                lock.unlock().await?;
                return Ok(None);
            }
            watch.await?;
        }
        let lease = join(self.path, &new_id());
        // Armed before the create: the name is known, and only our own node is deleted.
        let mut cleanup = DeleteOnDrop::new(client, Leftover::Owned(lease.clone()));
        let czxid = self.create_lease(&lease).await?;
        cleanup.disarm();
        let permit = Permit::new(client, lease, czxid, 0);
        lock.unlock().await?;
        Ok(Some(permit))
    }

    /// Creates the ephemeral lease `lease` and returns its czxid. After a connection loss the
    /// create may have gone through: a node of this session under the name means it did.
    async fn create_lease(&self, lease: &str) -> Result<i64> {
        let client = self.client;
        loop {
            let created = client
                .create_with_acl(lease, self.data, CreateMode::Ephemeral, self.acl.to_vec())
                .await;
            match created {
                Ok((_, stat)) => return Ok(stat.czxid),
                Err(e) if e.is_node_exists() => {
                    match retrying(|| client.exists(lease)).await? {
                        Some(st) if st.ephemeral_owner == client.session_id() => {
                            return Ok(st.czxid)
                        }
                        // Another session's node under our random name: cannot happen
                        // unless ids collide; refuse rather than take it.
                        Some(_) => return Err(e),
                        None => {} // deleted meanwhile: create again
                    }
                }
                Err(e) if e.is_no_node() => create_path(client, self.path, self.acl).await?,
                Err(e) => {
                    retry_or_fail(e).await?;
                    // The reply was lost: the next create says NodeExists if it went through.
                }
            }
        }
    }
}
