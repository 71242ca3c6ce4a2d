//! SASL GSSAPI (Kerberos V5) against the real ZooKeeper 3.8 in the Kerberos mode of
//! `scripts/ensemble` (`ZKSYNC_ENSEMBLE_KRB5=<dir>`), with a real MIT KDC on loopback made by
//! `scripts/kdc`. `scripts/test` starts both, runs this target and stops them:
//!
//!     scripts/kdc start /tmp/zk-krb5             # prints KRB5_CONFIG=... KRB5CCNAME=... lines
//!     ZKSYNC_ENSEMBLE_KRB5=/tmp/zk-krb5 ZKSYNC_ENSEMBLE_PORT_OFFSET=800 \
//!         ZKSYNC_ENSEMBLE_DIR=/tmp/zk-krb5-ensemble scripts/ensemble start 3
//!     env $(scripts/kdc env /tmp/zk-krb5) ZOOKEEPER_PEERS=127.0.0.1:2981,127.0.0.1:2982,127.0.0.1:2983 \
//!         ZKSYNC_ENSEMBLE_PORT_OFFSET=800 ZKSYNC_ENSEMBLE_DIR=/tmp/zk-krb5-ensemble \
//!         cargo test --features cli,gssapi --test gssapi -- --ignored
//!
//! The client's credentials are the process's: `KRB5_CONFIG` (the test realm's krb5.conf) and
//! `KRB5CCNAME` (a ticket cache `kinit` filled for the test user, alice). The principal the
//! servers must see is ZKSYNC_TEST_KRB5_PRINCIPAL (default alice@ZKSYNC.TEST). The servers'
//! principal is zookeeper/localhost: the tests name the host `localhost`, either in the connect
//! string or with `sasl_gssapi_service`.
//!
//! `#[ignore]`d so that `cargo test --all-targets` against a plain ensemble skips them.

use std::time::{Duration, Instant};
use tokio::sync::RwLock as TokioRwLock;
use zksync::recipes::{Mutex, RwLock};
use zksync::{Client, ConnectOptions, CreateMode, Error, SessionState};
use zksync_test_support::{host_of_session, peers, within, Namespace, StoppedNode};

const SESSION: Duration = Duration::from_secs(4);

/// Set in the child process of `a_client_without_a_ticket_fails_promptly`.
const CHILD: &str = "ZKSYNC_TEST_GSSAPI_CHILD";

fn principal() -> String {
    std::env::var("ZKSYNC_TEST_KRB5_PRINCIPAL").unwrap_or_else(|_| "alice@ZKSYNC.TEST".into())
}

/// The ensemble's connect string with every 127.0.0.1 named `localhost` (the host of the
/// servers' principal zookeeper/localhost).
fn localhost_peers() -> String {
    peers().replace("127.0.0.1", "localhost")
}

/// GSSAPI for zookeeper/localhost, whatever the connect string says.
fn gssapi_options() -> ConnectOptions {
    ConnectOptions::default()
        .session_timeout(SESSION)
        .sasl_gssapi_service("zookeeper", Some("localhost"))
}

async fn krb_client() -> Client {
    gssapi_options()
        .connect(&peers())
        .await
        .unwrap_or_else(|e| panic!("GSSAPI connect to {}: {e}", peers()))
}

async fn is_sasl_principal(c: &Client) -> bool {
    let who = within("whoAmI", c.who_am_i()).await.expect("whoAmI");
    who.iter()
        .any(|i| i.auth_scheme == "sasl" && i.user == principal())
}

/// Tests that kill servers take this exclusively; the others hold it shared.
static ENSEMBLE: TokioRwLock<()> = TokioRwLock::const_new(());

/// A unique namespace below /zksync-test whose admin is a krb5 client, removed by
/// `cleanup`.
async fn ns(name: &str) -> Namespace {
    Namespace::with_admin(&format!("krb5-{name}"), krb_client().await).await
}

