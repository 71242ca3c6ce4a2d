//! Sessions across faults: reconnect with watch re-registration, resumption on another server,
//! expiry (said by the server, or judged by the client), close.

use std::time::Duration;
use zksync::{
    AddWatchMode, Client, ConnectOptions, CreateMode, Error, EventType, SessionState, WatchedEvent,
};
use zksync_test_support::*;

fn ev(event_type: EventType, path: &str) -> WatchedEvent {
    WatchedEvent {
        event_type,
        path: path.to_string(),
    }
}

fn is_disconnected(s: SessionState) -> bool {
    matches!(s, SessionState::Disconnected { .. })
}

async fn client_via(fwd: &Forwarder, session_timeout: Duration) -> Client {
    ConnectOptions::default()
        .session_timeout(session_timeout)
        .connect(&fwd.addr)
        .await
        .unwrap()
}

#[tokio::test]
async fn watches_are_rearmed_after_a_forced_reconnect() {
    let ns = Namespace::new("rearm").await;
    let admin = &ns.admin;
    let fwd = Forwarder::start(&peer_list()[0]).await;
    let c = client_via(&fwd, TEST_SESSION).await;
    let sid = c.session_id();
    let (data, created, parent, gone, eph) = (
        ns.path("data"),
        ns.path("created"),
        ns.path("parent"),
        ns.path("gone"),
        ns.path("eph"),
    );
    admin
        .create(&data, b"0", CreateMode::Persistent)
        .await
        .unwrap();
    admin
        .create(&parent, b"", CreateMode::Persistent)
        .await
        .unwrap();
    admin
        .create(&gone, b"", CreateMode::Persistent)
        .await
        .unwrap();
    let pdata = ns.path("pdata");
    admin
        .create(&pdata, b"", CreateMode::Persistent)
        .await
        .unwrap();
    c.create(&eph, b"", CreateMode::Ephemeral).await.unwrap();
    c.sync(&ns.root).await.unwrap();
    let (_, _, w_data) = c.get_data_w(&data).await.unwrap();
    let (_, w_created) = c.exists_w(&created).await.unwrap();
    let (_, _, w_children) = c.get_children_w(&parent).await.unwrap();
    let (_, w_gone) = c.exists_w(&gone).await.unwrap();
    let (_, _, w_quiet) = c.get_data_w(&parent).await.unwrap();
    let mut persistent = c.add_watch(&pdata, AddWatchMode::Persistent).await.unwrap();
    let mut changes = c.state_changes();
    assert_eq!(
        within("initial state", changes.next()).await,
        Some(SessionState::Connected)
    );

    fwd.cut_off();
    wait_state(&c, "disconnect", is_disconnected).await;
    // Change everything while the client cannot see it.
    admin.set_data(&data, b"1", None).await.unwrap();
    admin
        .create(&created, b"", CreateMode::Persistent)
        .await
        .unwrap();
    admin
        .create(&ns.path("parent/child"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    admin.delete(&gone, None).await.unwrap();
    fwd.restore();

    // Re-registration with the last zxid seen makes the server fire what changed meanwhile.
    assert_eq!(
        within("data watch", w_data).await,
        Ok(ev(EventType::NodeDataChanged, &data))
    );
    assert_eq!(
        within("exist watch", w_created).await,
        Ok(ev(EventType::NodeCreated, &created))
    );
    assert_eq!(
        within("child watch", w_children).await,
        Ok(ev(EventType::NodeChildrenChanged, &parent))
    );
    assert_eq!(
        within("exists on deleted", w_gone).await,
        Ok(ev(EventType::NodeDeleted, &gone))
    );
    wait_state(&c, "reconnect", |s| s == SessionState::Connected).await;
    assert_eq!(c.session_id(), sid, "same session");
    assert!(fwd.accepted() >= 2);
    // The ephemeral node survived the reconnect.
    assert_eq!(c.exists(&eph).await.unwrap().unwrap().ephemeral_owner, sid);
    // The persistent watch (on a node of its own, so no one-shot notification reaches it) is
    // re-armed and keeps working.
    admin.set_data(&pdata, b"2", None).await.unwrap();
    assert_eq!(
        within("persistent watch", persistent.next()).await,
        Some(Ok(ev(EventType::NodeDataChanged, &pdata)))
    );
    c.sync(&pdata).await.unwrap();
    assert_eq!(persistent.try_next(), None, "exactly one event");
    // The watch on an unchanged node did not fire, and is still armed.
    admin.set_data(&parent, b"x", None).await.unwrap();
    assert_eq!(
        within("quiet watch", w_quiet).await,
        Ok(ev(EventType::NodeDataChanged, &parent))
    );
    // State transitions: Disconnected, then Connected again.
    assert!(is_disconnected(
        within("state", changes.next()).await.unwrap()
    ));
    assert_eq!(
        within("state", changes.next()).await,
        Some(SessionState::Connected)
    );
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn requests_wait_for_the_reconnect_and_in_flight_ones_fail() {
    let ns = Namespace::new("queue").await;
    let fwd = Forwarder::start(&peer_list()[0]).await;
    let c = client_via(&fwd, TEST_SESSION).await;
    let p = ns.path("n");
    fwd.cut_off();
    wait_state(&c, "disconnect", is_disconnected).await;
    // Issued while disconnected: queued, sent after the reconnect, in order.
    let c2 = c.clone();
    let p2 = p.clone();
    let queued = tokio::spawn(async move {
        let a = c2.create(&p2, b"q", CreateMode::Persistent).await;
        let b = c2.set_data(&p2, b"r", Some(0)).await;
        (a, b)
    });
    let c3 = c.clone();
    let p3 = p.clone();
    let later = tokio::spawn(async move { c3.get_data(&p3).await });
    tokio::task::yield_now().await;
    fwd.restore();
    let (a, b) = within("queued requests", queued).await.unwrap();
    assert_eq!(a.unwrap().0, p);
    assert_eq!(b.unwrap().version, 1);
    let (data, _) = within("later", later).await.unwrap().unwrap();
    assert!(&data[..] == b"q" || &data[..] == b"r");
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn request_timeout_while_disconnected() {
    let ns = Namespace::new("reqtimeout").await;
    let fwd = Forwarder::start(&peer_list()[0]).await;
    let c = ConnectOptions::default()
        .session_timeout(TEST_SESSION)
        .request_timeout(Duration::from_millis(300))
        .connect(&fwd.addr)
        .await
        .unwrap();
    fwd.cut_off();
    wait_state(&c, "disconnect", is_disconnected).await;
    assert_eq!(
        within("timed out request", c.exists(&ns.root)).await,
        Err(Error::Timeout)
    );
    fwd.restore();
    wait_state(&c, "reconnect", |s| s == SessionState::Connected).await;
    assert!(c.exists(&ns.root).await.unwrap().is_some());
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn session_resumes_on_another_server_after_its_server_stops() {
    // Two followers for the client, the others for the admin: stopping a follower disturbs
    // nobody else, and the exclusive namespace keeps every other test out meanwhile.
    let nodes = ensemble_nodes().await;
    let leader = ensemble_leader().await;
    let followers: Vec<usize> = (1..=nodes.len()).filter(|&i| i != leader).collect();
    let pair = [followers[0], followers[1]];
    let admin_hosts: Vec<String> = (1..=nodes.len())
        .filter(|i| !pair.contains(i))
        .map(|i| nodes[i - 1].clone())
        .collect();
    let ns = Namespace::exclusive("resume", &admin_hosts.join(",")).await;
    let hosts: Vec<String> = pair.iter().map(|&i| nodes[i - 1].clone()).collect();
    let c = client_to(&hosts.join(",")).await;
    let sid = c.session_id();
    let eph = ns.path("eph");
    c.create(&eph, b"", CreateMode::Ephemeral).await.unwrap();
    let watched = ns.path("watched");
    ns.admin
        .create(&watched, b"", CreateMode::Persistent)
        .await
        .unwrap();
    c.sync(&watched).await.unwrap();
    let (_, _, w) = c.get_data_w(&watched).await.unwrap();
    let on = host_of_session(&hosts, sid)
        .await
        .expect("the client's server lists its session");
    let mut changes = c.state_changes();
    assert_eq!(
        within("state", changes.next()).await,
        Some(SessionState::Connected)
    );

    let stopped = StoppedNode::stop(pair[on]).await;
    assert!(is_disconnected(
        within("disconnect", changes.next()).await.unwrap()
    ));
    assert_eq!(
        within("reconnect", changes.next()).await,
        Some(SessionState::Connected)
    );
    assert_eq!(c.session_id(), sid);
    assert_eq!(
        host_of_session(&hosts, sid).await,
        Some(1 - on),
        "moved to the other server"
    );
    // Same session: its ephemeral node is still there, owned by it; its watch still works.
    assert_eq!(c.exists(&eph).await.unwrap().unwrap().ephemeral_owner, sid);
    ns.admin.set_data(&watched, b"x", None).await.unwrap();
    assert_eq!(
        within("watch", w).await,
        Ok(ev(EventType::NodeDataChanged, &watched))
    );
    c.set_data(&watched, b"y", None).await.unwrap();
    stopped.restart().await;
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn session_survives_the_loss_of_the_leader() {
    // Followers drop their clients while a new leader is elected; the session lives on. A
    // generous session timeout: the election must not outlast it on a busy machine.
    let nodes = ensemble_nodes().await;
    let leader = ensemble_leader().await;
    let followers: Vec<usize> = (1..=nodes.len()).filter(|&i| i != leader).collect();
    let hosts: Vec<String> = followers.iter().map(|&i| nodes[i - 1].clone()).collect();
    let ns = Namespace::exclusive("leader-loss", &hosts.join(",")).await;
    let c = ConnectOptions::default()
        .session_timeout(Duration::from_secs(15))
        .connect(&hosts[..2].join(","))
        .await
        .unwrap();
    let sid = c.session_id();
    let eph = ns.path("eph");
    c.create(&eph, b"", CreateMode::Ephemeral).await.unwrap();
    let (_, created) = c.exists_w(&ns.path("later")).await.unwrap();
    let mut changes = c.state_changes();
    assert_eq!(
        within("state", changes.next()).await,
        Some(SessionState::Connected)
    );

    let stopped = StoppedNode::stop(leader).await;
    assert!(is_disconnected(
        within("disconnect", changes.next()).await.unwrap()
    ));
    assert_eq!(
        within("reconnect", changes.next()).await,
        Some(SessionState::Connected)
    );
    assert_eq!(c.session_id(), sid);
    assert_eq!(c.exists(&eph).await.unwrap().unwrap().ephemeral_owner, sid);
    // Writes work under the new leader, and the watch armed before the election fires.
    ns.admin
        .create(&ns.path("later"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(
        within("watch across the election", created).await,
        Ok(ev(EventType::NodeCreated, &ns.path("later")))
    );
    c.set_data(&eph, b"still mine", None).await.unwrap();
    stopped.restart().await;
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn expiry_by_another_client_closing_the_session() {
    let ns = Namespace::new("expiry").await;
    let fwd = Forwarder::start(&peer_list()[0]).await;
    let a = client_via(&fwd, TEST_SESSION).await;
    let eph = ns.path("eph");
    a.create(&eph, b"", CreateMode::Ephemeral).await.unwrap();
    let (_, pending) = a.exists_w(&ns.path("never")).await.unwrap();
    let mut persistent = a
        .add_watch(&ns.root, AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    // Keep the first client away while the second attaches and closes the session; otherwise
    // the two would take the session from each other.
    fwd.cut_off();
    wait_state(&a, "disconnect", is_disconnected).await;
    let b = ConnectOptions::default()
        .session_timeout(TEST_SESSION)
        .resume_session(a.session_id(), &a.session_passwd())
        .connect(&peers())
        .await
        .unwrap();
    assert_eq!(b.session_id(), a.session_id());
    // b is the same session: it sees the ephemeral as its own.
    assert_eq!(b.get_ephemerals(&ns.root).await.unwrap(), vec![eph.clone()]);
    b.close().await;
    // Closing removed the ephemeral at once.
    ns.admin.sync(&eph).await.unwrap();
    assert_eq!(ns.admin.exists(&eph).await, Ok(None));
    // The first client learns it at its next handshake.
    fwd.restore();
    assert_eq!(
        wait_state(&a, "expiry", |s| s.is_terminal()).await,
        SessionState::Expired
    );
    assert_eq!(
        within("session_ended", a.session_ended()).await,
        Error::SessionExpired
    );
    assert_eq!(
        within("pending watch", pending).await,
        Err(Error::SessionExpired)
    );
    assert_eq!(
        within("persistent watch", persistent.next()).await,
        Some(Err(Error::SessionExpired))
    );
    assert_eq!(within("persistent watch", persistent.next()).await, None);
    // Calls fail at once, without a connection.
    let before = fwd.accepted();
    assert_eq!(a.exists(&ns.root).await, Err(Error::SessionExpired));
    assert_eq!(
        a.create(&ns.path("x"), b"", CreateMode::Persistent)
            .await
            .map(|_| ()),
        Err(Error::SessionExpired)
    );
    assert!(matches!(
        a.get_data_w(&eph).await,
        Err(Error::SessionExpired)
    ));
    assert_eq!(fwd.accepted(), before, "no reconnect after expiry");
    a.close().await;
    assert_eq!(
        a.state(),
        SessionState::Expired,
        "close keeps the terminal state"
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn client_judges_expiry_on_its_own_clock() {
    let ns = Namespace::new("self-expiry").await;
    let fwd = Forwarder::start(&peer_list()[0]).await;
    let a = client_via(&fwd, Duration::from_millis(1000)).await;
    let eph = ns.path("eph");
    a.create(&eph, b"", CreateMode::Ephemeral).await.unwrap();
    ns.admin.sync(&eph).await.unwrap();
    let (stat, deleted) = ns.admin.exists_w(&eph).await.unwrap();
    assert!(stat.is_some());
    let (_, pending) = a.exists_w(&ns.path("never")).await.unwrap();
    fwd.cut_off();
    // No server can be reached: after the session timeout the client gives up on its own.
    assert_eq!(
        wait_state(&a, "expiry", |s| s.is_terminal()).await,
        SessionState::Expired
    );
    assert_eq!(
        within("pending watch", pending).await,
        Err(Error::SessionExpired)
    );
    assert_eq!(a.exists("/").await, Err(Error::SessionExpired));
    // The server expires it too, and removes the ephemeral node.
    assert_eq!(
        within("ephemeral removed", deleted).await,
        Ok(ev(EventType::NodeDeleted, &eph))
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn close_removes_ephemerals_at_once() {
    let ns = Namespace::new("close").await;
    let c = client().await;
    let (e1, _) = c
        .create(&ns.path("e-"), b"", CreateMode::EphemeralSequential)
        .await
        .unwrap();
    let e2 = ns.path("e2");
    c.create(&e2, b"", CreateMode::Ephemeral).await.unwrap();
    let (_, pending) = c.exists_w(&ns.path("never")).await.unwrap();
    let clone = c.clone();
    c.close().await;
    assert_eq!(c.state(), SessionState::Closed);
    // Right after close returns: gone (sync: the admin's server has caught up with the leader).
    ns.admin.sync(&ns.root).await.unwrap();
    assert_eq!(ns.admin.exists(&e1).await, Ok(None));
    assert_eq!(ns.admin.exists(&e2).await, Ok(None));
    assert_eq!(within("pending watch", pending).await, Err(Error::Closed));
    assert_eq!(clone.exists("/").await, Err(Error::Closed));
    assert_eq!(clone.session_ended().await, Error::Closed);
    // Closing twice is harmless.
    clone.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn dropping_the_last_handle_closes_the_session() {
    let ns = Namespace::new("drop").await;
    let c = ConnectOptions::default()
        .session_timeout(Duration::from_secs(30))
        .connect(&peers())
        .await
        .unwrap();
    let e = ns.path("e");
    c.create(&e, b"", CreateMode::Ephemeral).await.unwrap();
    ns.admin.sync(&e).await.unwrap();
    let (stat, deleted) = ns.admin.exists_w(&e).await.unwrap();
    assert!(stat.is_some());
    drop(c);
    // Far sooner than the 30 s session timeout would remove it.
    let r = tokio::time::timeout(Duration::from_secs(15), deleted).await;
    assert_eq!(
        r.expect("ephemeral removed by closeSession, not by expiry"),
        Ok(ev(EventType::NodeDeleted, &e))
    );
    ns.cleanup().await;
}
