//! Helpers of the fault tests: the Toxiproxy client (blocking, so always called off the async
//! runtime), control of ensemble nodes, and the [`Fault`] fixture that serialises the fault
//! tests and undoes every fault and namespace even when a test fails.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use toxiproxy_rust::client::Client as Toxiproxy;
use zksync::{Client, ConnectOptions, CreateMode, SessionState};

pub use zksync_test_support::ensemble::*;
pub use zksync_test_support::tree::delete_tree;
pub use zksync_test_support::wait::*;

// ----- environment -----

/// The Toxiproxy (or compatible) HTTP API (`TOXIPROXY`), default 127.0.0.1:8474.
pub fn toxiproxy_addr() -> String {
    std::env::var("TOXIPROXY").unwrap_or_else(|_| "127.0.0.1:8474".to_string())
}

// ----- time -----

/// ZooKeeper's tick in the local ensemble (scripts/ensemble: tickTime=250).
pub const TICK: Duration = Duration::from_millis(250);

/// Records every state transition of a client from now on (for "never left Connected").
pub struct StateLog {
    seen: Arc<Mutex<Vec<SessionState>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StateLog {
    pub fn start(c: &Client) -> StateLog {
        let mut changes = c.state_changes();
        let seen: Arc<Mutex<Vec<SessionState>>> = Arc::default();
        let s2 = seen.clone();
        let task = tokio::spawn(async move {
            while let Some(s) = changes.next().await {
                s2.lock().unwrap().push(s);
            }
        });
        StateLog { seen, task }
    }

    pub fn states(&self) -> Vec<SessionState> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for StateLog {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ----- clients -----

/// A client to `hosts` (comma-separated) with session timeout `t`.
pub async fn connect(hosts: &str, t: Duration) -> Client {
    guard(
        &format!("connect to {hosts}"),
        ConnectOptions::default().session_timeout(t).connect(hosts),
    )
    .await
    .unwrap_or_else(|e| panic!("connect to {hosts}: {e}"))
}

/// The node (1-based) holding a connection of `c`'s session, by the servers' `cons` output.
pub async fn node_of(c: &Client) -> Option<usize> {
    node_of_among(c, &[]).await
}

/// [`node_of`], asking only `nodes` (all of them if empty): a paused node would not answer.
pub async fn node_of_among(c: &Client, nodes: &[usize]) -> Option<usize> {
    let needle = format!("sid=0x{:x},", c.session_id());
    for (i, h) in peers().split(',').enumerate() {
        if !nodes.is_empty() && !nodes.contains(&(i + 1)) {
            continue;
        }
        if four_letter(h, "cons")
            .await
            .is_some_and(|out| out.contains(&needle))
        {
            return Some(i + 1);
        }
    }
    None
}

/// Waits until `c` is connected and a server lists its connection; returns that node.
pub async fn connected_node(c: &Client) -> usize {
    wait_state(c, "connected", |s| s.is_connected()).await;
    guard("server lists the connection", async {
        loop {
            if let Some(n) = node_of(c).await {
                return n;
            }
            // The server's connection list, polled: there is no event for it.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

// ----- Toxiproxy -----

/// The process-wide Toxiproxy client. Never dropped: reqwest's blocking client must not be
/// created or dropped on an async runtime thread, so it lives here and is used only from
/// `spawn_blocking` threads.
fn toxiproxy() -> &'static Toxiproxy {
    static CLIENT: OnceLock<Toxiproxy> = OnceLock::new();
    CLIENT.get_or_init(|| Toxiproxy::new(toxiproxy_addr().as_str()))
}

/// Runs a blocking Toxiproxy call off the async runtime.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce(&Toxiproxy) -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(move || f(toxiproxy()))
        .await
        .expect("toxiproxy call panicked")
}

/// One of the proxies `zk1..zk5` in front of the ensemble.
#[derive(Debug, Clone)]
pub struct ProxyInfo {
    /// `zk<node>`.
    pub name: String,
    /// The node (1-based) it forwards to.
    pub node: usize,
    /// Where clients connect: the Toxiproxy host with the proxy's listen port.
    pub addr: String,
}

/// A toxic to add, with Toxiproxy's attribute names.
#[derive(Debug, Clone, Copy)]
pub enum Toxic {
    /// Every chunk delayed by this many milliseconds.
    Latency { ms: u32 },
    /// Data stops flowing; the connection closes after `ms` (0: never).
    Timeout { ms: u32 },
    /// Chunks of `avg` ± `var` bytes, `delay_us` microseconds apart.
    Slicer { avg: u32, var: u32, delay_us: u32 },
    /// The connection closes after `bytes` bytes.
    LimitData { bytes: u32 },
    /// Data passes at `rate_kb` KB/s (Toxiproxy's KB: 1000 bytes).
    Bandwidth { rate_kb: u32 },
    /// `timeout_ms` after data reaches the toxic, the connection is reset (closed with
    /// SO_LINGER 0: a TCP RST, not a FIN); the data is dropped.
    ResetPeer { timeout_ms: u32 },
}

impl Toxic {
    fn type_name(self) -> &'static str {
        match self {
            Toxic::Latency { .. } => "latency",
            Toxic::Timeout { .. } => "timeout",
            Toxic::Slicer { .. } => "slicer",
            Toxic::LimitData { .. } => "limit_data",
            Toxic::Bandwidth { .. } => "bandwidth",
            Toxic::ResetPeer { .. } => "reset_peer",
        }
    }
}

/// `upstream` (client to server) or `downstream` (server to client).
pub const UP: &str = "upstream";
pub const DOWN: &str = "downstream";

fn host_of(addr: &str) -> String {
    addr.rsplit_once(':').map_or(addr, |(h, _)| h).to_string()
}

fn port_of(addr: &str) -> String {
    addr.rsplit_once(':').map_or("", |(_, p)| p).to_string()
}

/// Lists the proxies `zk1..zkN`, sorted by node; fails the test if there are none.
pub async fn proxies() -> Vec<ProxyInfo> {
    let all = blocking(|t| t.all()).await;
    let all = all.unwrap_or_else(|e| {
        panic!(
            "no Toxiproxy at TOXIPROXY={} ({e}); scripts/test starts one",
            toxiproxy_addr()
        )
    });
    let host = host_of(&toxiproxy_addr());
    let mut out: Vec<ProxyInfo> = all
        .iter()
        .filter_map(|(name, p)| {
            let node: usize = name.strip_prefix("zk")?.parse().ok()?;
            Some(ProxyInfo {
                name: name.clone(),
                node,
                addr: format!("{host}:{}", port_of(&p.proxy_pack.listen)),
            })
        })
        .collect();
    out.sort_by_key(|p| p.node);
    // The proxies go away with the blocking client's Arc clones: drop them off the runtime.
    tokio::task::spawn_blocking(move || drop(all))
        .await
        .expect("drop");
    out
}

/// Enables or disables proxy `name` (disabled: its listener and every connection are closed)
/// and checks that the server did it.
pub async fn set_enabled(name: &str, enabled: bool) {
    let name = name.to_string();
    blocking(move |t| {
        let p = t.find_proxy(&name).expect("find proxy");
        if enabled { p.enable() } else { p.disable() }.expect("toggle proxy");
        let now = t.find_proxy(&name).expect("find proxy").proxy_pack.enabled;
        assert_eq!(now, enabled, "proxy {name} still enabled={now}");
    })
    .await
}

/// Adds `toxic` to `stream` of proxy `name` and checks that it is listed.
pub async fn add_toxic(name: &str, stream: &str, toxic: Toxic) {
    let (name, stream) = (name.to_string(), stream.to_string());
    blocking(move |t| {
        let p = t.find_proxy(&name).expect("find proxy");
        let s = stream.clone();
        match toxic {
            Toxic::Latency { ms } => p.with_latency(s, ms, 0, 1.0),
            Toxic::Timeout { ms } => p.with_timeout(s, ms, 1.0),
            Toxic::Slicer { avg, var, delay_us } => p.with_slicer(s, avg, var, delay_us, 1.0),
            Toxic::LimitData { bytes } => p.with_limit_data(s, bytes, 1.0),
            Toxic::Bandwidth { rate_kb } => p.with_bandwidth(s, rate_kb, 1.0),
            // toxiproxy_rust has no method for it: Toxiproxy's JSON, posted directly.
            Toxic::ResetPeer { timeout_ms } => {
                post_toxic(
                    &name,
                    &format!(
                        r#"{{"name":"reset_peer_{s}","type":"reset_peer","stream":"{s}","toxicity":1.0,"attributes":{{"timeout":{timeout_ms}}}}}"#
                    ),
                );
                &p
            }
        };
        let want = format!("{}_{stream}", toxic.type_name());
        let listed = p.toxics().expect("list toxics");
        assert!(
            listed.iter().any(|x| x.name == want),
            "toxic {want} not listed on {name} after creating it: {listed:?}"
        );
    })
    .await
}

/// `POST /proxies/{proxy}/toxics` with `body` (blocking: call it off the async runtime); fails
/// the test unless the answer is 200.
fn post_toxic(proxy: &str, body: &str) {
    use std::io::{Read, Write};
    let addr = toxiproxy_addr();
    let mut s = std::net::TcpStream::connect(&addr)
        .unwrap_or_else(|e| panic!("connect to Toxiproxy at {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    write!(
        s,
        "POST /proxies/{proxy}/toxics HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send toxic");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("Toxiproxy's answer");
    let status = answer.split_whitespace().nth(1).unwrap_or("");
    assert_eq!(status, "200", "adding toxic {body} to {proxy}: {answer}");
}

/// Removes every toxic of proxy `name`.
pub async fn clear_toxics(name: &str) {
    let name = name.to_string();
    blocking(move |t| {
        let p = t.find_proxy(&name).expect("find proxy");
        p.delete_all_toxics().expect("delete toxics");
        assert!(p.toxics().expect("list toxics").is_empty());
    })
    .await
}

/// Enables every proxy and removes every toxic.
pub async fn reset_proxies() {
    blocking(|t| t.reset().expect("toxiproxy reset")).await
}

// ----- ensemble nodes -----

/// Starts the given nodes at once and waits until every one serves (a node alone cannot
/// serve without a quorum, so starting several one after the other could wait forever).
fn start_nodes_blocking(nodes: &[usize]) {
    let handles: Vec<_> = nodes
        .iter()
        .map(|&i| std::thread::spawn(move || run_ensemble(&["start-node", &i.to_string()])))
        .collect();
    for h in handles {
        h.join().expect("start-node");
    }
}

/// Nodes the ensemble script reports as down, paused or not serving; the paused ones apart.
fn unhealthy_nodes() -> (Vec<usize>, Vec<usize>) {
    let out = std::process::Command::new(ensemble_script())
        .arg("status")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {} status: {e}", ensemble_script()));
    let index = |l: &str| l.split_whitespace().nth(1)?.parse().ok();
    let out = String::from_utf8_lossy(&out.stdout);
    let unhealthy = out
        .lines()
        .filter(|l| l.ends_with(" down") || l.ends_with("not serving") || l.ends_with(" paused"))
        .filter_map(index)
        .collect();
    let paused = out
        .lines()
        .filter(|l| l.ends_with(" paused"))
        .filter_map(index)
        .collect();
    (unhealthy, paused)
}

/// The index of the current leader.
pub async fn leader() -> usize {
    run_ensemble_async(&["leader"])
        .await
        .parse()
        .expect("leader index")
}

/// Waits for a leader other than `old` (after `old` died) and returns it.
pub async fn leader_after(old: usize) -> usize {
    guard("a new leader", async {
        loop {
            let r = tokio::task::spawn_blocking(|| try_run_ensemble(&["leader"]))
                .await
                .expect("leader task");
            if let Some(n) = r.ok().and_then(|l| l.parse::<usize>().ok()) {
                if n != old {
                    return n;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await; // polling the servers
        }
    })
    .await
}

// ----- the fixture -----

/// One fault test at a time: they stop servers and change shared proxies.
static FAULT_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Exclusive use of the fault tests' resources (the shared proxies, the machine's CPU while
/// servers stop and start), as [`Fault::begin`] takes it: for fixtures of their own.
pub async fn fault_lock() -> tokio::sync::MutexGuard<'static, ()> {
    FAULT_LOCK.lock().await
}

/// A fault test's surroundings: exclusive use of the ensemble and the proxies, a namespace,
/// an admin client that talks to the servers directly (not through a proxy).
///
/// Undone in [`Fault::finish`], or on drop when the test fails: every proxy enabled and
/// cleared, every stopped node restarted, the namespace deleted. (Paused nodes are resumed by
/// their [`PausedNode`] guards, dropped before the fixture; one left paused by a killed run is
/// resumed by the next `begin`.)
pub struct Fault {
    pub root: String,
    pub admin: Client,
    pub proxies: Vec<ProxyInfo>,
    stopped: Mutex<BTreeSet<usize>>,
    done: bool,
    _lock: tokio::sync::MutexGuard<'static, ()>,
}

/// Session timeout of the admin client: long, so the faults a test injects never expire it.
const ADMIN_SESSION: Duration = Duration::from_secs(20);

impl Fault {
    pub async fn begin(name: &str) -> Fault {
        let lock = FAULT_LOCK.lock().await;
        reset_proxies().await;
        // A failed earlier run may have left a node down: bring the ensemble back first.
        tokio::task::spawn_blocking(|| {
            let (down, paused) = unhealthy_nodes();
            // A node left frozen (a test run killed before its PausedNode was dropped).
            for i in paused {
                eprintln!("fault fixture: resuming node {i} left paused");
                run_ensemble(&["resume-node", &i.to_string()]);
            }
            if !down.is_empty() {
                eprintln!("fault fixture: bringing back nodes {down:?} (left down, paused or not serving)");
                start_nodes_blocking(&down);
            }
        })
        .await
        .expect("ensemble check");
        let proxies = proxies().await;
        assert!(
            proxies.len() >= 5 && proxies.iter().take(5).map(|p| p.node).eq(1..=5),
            "the fault tests need proxies zk1..zk5 at TOXIPROXY={}, found {proxies:?}",
            toxiproxy_addr()
        );
        let admin = connect(&peers(), ADMIN_SESSION).await;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let root = format!("/zksync-test/fault-{name}-{}-{nanos:x}", std::process::id());
        match admin
            .create("/zksync-test", b"", CreateMode::Persistent)
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_node_exists() => {}
            Err(e) => panic!("create /zksync-test: {e}"),
        }
        admin
            .create(&root, b"", CreateMode::Persistent)
            .await
            .expect("create namespace");
        Fault {
            root,
            admin,
            proxies,
            stopped: Mutex::default(),
            done: false,
            _lock: lock,
        }
    }

    /// `root/rel`.
    pub fn path(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root)
    }

    /// The admin client, after it has caught up with the leader: another session's writes (or
    /// the deletions its expiry made) may not yet have reached the admin's server otherwise.
    pub async fn synced_admin(&self) -> &Client {
        self.admin
            .sync(&self.root)
            .await
            .unwrap_or_else(|e| panic!("sync {}: {e}", self.root));
        &self.admin
    }

    /// Proxy `zk<node>`.
    pub fn proxy(&self, node: usize) -> &ProxyInfo {
        &self.proxies[node - 1]
    }

    /// The connect string of the proxies in front of `nodes`.
    pub fn via(&self, nodes: &[usize]) -> String {
        nodes
            .iter()
            .map(|&n| self.proxy(n).addr.clone())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Kills node `i` with SIGKILL (restarted by `start_node`, or at the end of the test).
    pub async fn kill_node(&self, i: usize) {
        self.stopped.lock().unwrap().insert(i);
        run_ensemble_async(&["kill-node", &i.to_string()]).await;
    }

    /// Starts the given nodes together and waits until each serves.
    pub async fn start_nodes(&self, nodes: &[usize]) {
        let list = nodes.to_vec();
        tokio::task::spawn_blocking(move || start_nodes_blocking(&list))
            .await
            .expect("start nodes");
        let mut stopped = self.stopped.lock().unwrap();
        for n in nodes {
            stopped.remove(n);
        }
    }

    /// Undoes everything: proxies reset, nodes restarted, namespace removed.
    pub async fn finish(mut self) {
        self.done = true;
        reset_proxies().await;
        let stopped: Vec<usize> = self.stopped.lock().unwrap().iter().copied().collect();
        if !stopped.is_empty() {
            self.start_nodes(&stopped).await;
        }
        if let Err(e) = delete_tree(&self.admin, &self.root).await {
            panic!("delete namespace {}: {e}", self.root);
        }
        self.admin.close().await;
    }
}

impl Drop for Fault {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // The test failed (or forgot `finish`): clean up from a thread of our own, with a
        // runtime of its own (we may be unwinding inside the test's runtime).
        let root = self.root.clone();
        let stopped: Vec<usize> = self.stopped.lock().unwrap().iter().copied().collect();
        let cleanup = std::thread::spawn(move || {
            if let Err(e) = toxiproxy().reset() {
                eprintln!("fault cleanup: toxiproxy reset failed: {e}");
            }
            if !stopped.is_empty() {
                start_nodes_blocking(&stopped);
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            rt.block_on(async {
                let admin = connect(&peers(), ADMIN_SESSION).await;
                if let Err(e) = delete_tree(&admin, &root).await {
                    eprintln!("fault cleanup: delete {root}: {e}");
                }
                admin.close().await;
            });
        });
        if cleanup.join().is_err() {
            eprintln!("fault cleanup failed");
        }
    }
}