/// The server knows the session as the Kerberos principal (whoAmI), both with the host named
/// by `sasl_gssapi_service` and with the host taken from the connect string (`sasl_gssapi`).
#[tokio::test]
#[ignore = "needs a Kerberos-mode ensemble and a KDC: scripts/test runs it with --ignored"]
async fn connects_as_the_kerberos_principal() {
    let _shared = ENSEMBLE.read().await;
    let ns = within("namespace", ns("connect")).await;
    assert!(
        is_sasl_principal(&ns.admin).await,
        "whoAmI: {:?}",
        ns.admin.who_am_i().await
    );
    // The service host from each server's name in the connect string.
    let c = within(
        "connect",
        ConnectOptions::default()
            .session_timeout(SESSION)
            .sasl_gssapi()
            .connect(&localhost_peers()),
    )
    .await
    .unwrap_or_else(|e| panic!("GSSAPI connect to {}: {e}", localhost_peers()));
    assert!(is_sasl_principal(&c).await, "{:?}", c.who_am_i().await);
    let p = ns.path("node");
    c.create(&p, b"v", CreateMode::Persistent)
        .await
        .expect("create");
    // Another session's write: the admin's server may not have it yet without a sync.
    ns.admin.sync(&p).await.expect("sync");
    assert_eq!(&ns.admin.get_data(&p).await.expect("get").0[..], b"v");
    c.close().await;
    ns.cleanup().await;
}

/// A lock and a read-write lock between two Kerberos sessions.
#[tokio::test]
#[ignore = "needs a Kerberos-mode ensemble and a KDC: scripts/test runs it with --ignored"]
async fn locks_work() {
    let _shared = ENSEMBLE.read().await;
    let ns = within("namespace", ns("locks")).await;
    let (a, b) = (krb_client().await, krb_client().await);
    within("locks", async {
        let m = ns.path("mutex");
        let g = Mutex::new(a.clone(), &m).lock().await.expect("lock a");
        // b does not get it while a holds it, and does once a unlocked.
        let tried = Mutex::new(b.clone(), &m)
            .try_lock()
            .await
            .expect("try_lock b");
        assert!(tried.is_none(), "b got the lock a holds");
        g.unlock().await.expect("unlock a");
        let gb = Mutex::new(b.clone(), &m).lock().await.expect("lock b");
        gb.unlock().await.expect("unlock b");
        let rw = ns.path("rw");
        let r1 = RwLock::new(a.clone(), &rw).read().await.expect("read a");
        let r2 = RwLock::new(b.clone(), &rw).read().await.expect("read b");
        r1.unlock().await.expect("unlock");
        r2.unlock().await.expect("unlock");
        let w = RwLock::new(b.clone(), &rw).write().await.expect("write");
        w.unlock().await.expect("unlock");
    })
    .await;
    a.close().await;
    b.close().await;
    ns.cleanup().await;
}

