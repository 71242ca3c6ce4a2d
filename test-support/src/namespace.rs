//! Clients to the ensemble under test and a unique namespace per test, removed afterwards;
//! tests that stop servers take the ensemble exclusively.

use crate::{delete_tree, guard, peers};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use zksync::{Client, ConnectOptions, CreateMode};

/// The peers as a list.
pub fn peer_list() -> Vec<String> {
    peers().split(',').map(str::to_string).collect()
}

/// Session timeout used by tests that do not care (short enough for quick expiry tests).
pub const TEST_SESSION: Duration = Duration::from_secs(4);

/// A client with the test session timeout, to `hosts`.
pub async fn client_to(hosts: &str) -> Client {
    ConnectOptions::default()
        .session_timeout(TEST_SESSION)
        .connect(hosts)
        .await
        .unwrap_or_else(|e| panic!("connect to {hosts}: {e}"))
}

/// A client to the whole ensemble, caught up with the leader: a new session on a lagging
/// follower would otherwise not yet see what the test set up through another session.
pub async fn client() -> Client {
    let c = client_to(&peers()).await;
    catch_up(&c, "/").await;
    c
}

/// Awaits `f`, failing the test (instead of hanging it) if it takes longer than [`GUARD`](crate::GUARD).
pub async fn within<F: Future>(what: &str, f: F) -> F::Output {
    guard(what, f).await
}

// ----- ensemble sharing -----

/// Tests that stop ensemble nodes take this exclusively; every other test that talks to the
/// ensemble holds it shared (through its [`Namespace`]), so a stopped server never breaks an
/// unrelated test running in parallel.
static ENSEMBLE: RwLock<()> = RwLock::const_new(());

/// A [`Namespace`]'s hold on [`ENSEMBLE`]: kept for as long as the namespace lives, never read.
#[allow(dead_code)]
enum EnsembleGuard {
    Shared(RwLockReadGuard<'static, ()>),
    Exclusive(RwLockWriteGuard<'static, ()>),
}

/// A shared hold on the ensemble without a namespace, for a test that needs every server up
/// but writes nothing (a connect that must fail, say): no exclusive test stops a server while
/// it is held. Not while making a [`Namespace`] in the same test: the namespace takes its own
/// hold, and a queued exclusive test between the two would wait for the first while the
/// second waits for it.
pub struct EnsembleUp(#[allow(dead_code)] RwLockReadGuard<'static, ()>);

impl EnsembleUp {
    /// Waits until no test holds the ensemble exclusively.
    pub async fn hold() -> EnsembleUp {
        EnsembleUp(ENSEMBLE.read().await)
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique namespace below `/zksync-test`, created on construction; `cleanup` removes it
/// with everything below.
pub struct Namespace {
    pub root: String,
    pub admin: Client,
    _guard: EnsembleGuard,
}

impl Namespace {
    /// A namespace for a test that leaves the ensemble alone (runs in parallel with others).
    pub async fn new(name: &str) -> Namespace {
        let guard = EnsembleGuard::Shared(ENSEMBLE.read().await);
        Self::make(name, &peers(), guard, TEST_SESSION).await
    }

    /// A namespace for a test that stops or starts servers: waits until no other test uses the
    /// ensemble, and keeps them out until `cleanup`. Its admin client talks to `admin_hosts`.
    pub async fn exclusive(name: &str, admin_hosts: &str) -> Namespace {
        let guard = EnsembleGuard::Exclusive(ENSEMBLE.write().await);
        // Exclusive tests stop servers: a leader election on a busy 2-core machine can take
        // longer than TEST_SESSION (5.5 s seen), which would expire the admin session.
        Self::make(name, admin_hosts, guard, Duration::from_secs(30)).await
    }

    /// A namespace whose admin client the test connected itself (with SASL or Kerberos
    /// credentials, say), for a test that leaves its ensemble alone.
    pub async fn with_admin(name: &str, admin: Client) -> Namespace {
        let guard = EnsembleGuard::Shared(ENSEMBLE.read().await);
        Self::make_with(name, admin, guard).await
    }

    /// [`Namespace::with_admin`] for a test that stops or starts servers (as
    /// [`Namespace::exclusive`]).
    pub async fn exclusive_with_admin(name: &str, admin: Client) -> Namespace {
        let guard = EnsembleGuard::Exclusive(ENSEMBLE.write().await);
        Self::make_with(name, admin, guard).await
    }

    async fn make(name: &str, hosts: &str, guard: EnsembleGuard, session: Duration) -> Namespace {
        let admin = ConnectOptions::default()
            .session_timeout(session)
            .connect(hosts)
            .await
            .unwrap_or_else(|e| panic!("connect to {hosts}: {e}"));
        Self::make_with(name, admin, guard).await
    }

    async fn make_with(name: &str, admin: Client, guard: EnsembleGuard) -> Namespace {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let root = format!("/zksync-test/{name}-{}-{n}-{nanos:x}", std::process::id());
        let _ = admin
            .create("/zksync-test", b"", CreateMode::Persistent)
            .await;
        admin
            .create(&root, b"", CreateMode::Persistent)
            .await
            .expect("create namespace");
        Namespace {
            root,
            admin,
            _guard: guard,
        }
    }

    /// `root/rel`.
    pub fn path(&self, rel: &str) -> String {
        format!("{}/{}", self.root, rel)
    }

    /// The admin client, after it has caught up with the leader. ZooKeeper promises each session
    /// only its own order: another session's writes (or the ephemeral deletions of its close)
    /// may not yet have reached the admin's server. Use this before reading what others did.
    pub async fn synced_admin(&self) -> &Client {
        catch_up(&self.admin, &self.root).await;
        &self.admin
    }

    /// Removes the namespace and everything below it.
    pub async fn cleanup(self) {
        catch_up(&self.admin, &self.root).await;
        delete_tree(&self.admin, &self.root)
            .await
            .unwrap_or_else(|e| panic!("delete namespace {}: {e}", self.root));
        self.admin.close().await;
    }
}

/// Makes `client`'s server catch up with the leader (`sync` on `existing`, a path that exists), so
/// its next reads see every write committed before this call, whichever session made it.
pub async fn catch_up(client: &Client, existing: &str) {
    client
        .sync(existing)
        .await
        .unwrap_or_else(|e| panic!("sync {existing}: {e}"));
}
