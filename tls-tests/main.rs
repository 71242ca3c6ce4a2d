//! TLS tests against a real ZooKeeper 3.8 ensemble in `scripts/ensemble`'s TLS mode
//! (`ZKSYNC_ENSEMBLE_TLS=need`: a client certificate is required):
//!
//! - `ZOOKEEPER_TLS_PEERS`: the secure client ports (`scripts/ensemble tls-peers`);
//! - `ZKSYNC_TLS_DIR`: the test CA and certificates the script made (`ca.pem`, `client.pem`,
//!   `client-key.pem`, `other-ca.pem`, `other-client*.pem`);
//! - `ZOOKEEPER_PEERS`: the same ensemble's plain ports (the script's node control checks it);
//!   these tests never connect to them.
//!
//! The tests are `#[ignore]`d (a plain `cargo test --all-targets` has no such ensemble):
//! `scripts/test` starts one (3 nodes, port offset 600), runs
//! `cargo test --features cli,tls --test tls -- --ignored`, and stops it.

use std::error::Error as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zksync::recipes::{Barrier, DoubleBarrier, Election, Mutex, RwLock as ZkRwLock, Semaphore};
use zksync::{
    Client, ConnectOptions, ConnectionError, CreateMode, Error, SessionState, TlsOptions,
};
use zksync_test_support::{
    guard, run_ensemble_async, still_blocked, wait_children, wait_state, EnsembleUp, Namespace,
};

// ----- the TLS ensemble -----

fn tls_peers() -> String {
    std::env::var("ZOOKEEPER_TLS_PEERS").expect(
        "ZOOKEEPER_TLS_PEERS must name the secure client ports of a TLS-mode ensemble \
         (scripts/ensemble tls-peers)",
    )
}

fn tls_peer_list() -> Vec<String> {
    tls_peers().split(',').map(str::to_string).collect()
}

fn tls_file(name: &str) -> PathBuf {
    let dir = std::env::var("ZKSYNC_TLS_DIR")
        .expect("ZKSYNC_TLS_DIR must name the TLS-mode ensemble's tls directory");
    PathBuf::from(dir).join(name)
}

fn file_str(name: &str) -> String {
    tls_file(name).display().to_string()
}

/// The test CA and the client certificate the servers require.
fn tls() -> TlsOptions {
    TlsOptions::ca_file(tls_file("ca.pem"))
        .client_cert_files(tls_file("client.pem"), tls_file("client-key.pem"))
}

fn options() -> ConnectOptions {
    ConnectOptions::default()
        .session_timeout(Duration::from_secs(6))
        .tls(tls())
}

async fn tls_client() -> Client {
    let hosts = tls_peers();
    let c = options()
        .connect(&hosts)
        .await
        .unwrap_or_else(|e| panic!("TLS connect to {hosts}: {e}"));
    c.sync("/").await.expect("sync");
    c
}

/// A namespace made and removed over TLS, for a test that leaves the servers alone.
async fn ns(name: &str) -> Namespace {
    Namespace::with_admin(&format!("tls-{name}"), tls_client().await).await
}

/// `connect` must fail with `Unreachable` whose every server failed with a TLS error whose
/// message contains `expected`; returns that error's source (rustls' error) as text.
async fn expect_tls_failure(tls: TlsOptions, hosts: &str, expected: &str) -> String {
    // Every server up: a killed one would fail with "refused" instead.
    let _hold = EnsembleUp::hold().await;
    let result = ConnectOptions::default()
        .session_timeout(Duration::from_secs(4))
        .establish_timeout(Duration::from_millis(1500))
        .tls(tls)
        .connect(hosts)
        .await;
    let Err(Error::Unreachable(u)) = result else {
        panic!("expected Unreachable, got {result:?}");
    };
    let mut source = String::new();
    for h in u.hosts() {
        match &h.error {
            Some(e @ ConnectionError::Tls { why, .. }) => {
                assert!(why.contains(expected), "{}: {why}", h.host);
                assert!(e.to_string().starts_with("TLS: "), "{e}");
                source = e.source().expect("the TLS library's error").to_string();
            }
            other => panic!("{}: expected a TLS error, got {other:?} ({u})", h.host),
        }
    }
    assert!(u.to_string().contains(expected), "{u}");
    source
}

// ----- connecting and the plain client API -----