/// Kill the server the session is on: the client reconnects to another one, runs the GSSAPI
/// exchange again there and keeps its session (its ephemeral node lives on).
#[tokio::test]
#[ignore = "needs a Kerberos-mode ensemble and a KDC: scripts/test runs it with --ignored"]
async fn a_server_kill_keeps_the_session_and_reauthenticates() {
    let _exclusive = ENSEMBLE.write().await;
    let ns = within("namespace", ns("kill")).await;
    let c = gssapi_options()
        .session_timeout(Duration::from_secs(10))
        .connect(&peers())
        .await
        .expect("connect");
    let mut states = c.state_changes();
    let eph = ns.path("eph");
    c.create(&eph, b"", CreateMode::Ephemeral)
        .await
        .expect("ephemeral");
    let sid = c.session_id();
    let hosts: Vec<String> = peers().split(',').map(str::to_string).collect();
    let on = within("cons", host_of_session(&hosts, sid))
        .await
        .expect("the session's server");
    let killed = StoppedNode::kill(on + 1).await;
    within("reconnect", async {
        let mut was_disconnected = false;
        loop {
            match states.next().await.expect("state") {
                SessionState::Disconnected { .. } => was_disconnected = true,
                SessionState::Connected if was_disconnected => break,
                SessionState::Connected => {}
                other => panic!("unexpected state {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(c.session_id(), sid, "same session");
    let now_on = within("cons", host_of_session(&hosts, sid)).await;
    assert!(
        now_on.is_some_and(|h| h != on),
        "moved from {on} to {now_on:?}"
    );
    assert!(
        is_sasl_principal(&c).await,
        "re-authenticated on the new server: {:?}",
        c.who_am_i().await
    );
    assert!(c.exists(&eph).await.expect("exists").is_some());
    killed.restart().await;
    c.close().await;
    ns.cleanup().await;
}

/// A service principal the KDC does not know: the first GSS-API step fails (no service
/// ticket), and `connect` fails with AuthFailed at once.
#[tokio::test]
#[ignore = "needs a Kerberos-mode ensemble and a KDC: scripts/test runs it with --ignored"]
async fn an_unknown_service_principal_fails_promptly_with_auth_failed() {
    let _shared = ENSEMBLE.read().await;
    let started = Instant::now();
    let r = within(
        "connect",
        ConnectOptions::default()
            .session_timeout(SESSION)
            .establish_timeout(Duration::from_secs(30))
            .sasl_gssapi_service("zookeeper", Some("no-such-host.zksync.test"))
            .connect(&peers()),
    )
    .await;
    let took = started.elapsed();
    assert!(matches!(r, Err(Error::AuthFailed)), "{:?}", r.map(|_| ()));
    assert!(took < Duration::from_secs(3), "AuthFailed took {took:?}");
}

/// Runs the test `name` of this binary again in a child process with `CHILD` set and the
/// environment changed by `envs` (a value of None removes the variable): Kerberos credentials
/// are process-wide (KRB5CCNAME, KRB5_CLIENT_KTNAME), so tests that need other credentials run
/// their check there. Panics unless the child's test passed.
async fn in_child(name: &str, envs: &[(&str, Option<String>)]) {
    let mut cmd = tokio::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", name, "--ignored", "--nocapture"])
        .env(CHILD, "1")
        .kill_on_drop(true);
    for (k, v) in envs {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = within("child", cmd.output()).await.expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child {name}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A ticket cache of its own in a fresh directory (removed by the caller).
fn empty_ccache(tag: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("zksync-gssapi-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cc = format!("FILE:{}/ccache", dir.display());
    (dir, cc)
}

/// Without Kerberos credentials (an empty ticket cache, no client keytab) the first GSS-API
/// step fails ("No Kerberos credentials available") and `connect` fails with AuthFailed at
/// once.
#[tokio::test]
#[ignore = "needs a Kerberos-mode ensemble and a KDC: scripts/test runs it with --ignored"]
async fn a_client_without_a_ticket_fails_promptly() {
    if std::env::var_os(CHILD).is_some() {
        let started = Instant::now();
        let r = within(
            "connect",
            gssapi_options()
                .establish_timeout(Duration::from_secs(30))
                .connect(&peers()),
        )
        .await;
        let took = started.elapsed();
        assert!(matches!(r, Err(Error::AuthFailed)), "{:?}", r.map(|_| ()));
        assert!(took < Duration::from_secs(3), "AuthFailed took {took:?}");
        return;
    }
    let _shared = ENSEMBLE.read().await;
    let (dir, cc) = empty_ccache("noticket");
    in_child(
        "a_client_without_a_ticket_fails_promptly",
        &[("KRB5CCNAME", Some(cc)), ("KRB5_CLIENT_KTNAME", None)],
    )
    .await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// No ticket, but a client keytab (KRB5_CLIENT_KTNAME, from ZKSYNC_TEST_KRB5_CLIENT_KEYTAB):
/// the library gets a ticket from the KDC itself and the session authenticates as the
/// keytab's principal.
#[tokio::test]
#[ignore = "needs a Kerberos-mode ensemble and a KDC: scripts/test runs it with --ignored"]
async fn a_client_keytab_is_used_without_kinit() {
    if std::env::var_os(CHILD).is_some() {
        let c = within("connect", gssapi_options().connect(&peers()))
            .await
            .expect("connect with the client keytab");
        assert!(is_sasl_principal(&c).await, "{:?}", c.who_am_i().await);
        c.close().await;
        return;
    }
    let _shared = ENSEMBLE.read().await;
    let keytab = std::env::var("ZKSYNC_TEST_KRB5_CLIENT_KEYTAB")
        .expect("ZKSYNC_TEST_KRB5_CLIENT_KEYTAB: the test user's keytab (scripts/kdc env)");
    let (dir, cc) = empty_ccache("keytab");
    in_child(
        "a_client_keytab_is_used_without_kinit",
        &[
            ("KRB5CCNAME", Some(cc)),
            ("KRB5_CLIENT_KTNAME", Some(keytab)),
        ],
    )
    .await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A client without SASL on the Kerberos-mode ensemble is refused at its first request.
#[tokio::test]
#[ignore = "needs a Kerberos-mode ensemble and a KDC: scripts/test runs it with --ignored"]
async fn a_client_without_sasl_is_refused() {
    let _shared = ENSEMBLE.read().await;
    let c = within(
        "connect",
        ConnectOptions::default()
            .session_timeout(SESSION)
            .connect(&peers()),
    )
    .await
    .expect("the handshake itself is not refused");
    assert_eq!(
        within("exists", c.exists("/")).await,
        Err(Error::AuthFailed)
    );
    assert_eq!(c.state(), SessionState::AuthFailed);
}
