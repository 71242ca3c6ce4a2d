//! Read-only servers: a session that allows them is served by a server cut off from the quorum,
//! and leaves it for a read-write server as soon as one is there.

use crate::fake::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zksync::proto::{ConnectRequest, Decode};
use zksync::{ConnectOptions, CreateMode, Error, ErrorCode, EventType, SessionState};
use zksync_test_support::*;

/// Session ids the two fake servers hand out.
const RO_SESSION: i64 = 0x0a0a_0000_0000_0001;
const RW_SESSION: i64 = 0x0b0b_0000_0000_0002;

/// A fake read-write server that answers `isro` probes, and sessions only once `ready`.
/// Records the session id each handshake asked for.
async fn read_write_server(mut s: TcpStream, ready: Arc<AtomicBool>, asked: Arc<Mutex<Vec<i64>>>) {
    let mut first = [0u8; 4];
    if s.read_exact(&mut first).await.is_err() {
        return;
    }
    if &first == b"isro" {
        let answer: &[u8] = if ready.load(Ordering::SeqCst) {
            b"rw"
        } else {
            b"ro"
        };
        let _ = s.write_all(answer).await;
        return; // the server closes after its answer
    }
    if !ready.load(Ordering::SeqCst) {
        return; // not serving yet: close, like a server without a quorum
    }
    let Ok(len) = usize::try_from(i32::from_be_bytes(first)) else {
        return;
    };
    let mut body = vec![0u8; len.min(1 << 16)];
    if s.read_exact(&mut body).await.is_err() {
        return;
    }
    let Ok(req) = ConnectRequest::decode(&mut bytes::Bytes::from(body)) else {
        return;
    };
    asked.lock().unwrap().push(req.session_id);
    if s.write_all(&connect_response_as(RW_SESSION, false))
        .await
        .is_ok()
    {
        serve_requests(s).await;
    }
}

/// A fake read-only server: grants its own session and serves like `serve_requests`.
async fn read_only_server(mut s: TcpStream) {
    if read_connect(&mut s).await.is_none() {
        return;
    }
    if s.write_all(&connect_response_as(RO_SESSION, true))
        .await
        .is_ok()
    {
        serve_requests(s).await;
    }
}

#[tokio::test]
async fn a_read_only_session_moves_to_a_read_write_server_once_one_answers() {
    let panics = panics_on_this_thread();
    let ready = Arc::new(AtomicBool::new(false));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let ro = Fake::start(|_, s| read_only_server(s)).await;
    let (r, a) = (ready.clone(), asked.clone());
    let rw = Fake::start(move |_, s| read_write_server(s, r.clone(), a.clone())).await;
    // Whichever host the shuffled list tries first, only the read-only one serves for now.
    let hosts = format!("{},{}", ro.hosts(), rw.hosts());
    let c = within(
        "connect",
        ConnectOptions::default()
            .session_timeout(Duration::from_secs(4))
            .read_only(true)
            .connect(&hosts),
    )
    .await
    .unwrap();
    assert_eq!(c.state(), SessionState::ConnectedReadOnly);
    assert_eq!(c.session_id(), RO_SESSION);
    assert_eq!(within("read", c.exists("/x")).await, Ok(None));

    // The probes ("ro" so far) go on; once the server says "rw" the session moves there.
    ready.store(true, Ordering::SeqCst);
    let mut st = c.state_watch();
    within(
        "moved to the read-write server",
        st.wait_for(|s| *s == SessionState::Connected),
    )
    .await
    .unwrap();
    assert_eq!(
        asked.lock().unwrap().first(),
        Some(&0),
        "the read-only session is unknown to read-write servers: a new one is asked for"
    );
    assert_eq!(c.session_id(), RW_SESSION);
    assert_eq!(within("read", c.exists("/x")).await, Ok(None));
    c.close().await;
    assert_eq!(panics_on_this_thread(), panics);
}

// ----- a real ensemble in read-only mode -----

/// Ports of the private ensemble: client 2481..2483 (and peer/election ports 300 above the
/// default ones), clear of the shared ensemble and of the Toxiproxy proxies.
const PORT_OFFSET: &str = "300";

/// Runs this repository's scripts/ensemble on the private read-only ensemble in `dir` (never
/// `ZKSYNC_ENSEMBLE_SCRIPT`: the Vagrant one knows nothing of these settings).
fn private_ensemble(dir: &str, args: &[&str]) -> Result<String, String> {
    let envs = [
        ("ZKSYNC_ENSEMBLE_DIR", dir),
        ("ZKSYNC_ENSEMBLE_PORT_OFFSET", PORT_OFFSET),
        ("ZKSYNC_ENSEMBLE_READONLY", "yes"),
    ];
    try_run_script(&local_ensemble_script(), &envs, args)
}

