//! Barrier against a real ensemble.

use zksync::proto::OpCode;
use zksync::recipes::Barrier;
use zksync::{Error, ErrorCode, SessionState};
use zksync_test_support::*;

#[tokio::test]
async fn set_unset_and_errors() {
    let ns = Namespace::new("barrier-basic").await;
    let c = client().await;
    let b = Barrier::new(c.clone(), &ns.path("a/b/gate"));
    assert!(!b.is_set().await.unwrap());
    b.wait().await.unwrap(); // not set: returns at once
    b.set().await.unwrap(); // parents created
    assert!(b.is_set().await.unwrap());
    assert_eq!(b.set().await, Err(Error::Server(ErrorCode::NodeExists)));
    b.unset().await.unwrap();
    assert_eq!(b.unset().await, Err(Error::Server(ErrorCode::NoNode)));
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn unset_releases_waiters_on_several_clients() {
    let ns = Namespace::new("barrier-release").await;
    let path = ns.path("gate");
    let setter = client().await;
    let b = Barrier::new(setter.clone(), &path);
    b.set().await.unwrap();
    let mut waiters = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..5 {
        let c = client().await;
        clients.push(c.clone());
        let w = Barrier::new(c, &path);
        waiters.push(tokio::spawn(async move { w.wait().await }));
    }
    for w in &mut waiters {
        assert!(
            still_blocked(w).await,
            "wait returned while the barrier is set"
        );
    }
    b.unset().await.unwrap();
    for w in waiters {
        guard("waiter released", w).await.unwrap().unwrap();
    }
    for c in clients {
        c.close().await;
    }
    setter.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn session_expiry_while_waiting_is_an_error() {
    let ns = Namespace::new("barrier-expiry").await;
    let path = ns.path("gate");
    let setter = client().await;
    Barrier::new(setter.clone(), &path).set().await.unwrap();
    let c = client().await;
    let w = Barrier::new(c.clone(), &path);
    let mut waiter = tokio::spawn(async move { w.wait().await });
    assert!(still_blocked(&mut waiter).await);
    // Expire the waiter's session: attach to it from another client and close it there.
    let thief = zksync::ConnectOptions::default()
        .resume_session(c.session_id(), &c.session_passwd())
        .connect(&peers())
        .await
        .unwrap();
    thief.close().await;
    let r = guard("waiter fails", waiter).await.unwrap();
    assert_eq!(r, Err(Error::SessionExpired));
    assert!(
        Barrier::new(setter.clone(), &path).is_set().await.unwrap(),
        "still set"
    );
    setter.close().await;
    ns.cleanup().await;
}

/// Waits (hang-guarded) until `states` reports a lost connection: proof that a cut landed.
async fn wait_disconnected(states: &mut zksync::StateChanges) {
    guard("the client sees its connection drop", async {
        while let Some(s) = states.next().await {
            if matches!(s, SessionState::Disconnected { .. }) {
                return;
            }
        }
        panic!("client gone before it saw a disconnect");
    })
    .await
}

/// Checks that the one cut of `fwd` let `ops` through and swallowed a successful reply to it.
async fn assert_cut_after_applied(fwd: &Forwarder, ops: &[OpCode]) {
    let cuts = guard("the cut", fwd.wait_cuts(1)).await;
    assert_eq!(cuts.len(), 1, "{cuts:?}");
    assert!(
        ops.contains(&cuts[0].op),
        "the cut hit {cuts:?}, not {ops:?}"
    );
    assert_eq!(
        cuts[0].reply_err,
        Some(0),
        "the server applied the request whose reply was lost: {cuts:?}"
    );
}

#[tokio::test]
async fn set_whose_reply_is_lost_is_reported_as_applied() {
    let ns = Namespace::new("barrier-set-lost").await;
    let path = ns.path("gate");
    let fwd = Forwarder::start(&peer_list()[0]).await;
    // The forwarder is the client's only way to the ensemble (the reconnect goes through it).
    let c = client_to(&fwd.addr).await;
    let session = c.session_id();
    let b = Barrier::new(c.clone(), &path);
    let mut states = c.state_changes();
    fwd.cut_after_next(&[OpCode::Create, OpCode::Create2]);
    let r = guard("set across a lost reply", b.set()).await;
    assert_cut_after_applied(&fwd, &[OpCode::Create, OpCode::Create2]).await;
    wait_disconnected(&mut states).await;
    assert_eq!(
        r,
        Ok(()),
        "the barrier was set by this very call: its lost reply must not turn into an error"
    );
    assert!(
        ns.synced_admin()
            .await
            .exists(&path)
            .await
            .unwrap()
            .is_some(),
        "the barrier node exists"
    );
    assert_eq!(c.session_id(), session, "same session throughout");
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn unset_whose_reply_is_lost_is_reported_as_applied() {
    let ns = Namespace::new("barrier-unset-lost").await;
    let path = ns.path("gate");
    let fwd = Forwarder::start(&peer_list()[0]).await;
    let c = client_to(&fwd.addr).await;
    let session = c.session_id();
    let b = Barrier::new(c.clone(), &path);
    guard("set", b.set()).await.unwrap();
    let mut states = c.state_changes();
    fwd.cut_after_next(&[OpCode::Delete]);
    let r = guard("unset across a lost reply", b.unset()).await;
    assert_cut_after_applied(&fwd, &[OpCode::Delete]).await;
    wait_disconnected(&mut states).await;
    assert_eq!(
        r,
        Ok(()),
        "the barrier was unset by this very call: its lost reply must not turn into an error"
    );
    assert_eq!(
        ns.synced_admin().await.exists(&path).await.unwrap(),
        None,
        "the barrier node is gone"
    );
    assert_eq!(c.session_id(), session, "same session throughout");
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn set_by_another_process_is_still_reported_as_already_set() {
    let ns = Namespace::new("barrier-set-other").await;
    let path = ns.path("gate");
    let a = client().await;
    let b = client().await;
    Barrier::new(a.clone(), &path).set().await.unwrap();
    let czxid = ns
        .synced_admin()
        .await
        .exists(&path)
        .await
        .unwrap()
        .unwrap()
        .czxid;
    let r = guard("second set", Barrier::new(b.clone(), &path).set()).await;
    assert!(
        r.as_ref().is_err_and(Error::is_node_exists),
        "a barrier set by another session is reported as already set: {r:?}"
    );
    let st = ns.synced_admin().await.exists(&path).await.unwrap();
    assert_eq!(
        st.map(|s| s.czxid),
        Some(czxid),
        "the first setter's node is untouched"
    );
    a.close().await;
    b.close().await;
    ns.cleanup().await;
}
