//! Shared helpers of the integration tests: where the ensemble is, a unique namespace per
//! test that is removed afterwards, hang guards, a cuttable TCP forwarder, control of single
//! ensemble nodes, a panic probe and the digest-ACL id computation.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::task::AbortHandle;
use zksync::{Client, ConnectOptions, CreateMode};

#[path = "../../test-support/wait.rs"]
mod wait;
pub use wait::*;
#[path = "../../test-support/ensemble.rs"]
mod ensemble;
pub use ensemble::*;

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

/// Awaits `f`, failing the test (instead of hanging it) if it takes longer than [`GUARD`].
pub async fn within<F: Future>(what: &str, f: F) -> F::Output {
    guard(what, f).await
}

// ----- ensemble sharing -----

/// Tests that stop ensemble nodes take this exclusively; every other test that talks to the
/// ensemble holds it shared (through its [`Namespace`]), so a stopped server never breaks an
/// unrelated test running in parallel.
static ENSEMBLE: RwLock<()> = RwLock::const_new(());

enum EnsembleGuard {
    Shared(RwLockReadGuard<'static, ()>),
    Exclusive(RwLockWriteGuard<'static, ()>),
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

    async fn make(name: &str, hosts: &str, guard: EnsembleGuard, session: Duration) -> Namespace {
        let admin = ConnectOptions::default()
            .session_timeout(session)
            .connect(hosts)
            .await
            .unwrap_or_else(|e| panic!("connect to {hosts}: {e}"));
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
        delete_tree(&self.admin, &self.root).await;
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

/// Deletes `path` and its subtree (retrying while children come and go).
pub async fn delete_tree(client: &Client, path: &str) {
    for _ in 0..20 {
        let children = match client.get_children(path).await {
            Ok((c, _)) => c,
            Err(e) if e.is_no_node() => return,
            Err(e) => panic!("list {path}: {e}"),
        };
        for c in children {
            Box::pin(delete_tree(client, &format!("{path}/{c}"))).await;
        }
        match client.delete(path, None).await {
            Ok(()) => return,
            Err(e) if e.is_no_node() => return,
            Err(_) => continue,
        }
    }
    panic!("could not delete {path}");
}

// ----- a cuttable TCP forwarder -----

/// A TCP forwarder on 127.0.0.1 to one upstream server. `cut` drops every forwarded connection
/// and, until `restore`, closes new ones right after accepting them: the client loses its
/// connection (and cannot get a new one) while its session lives on in the ensemble.
pub struct Forwarder {
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
    accepted: Arc<AtomicUsize>,
    acceptor: AbortHandle,
}

impl Forwarder {
    pub async fn start(upstream: &str) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let accepted = Arc::new(AtomicUsize::new(0));
        let upstream = upstream.to_string();
        let (c2, k2, a2) = (cut.clone(), conns.clone(), accepted.clone());
        let acceptor = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                a2.fetch_add(1, Ordering::SeqCst);
                if c2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut out) = TcpStream::connect(&upstream).await {
                        let _ = out.set_nodelay(true);
                        let _ = inbound.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                k2.lock().unwrap().push(task.abort_handle());
            }
        })
        .abort_handle();
        Forwarder {
            addr,
            cut,
            conns,
            accepted,
            acceptor,
        }
    }

    /// The connect string for this forwarder.
    pub fn hosts(&self) -> String {
        self.addr.to_string()
    }

    /// Drops every forwarded connection; new ones are closed at once until `restore`.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.acceptor.abort();
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }
}

// ----- ensemble node control -----

/// The client addresses of the local ensemble's nodes, by 1-based index (from the script).
pub async fn ensemble_nodes() -> Vec<String> {
    run_ensemble_async(&["peers"])
        .await
        .split(',')
        .map(str::to_string)
        .collect()
}

/// The 1-based index of the current leader.
pub async fn ensemble_leader() -> usize {
    run_ensemble_async(&["leader"])
        .await
        .parse()
        .expect("leader index")
}

/// A node stopped by a test: restarted by `restart`, or on drop (even when the test panics).
pub struct StoppedNode {
    index: usize,
    restarted: bool,
}

impl StoppedNode {
    /// Stops node `index` gracefully (SIGTERM) and waits until it is gone.
    pub async fn stop(index: usize) -> StoppedNode {
        run_ensemble_async(&["stop-node", &index.to_string()]).await;
        StoppedNode {
            index,
            restarted: false,
        }
    }

    /// Kills node `index` with SIGKILL.
    pub async fn kill(index: usize) -> StoppedNode {
        run_ensemble_async(&["kill-node", &index.to_string()]).await;
        StoppedNode {
            index,
            restarted: false,
        }
    }

    /// Starts the node again and waits until it serves.
    pub async fn restart(mut self) {
        self.restarted = true;
        run_ensemble_async(&["start-node", &self.index.to_string()]).await;
    }
}

impl Drop for StoppedNode {
    fn drop(&mut self) {
        // No panic here: this may run while the test is already unwinding.
        if !self.restarted {
            if let Err(e) = try_run_ensemble(&["start-node", &self.index.to_string()]) {
                eprintln!("restarting node {}: {e}", self.index);
            }
        }
    }
}

/// Which of `hosts` holds a connection of session `sid` (by the `cons` four-letter word).
pub async fn host_of_session(hosts: &[String], sid: i64) -> Option<usize> {
    let needle = format!("sid=0x{sid:x},");
    for (i, h) in hosts.iter().enumerate() {
        if four_letter(h, "cons")
            .await
            .is_some_and(|out| out.contains(&needle))
        {
            return Some(i);
        }
    }
    None
}

// ----- panic probe -----

// ----- digest ids -----

/// The id of a digest ACL for `user:password`: `user:base64(sha1("user:password"))`.
pub fn digest_id(user: &str, password: &str) -> String {
    format!(
        "{user}:{}",
        base64(&sha1(format!("{user}:{password}").as_bytes()))
    )
}

/// SHA-1 (FIPS 180-4), small and slow; only for digest ids in tests.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[test]
fn sha1_and_base64_vectors() {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(
        hex(&sha1(b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_eq!(
        hex(&sha1(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
    );
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    // The superDigest example from ZooKeeper's administrator guide (super:test).
    assert_eq!(
        digest_id("super", "test"),
        "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
    );
}