/// A private 3-node ensemble with read-only mode on (its own directory and ports), stopped
/// when dropped, even if the test panics. Read-only mode in ZooKeeper 3.8 serves local
/// sessions only (a new global session gets a bare NOTREADONLY header, a global session's
/// reconnection is refused), so this ensemble runs with local sessions, as any ensemble that
/// wants read-only clients must.
struct ReadOnlyEnsemble {
    dir: String,
}

impl ReadOnlyEnsemble {
    async fn start() -> ReadOnlyEnsemble {
        let dir = format!(
            "{}/zksync-readonly-ensemble-{}",
            std::env::temp_dir().display(),
            std::process::id()
        );
        let e = ReadOnlyEnsemble { dir };
        e.run(&["start", "3"]).await;
        e
    }

    async fn run(&self, args: &[&str]) -> String {
        let dir = self.dir.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            private_ensemble(&dir, &args)
        })
        .await
        .expect("ensemble script task")
        .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for ReadOnlyEnsemble {
    fn drop(&mut self) {
        if let Err(e) = private_ensemble(&self.dir, &["stop"]) {
            eprintln!("{e}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until `host` answers `isro` with `want` ("ro" or "rw"). Polls: a server entering
/// read-only mode sends no event anyone could wait on.
async fn wait_isro(host: &str, want: &str) {
    within(&format!("{host} says {want}"), async {
        loop {
            if four_letter(host, "isro").await.as_deref() == Some(want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
}

#[tokio::test]
async fn a_server_without_quorum_serves_reads_and_the_session_moves_on_when_the_quorum_returns() {
    // Serialised with the tests that stop servers: this one adds three JVMs to the machine.
    let ns = Namespace::exclusive("read-only", &peers()).await;
    let e = ReadOnlyEnsemble::start().await;
    let nodes: Vec<String> = e
        .run(&["peers"])
        .await
        .split(',')
        .map(String::from)
        .collect();
    assert_eq!(nodes.len(), 3);
    let all = nodes.join(",");
    let admin = client_to(&all).await;
    let node = "/read-only-test";
    admin
        .create(node, b"before", CreateMode::Persistent)
        .await
        .unwrap();
    // Node 1 will be left alone with what it has: make sure it has the node.
    let on_node_1 = client_to(&nodes[0]).await;
    catch_up(&on_node_1, node).await;
    on_node_1.close().await;
    admin.close().await;

    // Nodes 2 and 3 stop: node 1 has no quorum and, in read-only mode, serves reads only.
    e.run(&["stop-node", "2"]).await;
    e.run(&["stop-node", "3"]).await;
    wait_isro(&nodes[0], "ro").await;

    let c = within(
        "connect to the read-only server",
        ConnectOptions::default()
            .session_timeout(Duration::from_secs(6))
            .read_only(true)
            .connect(&all),
    )
    .await
    .unwrap();
    assert_eq!(c.state(), SessionState::ConnectedReadOnly);
    let ro_session = c.session_id();
    let (data, _, changed) = c.get_data_w(node).await.unwrap();
    assert_eq!(&data[..], b"before");
    assert_eq!(
        c.set_data(node, b"during", None).await.map(|_| ()),
        Err(Error::Server(ErrorCode::NotReadOnly))
    );
    // A client that does not allow read-only servers finds none to serve it.
    let strict = ConnectOptions::default()
        .session_timeout(Duration::from_secs(2))
        .establish_timeout(Duration::from_secs(2))
        .connect(&nodes[0])
        .await;
    assert!(
        matches!(strict, Err(Error::Unreachable(_))),
        "a read-write session on a read-only server: {strict:?}"
    );

    // The quorum returns: node 1 leaves read-only mode and the session goes read-write, as a
    // new session (the read-only one is known to node 1 only) with its watch kept.
    e.run(&["start-node", "2"]).await;
    let mut st = c.state_watch();
    within(
        "read-write again",
        st.wait_for(|s| *s == SessionState::Connected),
    )
    .await
    .unwrap();
    assert_ne!(c.session_id(), ro_session);
    c.set_data(node, b"after", None).await.unwrap();
    let ev = within("the watch set while read-only", changed)
        .await
        .unwrap();
    assert_eq!(ev.event_type, EventType::NodeDataChanged);
    assert_eq!(&c.get_data(node).await.unwrap().0[..], b"after");
    c.close().await;
    drop(e);
    ns.cleanup().await;
}