#[tokio::test]
#[ignore = "needs a TLS-mode ensemble (ZOOKEEPER_TLS_PEERS, ZKSYNC_TLS_DIR): scripts/test runs it"]
async fn connects_over_tls_and_pipelines_deeply() {
    let ns = ns("basic").await;
    let c = tls_client().await;
    assert_eq!(c.state(), SessionState::Connected);
    let path = ns.path("node");
    // A value larger than a TLS record (16 KiB): replies span several records.
    let big = vec![0x5a_u8; 100_000];
    c.create(&path, &big, CreateMode::Persistent).await.unwrap();
    let (data, _) = c.get_data(&path).await.unwrap();
    assert_eq!(data.len(), big.len());
    assert!(data.iter().all(|&b| b == 0x5a));
    // A watch fires over TLS.
    let (_, _, w) = c.get_data_w(&path).await.unwrap();
    ns.admin.set_data(&path, b"small", None).await.unwrap();
    guard("data watch over TLS", w).await.unwrap();
    // A deep pipeline (1000 reads in flight: reply coalescing raises the socket's mark).
    let calls = (0..1000).map(|_| c.get_data(&path));
    let replies = guard(
        "1000 pipelined reads",
        futures_util::future::join_all(calls),
    )
    .await;
    for r in replies {
        assert_eq!(&r.unwrap().0[..], b"small");
    }
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
#[ignore = "needs a TLS-mode ensemble (ZOOKEEPER_TLS_PEERS, ZKSYNC_TLS_DIR): scripts/test runs it"]
async fn in_memory_pem_and_server_name_override_work() {
    let ns = ns("pem").await;
    let ca = std::fs::read(tls_file("ca.pem")).unwrap();
    let cert = std::fs::read(tls_file("client.pem")).unwrap();
    let key = std::fs::read(tls_file("client-key.pem")).unwrap();
    // The certificates name localhost and 127.0.0.1: "localhost" as the expected name for
    // servers reached by IP address.
    let c = ConnectOptions::default()
        .tls(
            TlsOptions::ca_pem(ca)
                .client_cert_pem(cert, key)
                .server_name("localhost"),
        )
        .connect(&tls_peers())
        .await
        .unwrap();
    c.create(&ns.path("x"), b"1", CreateMode::Ephemeral)
        .await
        .unwrap();
    c.close().await;
    ns.cleanup().await;
}

// ----- the recipes -----

#[tokio::test]
#[ignore = "needs a TLS-mode ensemble (ZOOKEEPER_TLS_PEERS, ZKSYNC_TLS_DIR): scripts/test runs it"]
async fn every_recipe_works_over_tls() {
    let ns = ns("recipes").await;
    let a = tls_client().await;
    let b = tls_client().await;

    // Mutex: b waits while a holds.
    let lock_path = ns.path("mutex");
    let held = Mutex::new(a.clone(), &lock_path).lock().await.unwrap();
    let mb = Mutex::new(b.clone(), &lock_path);
    let mut waiter = tokio::spawn(async move { mb.lock().await });
    wait_children(&ns.admin, &lock_path, |c| c.len() == 2).await;
    assert!(still_blocked(&mut waiter).await, "two holders of a mutex");
    held.unlock().await.unwrap();
    let next = guard("mutex handed over", waiter).await.unwrap().unwrap();
    next.unlock().await.unwrap();

    // Read-write lock: two readers together, the writer after them.
    let rw_path = ns.path("rwlock");
    let r1 = ZkRwLock::new(a.clone(), &rw_path).read().await.unwrap();
    let r2 = ZkRwLock::new(b.clone(), &rw_path).read().await.unwrap();
    let wl = ZkRwLock::new(b.clone(), &rw_path);
    let mut writer = tokio::spawn(async move { wl.write().await });
    wait_children(&ns.admin, &rw_path, |c| c.len() == 3).await;
    assert!(still_blocked(&mut writer).await, "a writer beside readers");
    r1.unlock().await.unwrap();
    r2.unlock().await.unwrap();
    let w = guard("writer after the readers", writer)
        .await
        .unwrap()
        .unwrap();
    w.unlock().await.unwrap();

    // Semaphore of 2: the third waits.
    let sem_path = ns.path("sem");
    let p1 = Semaphore::new(a.clone(), &sem_path, 2)
        .acquire()
        .await
        .unwrap();
    let p2 = Semaphore::new(b.clone(), &sem_path, 2)
        .acquire()
        .await
        .unwrap();
    let s3 = Semaphore::new(a.clone(), &sem_path, 2);
    let mut third = tokio::spawn(async move { s3.acquire().await });
    assert!(still_blocked(&mut third).await, "three permits of 2");
    p1.release().await.unwrap();
    let p3 = guard("third permit", third).await.unwrap().unwrap();
    p2.release().await.unwrap();
    p3.release().await.unwrap();

    // Barrier: a waiter passes once it is unset.
    let bar_path = ns.path("barrier");
    let barrier = Barrier::new(a.clone(), &bar_path);
    barrier.set().await.unwrap();
    let bw = Barrier::new(b.clone(), &bar_path);
    let mut passing = tokio::spawn(async move { bw.wait().await });
    assert!(still_blocked(&mut passing).await, "passed a set barrier");
    barrier.unset().await.unwrap();
    guard("barrier opens", passing).await.unwrap().unwrap();

    // Double barrier of 2: enter together, leave together.
    let db_path = ns.path("double");
    let da = DoubleBarrier::new(a.clone(), &db_path, "a", 2);
    let db = DoubleBarrier::new(b.clone(), &db_path, "b", 2);
    let (ea, eb) = guard("both enter", async { tokio::join!(da.enter(), db.enter()) }).await;
    ea.unwrap();
    eb.unwrap();
    let (la, lb) = guard("both leave", async { tokio::join!(da.leave(), db.leave()) }).await;
    la.unwrap();
    lb.unwrap();

    // Election: a leads, b takes over when a resigns.
    let el_path = ns.path("election");
    let la = Election::new(a.clone(), &el_path)
        .with_id(b"a")
        .campaign()
        .await
        .unwrap();
    let eb = Election::new(b.clone(), &el_path).with_id(b"b");
    let mut campaign = tokio::spawn(async move { eb.campaign().await });
    wait_children(&ns.admin, &el_path, |c| c.len() == 2).await;
    assert!(still_blocked(&mut campaign).await, "two leaders");
    la.resign().await.unwrap();
    let lb = guard("b leads", campaign).await.unwrap().unwrap();
    assert_eq!(lb.id(), b"b");
    lb.resign().await.unwrap();

    a.close().await;
    b.close().await;
    ns.cleanup().await;
}

// ----- a server killed: the session moves to another server, over TLS -----

/// A four-letter word over TLS (`cons` on the plain port lists only plain connections).
async fn tls_four_letter(host: &str, word: &str) -> String {
    let ca = std::fs::read(tls_file("ca.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile_certs(&ca) {
        roots.add(cert).unwrap();
    }
    let cert = rustls_pemfile_certs(&std::fs::read(tls_file("client.pem")).unwrap());
    let key = {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::PrivateKeyDer::from_pem_file(tls_file("client-key.pem")).unwrap()
    };
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(cert, key)
        .unwrap();
    let tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut s = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    s.write_all(word.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test]
#[ignore = "needs a TLS-mode ensemble (ZOOKEEPER_TLS_PEERS, ZKSYNC_TLS_DIR): scripts/test runs it"]
async fn a_killed_server_is_left_for_another_over_tls_with_the_same_session() {
    let ns = Namespace::exclusive_with_admin("tls-kill", tls_client().await).await;
    let c = tls_client().await;
    let sid = c.session_id();
    let eph = ns.path("eph");
    c.create(&eph, b"", CreateMode::Ephemeral).await.unwrap();
    let hosts = tls_peer_list();
    let needle = format!("sid=0x{sid:x},");
    let mut on = None;
    for (i, h) in hosts.iter().enumerate() {
        if tls_four_letter(h, "cons").await.contains(&needle) {
            on = Some(i);
        }
    }
    let on = on.expect("the session's server, by cons over TLS");
    let node = (on + 1).to_string();
    let mut states = c.state_changes();
    run_ensemble_async(&["kill-node", &node]).await;
    let restart = scopeguard(node.clone());
    guard("disconnected", async {
        while !matches!(states.next().await, Some(SessionState::Disconnected { .. })) {}
    })
    .await;
    wait_state(&c, "reconnected", |s| s == SessionState::Connected).await;
    assert_eq!(c.session_id(), sid, "the same session");
    // Still this session's: its ephemeral node is there, and it can write.
    assert!(c.exists(&eph).await.unwrap().is_some());
    c.set_data(&eph, b"after", None).await.unwrap();
    let mut now_on = None;
    for (i, h) in hosts.iter().enumerate() {
        if i != on && tls_four_letter(h, "cons").await.contains(&needle) {
            now_on = Some(i);
        }
    }
    assert!(
        now_on.is_some(),
        "the session is on another server, over TLS"
    );
    restart.restart().await;
    c.close().await;
    ns.cleanup().await;
}

/// Restarts a killed node when dropped (also when the test fails).
struct Restart(Option<String>);

fn scopeguard(node: String) -> Restart {
    Restart(Some(node))
}

impl Restart {
    async fn restart(mut self) {
        if let Some(node) = self.0.take() {
            run_ensemble_async(&["start-node", &node]).await;
        }
    }
}

impl Drop for Restart {
    fn drop(&mut self) {
        if let Some(node) = self.0.take() {
            if let Err(e) = zksync_test_support::try_run_ensemble(&["start-node", &node]) {
                eprintln!("restarting node {node}: {e}");
            }
        }
    }
}

// ----- what must fail, clearly -----

#[tokio::test]
#[ignore = "needs a TLS-mode ensemble (ZOOKEEPER_TLS_PEERS, ZKSYNC_TLS_DIR): scripts/test runs it"]
async fn a_wrong_ca_is_a_clear_error() {
    let tls = TlsOptions::ca_file(tls_file("other-ca.pem"))
        .client_cert_files(tls_file("client.pem"), tls_file("client-key.pem"));
    let source = expect_tls_failure(tls, &tls_peers(), "not signed by a trusted CA").await;
    assert!(source.contains("UnknownIssuer"), "{source}");
}

#[tokio::test]
#[ignore = "needs a TLS-mode ensemble (ZOOKEEPER_TLS_PEERS, ZKSYNC_TLS_DIR): scripts/test runs it"]
async fn a_wrong_server_name_is_a_clear_error() {
    let source = expect_tls_failure(
        tls().server_name("zk.example.invalid"),
        &tls_peers(),
        "not valid for zk.example.invalid",
    )
    .await;
    assert!(source.contains("not valid for name"), "{source}");
}

#[tokio::test]
#[ignore = "needs a TLS-mode ensemble (ZOOKEEPER_TLS_PEERS, ZKSYNC_TLS_DIR): scripts/test runs it"]
async fn a_missing_client_certificate_is_a_clear_error() {
    let source = expect_tls_failure(
        TlsOptions::ca_file(tls_file("ca.pem")),
        &tls_peers(),
        "requires a client certificate",
    )
    .await;
    assert!(source.contains("alert"), "{source}");
}

#[tokio::test]
#[ignore = "needs a TLS-mode ensemble (ZOOKEEPER_TLS_PEERS, ZKSYNC_TLS_DIR): scripts/test runs it"]
async fn an_untrusted_client_certificate_is_a_clear_error() {
    let tls = TlsOptions::ca_file(tls_file("ca.pem")).client_cert_files(
        tls_file("other-client.pem"),
        tls_file("other-client-key.pem"),
    );
    expect_tls_failure(tls, &tls_peers(), "requires a client certificate").await;
}

#[tokio::test]
#[ignore = "needs a TLS-mode ensemble (ZOOKEEPER_TLS_PEERS, ZKSYNC_TLS_DIR): scripts/test runs it"]
async fn tls_to_a_plain_port_says_so() {
    let plain = std::env::var("ZOOKEEPER_PEERS").expect("ZOOKEEPER_PEERS (the plain ports)");
    let first = plain.split(',').next().unwrap().to_string();
    expect_tls_failure(tls(), &first, "during the TLS handshake").await;
}

#[tokio::test]
#[ignore = "needs a TLS-mode ensemble (ZOOKEEPER_TLS_PEERS, ZKSYNC_TLS_DIR): scripts/test runs it"]
async fn unreadable_tls_files_fail_connect_at_once() {
    let missing = ConnectOptions::default()
        .tls(TlsOptions::ca_file(tls_file("no-such-ca.pem")))
        .connect(&tls_peers())
        .await;
    match missing {
        Err(Error::InvalidArgument(why)) => assert!(why.contains("no-such-ca.pem"), "{why}"),
        other => panic!("{other:?}"),
    }
    let not_pem = ConnectOptions::default()
        .tls(TlsOptions::ca_pem(b"not a certificate".to_vec()))
        .connect(&tls_peers())
        .await;
    match not_pem {
        Err(Error::InvalidArgument(why)) => assert!(why.contains("no CERTIFICATE"), "{why}"),
        other => panic!("{other:?}"),
    }
}

// ----- the CLI -----

fn zksync(args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_zksync"));
    c.args(args)
        .env("ZOOKEEPER_PEERS", tls_peers())
        .env_remove("ZKSYNC_TLS_CA")
        .env_remove("ZKSYNC_TLS_CERT")
        .env_remove("ZKSYNC_TLS_KEY")
        .env_remove("ZKSYNC_TLS_SERVER_NAME")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

async fn output(mut c: tokio::process::Command) -> (i32, String, String) {
    let out = guard("zksync", c.output()).await.expect("run zksync");
    (
        out.status.code().expect("exit status"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
#[ignore = "needs a TLS-mode ensemble (ZOOKEEPER_TLS_PEERS, ZKSYNC_TLS_DIR): scripts/test runs it"]
async fn cli_lock_works_over_tls_by_flags_and_by_environment() {
    let ns = ns("cli").await;
    let path = ns.path("lock");
    let (ca, cert, key) = (
        file_str("ca.pem"),
        file_str("client.pem"),
        file_str("client-key.pem"),
    );
    let by_flags = zksync(&[
        "--tls-ca",
        &ca,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "lock",
        &path,
        "--",
        "sh",
        "-c",
        "echo held",
    ]);
    let (code, out, err) = output(by_flags).await;
    assert_eq!((code, out.trim()), (0, "held"), "{err}");
    let mut by_env = zksync(&["lock", &path, "--", "sh", "-c", "echo held-env"]);
    by_env
        .env("ZKSYNC_TLS_CA", &ca)
        .env("ZKSYNC_TLS_CERT", &cert)
        .env("ZKSYNC_TLS_KEY", &key);
    let (code, out, err) = output(by_env).await;
    assert_eq!((code, out.trim()), (0, "held-env"), "{err}");
    // The lock's node is gone again (the CLI's session deleted it: sync before reading).
    ns.admin.sync(&path).await.unwrap();
    let (children, _) = ns.admin.get_children(&path).await.unwrap();
    assert!(children.is_empty(), "{children:?}");
    ns.cleanup().await;
}

#[tokio::test]
#[ignore = "needs a TLS-mode ensemble (ZOOKEEPER_TLS_PEERS, ZKSYNC_TLS_DIR): scripts/test runs it"]
async fn cli_tls_failures_exit_2_with_one_clear_line() {
    let _hold = EnsembleUp::hold().await;
    let (ca, cert, key) = (
        file_str("ca.pem"),
        file_str("client.pem"),
        file_str("client-key.pem"),
    );
    let other_ca = file_str("other-ca.pem");
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec![
                "--tls-ca",
                &other_ca,
                "--tls-cert",
                &cert,
                "--tls-key",
                &key,
            ],
            "not signed by a trusted CA",
        ),
        (
            vec![
                "--tls-ca",
                &ca,
                "--tls-cert",
                &cert,
                "--tls-key",
                &key,
                "--tls-server-name",
                "zk.example.invalid",
            ],
            "not valid for zk.example.invalid",
        ),
        (vec!["--tls-ca", &ca], "requires a client certificate"),
        (
            vec!["--tls-ca", "/nonexistent/ca.pem"],
            "cannot read CA certificate file /nonexistent/ca.pem",
        ),
    ];
    for (flags, expected) in cases {
        let mut args = flags.clone();
        args.extend([
            "--connect-timeout",
            "1500ms",
            "lock",
            "/zksync-test/tls-cli-never",
            "--",
            "true",
        ]);
        let (code, out, err) = output(zksync(&args)).await;
        assert_eq!(code, 2, "{flags:?}: {err}");
        assert!(out.is_empty(), "{out}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("zksync: cannot connect"), "{err}");
        assert!(err.contains(expected), "{flags:?}: {err}");
        if expected != "cannot read CA certificate file /nonexistent/ca.pem" {
            assert!(err.contains("TLS: "), "{err}");
        }
    }
}
