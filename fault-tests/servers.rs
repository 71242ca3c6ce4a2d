//! ZooKeeper servers killed under a client: the one it is connected to, the leader, and the
//! whole ensemble for a moment.

use crate::support::*;
use std::time::{Duration, Instant};
use zksync::recipes::{LockGuard, RwLock};
use zksync::{Client, CreateMode, SessionState};

/// Checks that `g` is still held by `c`'s session, as the servers see it.
async fn assert_held(f: &Fault, c: &Client, g: &LockGuard, when: &str) {
    assert!(!g.is_lost(), "{when}: guard reports the lock lost");
    let (_, st) = f
        .synced_admin()
        .await
        .get_data(g.node_path())
        .await
        .unwrap_or_else(|e| panic!("{when}: lock node gone: {e}"));
    assert_eq!(
        st.ephemeral_owner,
        c.session_id(),
        "{when}: lock node owned by another session"
    );
}

/// Waits (in the order they happened) for a state that is not connected, then a connected one.
async fn disconnected_and_back(changes: &mut zksync::StateChanges, who: &str) {
    guard(who, async {
        let mut dropped = false;
        while let Some(s) = changes.next().await {
            assert!(!s.is_terminal(), "{who}: session ended ({s:?})");
            dropped |= !s.is_connected();
            if dropped && s.is_connected() {
                return;
            }
        }
        panic!("{who}: the client is gone");
    })
    .await
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn killing_the_clients_server_and_the_leader_keeps_sessions_and_locks() {
    let f = Fault::begin("kill").await;
    let dir = f.path("lock");
    // Not an expiry test: a timeout that comfortably covers a leader election.
    let t = Duration::from_secs(8);
    let all = f.via(&[1, 2, 3, 4, 5]);
    let c = connect(&all, t).await;
    let w = connect(&all, t).await;
    let (c_session, w_session) = (c.session_id(), w.session_id());
    let g = RwLock::new(c.clone(), &dir).write().await.unwrap();
    let wlock = RwLock::new(w.clone(), &dir);
    let mut waiter = tokio::spawn(async move { wlock.write().await });
    let queue = wait_children(&f.admin, &dir, |ch| ch.len() == 2).await;
    let c_log = StateLog::start(&c);
    let w_log = StateLog::start(&w);

    // 1. SIGKILL the server the holder is connected to.
    let victim = connected_node(&c).await;
    // Every transition from here on (the client may be back before the kill script returns).
    let mut changes = c.state_changes();
    let killed = Instant::now();
    f.kill_node(victim).await;
    disconnected_and_back(&mut changes, "holder after its server's death").await;
    let now_on = connected_node(&c).await;
    let moved_after = killed.elapsed();
    assert_ne!(now_on, victim);
    assert_eq!(c.session_id(), c_session, "same session after the kill");
    assert_held(&f, &c, &g, "after killing the holder's server").await;
    assert!(still_blocked(&mut waiter).await, "waiter got in");
    f.start_nodes(&[victim]).await;

    // 2. SIGKILL the leader: every follower drops its clients until a new leader is elected.
    let leader = leader().await;
    let (mut c_changes, mut w_changes) = (c.state_changes(), w.state_changes());
    let killed = Instant::now();
    f.kill_node(leader).await;
    // Both clients are dropped and come back (on whichever servers serve again).
    disconnected_and_back(&mut c_changes, "holder after the leader's death").await;
    disconnected_and_back(&mut w_changes, "waiter after the leader's death").await;
    let c_node = connected_node(&c).await;
    let w_node = connected_node(&w).await;
    let recovered_after = killed.elapsed();
    assert_ne!(c_node, leader);
    assert_ne!(w_node, leader);
    assert_eq!(
        c.session_id(),
        c_session,
        "holder's session after the leader's death"
    );
    assert_eq!(
        w.session_id(),
        w_session,
        "waiter's session after the leader's death"
    );
    assert_held(&f, &c, &g, "after killing the leader").await;
    assert!(still_blocked(&mut waiter).await, "waiter got in");
    let children = f.synced_admin().await.get_children(&dir).await.unwrap().0;
    let mut sorted = children.clone();
    sorted.sort();
    let mut before = queue.clone();
    before.sort();
    assert_eq!(sorted, before, "the lock's queue changed");
    let new_leader = leader_after(leader).await;
    f.start_nodes(&[leader]).await;

    // The waiter's watch survived both kills: the release wakes it.
    g.unlock().await.unwrap();
    let wg = guard("waiter after release", waiter)
        .await
        .unwrap()
        .expect("waiter's acquire");
    assert_eq!(
        f.synced_admin()
            .await
            .get_data(wg.node_path())
            .await
            .unwrap()
            .1
            .ephemeral_owner,
        w_session
    );
    wg.unlock().await.unwrap();
    for (who, log) in [("holder", &c_log), ("waiter", &w_log)] {
        let states = log.states();
        assert!(
            !states.iter().any(|s| s.is_terminal()),
            "{who}'s session ended: {states:?}"
        );
    }
    eprintln!(
        "kill: holder moved from node {victim} to {now_on} in {moved_after:?}; after killing \
         leader {leader} (new leader {new_leader}) both clients were back in {recovered_after:?}"
    );
    c.close().await;
    w.close().await;
    f.finish().await;
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn whole_ensemble_down_for_less_than_the_session_timeout_keeps_the_session() {
    let f = Fault::begin("all-down").await;
    let dir = f.path("lock");
    // Long enough for five JVMs to restart and elect a leader on a loaded 2-core machine.
    let t = Duration::from_secs(10);
    let c = connect(&f.via(&[1, 2, 3, 4, 5]), t).await;
    let session = c.session_id();
    let g = RwLock::new(c.clone(), &dir).write().await.unwrap();
    let eph = f.path("ephemeral");
    c.create(&eph, b"e", CreateMode::Ephemeral).await.unwrap();
    let log = StateLog::start(&c);

    let down = Instant::now();
    let nodes: Vec<usize> = (1..=5).collect();
    let kills: Vec<_> = nodes.iter().map(|&i| f.kill_node(i)).collect();
    for k in kills {
        k.await;
    }
    wait_state(&c, "disconnected", |s| !s.is_connected()).await;
    // The whole ensemble stays down a moment (a fault held).
    tokio::time::sleep(Duration::from_millis(1000)).await;
    f.start_nodes(&nodes).await;
    let serving_after = down.elapsed();
    wait_state(&c, "reconnected", |s| s.is_connected()).await;
    let back_after = down.elapsed();
    assert!(
        back_after < t,
        "the ensemble was away for {back_after:?}, not less than the timeout {t:?}"
    );
    assert_eq!(c.session_id(), session, "same session");
    assert_held(&f, &c, &g, "after the ensemble restart").await;
    let (_, st) = f.synced_admin().await.get_data(&eph).await.unwrap();
    assert_eq!(st.ephemeral_owner, session, "the ephemeral node survived");
    let states = log.states();
    assert!(
        !states.contains(&SessionState::Expired),
        "session expired: {states:?}"
    );
    g.unlock().await.unwrap();
    eprintln!(
        "whole ensemble down: serving again {serving_after:?} after the kill, client back \
         with its session after {back_after:?} (timeout {t:?})"
    );
    c.close().await;
    f.finish().await;
}
