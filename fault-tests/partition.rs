//! Partitions made by disabling proxies (Toxiproxy closes the proxy's listener and every
//! connection through it): long enough to expire a session, or shorter than the timeout.

use crate::support::*;
use std::time::{Duration, Instant};
use zksync::recipes::{DoubleBarrier, LockLost, RwLock};
use zksync::{CreateMode, Error, EventType, SessionState};

/// Slack for "no later than the session timeout" on this client's own clock: timer and
/// scheduling delay on a loaded 2-core machine, not protocol time.
const CLOCK_SLACK: Duration = Duration::from_millis(500);

/// Margin beyond session timeout + one tick for the server to expire a session, delete its
/// nodes and notify a waiter that then re-reads the lock (generous: a hang guard).
const SERVER_MARGIN: Duration = Duration::from_secs(3);

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn hard_cut_of_the_lock_holder_expires_it_and_the_waiter_takes_over() {
    let f = Fault::begin("hard-cut").await;
    let dir = f.path("lock");
    let t = Duration::from_secs(3);
    // The holder's only server is behind zk1; the waiter talks to zk2.
    let holder = connect(&f.via(&[1]), t).await;
    let waiter_client = connect(&f.via(&[2]), t).await;
    assert_eq!(holder.session_timeout(), t, "negotiated timeout");
    let g = RwLock::new(holder.clone(), &dir).write().await.unwrap();
    let lock = RwLock::new(waiter_client.clone(), &dir);
    let waiter = tokio::spawn(async move {
        let g = lock.write().await;
        (Instant::now(), g)
    });
    wait_children(&f.admin, &dir, |c| c.len() == 2).await;

    let cut_start = Instant::now();
    set_enabled(&f.proxy(1).name, false).await;
    let cut = Instant::now(); // the holder cannot have heard from a server after this

    let lost = guard("holder's lost()", g.lost()).await;
    let lost_at = Instant::now();
    // The lease runs out before the client judges its session expired (at the last answer's
    // send time + t): lost() says so first.
    assert_eq!(lost, LockLost::LeaseExpired);
    assert!(g.is_lost());
    wait_state(&holder, "holder's own expiry judgement", |s| {
        s == SessionState::Expired
    })
    .await;
    let (acquired_at, w) = guard("waiter takes over", waiter).await.unwrap();
    let w = w.expect("waiter's acquire");

    let lost_after = lost_at - cut;
    let acquired_after = acquired_at - cut_start;
    eprintln!(
        "hard cut: holder lost() {lost_after:?} after the cut, waiter acquired after \
         {acquired_after:?} (session timeout {t:?})"
    );
    assert!(
        lost_after <= t + CLOCK_SLACK,
        "the cut holder learned of the loss only {lost_after:?} after the cut"
    );
    assert!(
        acquired_after <= t + TICK + SERVER_MARGIN,
        "waiter got the lock only {acquired_after:?} after the cut"
    );
    // The point of the lease: it ends before anybody else can hold the lock.
    assert!(
        g.valid_until() <= acquired_at,
        "the lease ran until {:?} after the waiter acquired",
        g.valid_until() - acquired_at
    );
    // The point of lost(): the holder knows before anybody else can hold the lock.
    assert!(
        lost_at <= acquired_at,
        "the waiter acquired {:?} before the cut holder noticed the loss",
        lost_at - acquired_at
    );
    let (_, st) = f
        .synced_admin()
        .await
        .get_data(w.node_path())
        .await
        .unwrap();
    assert_eq!(st.ephemeral_owner, waiter_client.session_id());
    assert!(
        w.fencing_token() > g.fencing_token(),
        "the new holder's token is larger"
    );
    w.unlock().await.unwrap();
    drop(g);
    waiter_client.close().await;
    f.finish().await;
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn short_cut_reconnects_with_the_same_session_and_keeps_locks_and_watches() {
    let f = Fault::begin("short-cut").await;
    let dir = f.path("lock");
    let t = Duration::from_secs(4);

    // H holds the lock, through zk1 and zk2; W waits for it, through zk3 and zk4.
    let h = connect(&f.via(&[1, 2]), t).await;
    let h_session = h.session_id();
    let g = RwLock::new(h.clone(), &dir).write().await.unwrap();
    let w = connect(&f.via(&[3, 4]), t).await;
    let w_session = w.session_id();
    let wlock = RwLock::new(w.clone(), &dir);
    let mut waiter = tokio::spawn(async move { wlock.write().await });
    wait_children(&f.admin, &dir, |c| c.len() == 2).await;

    // 1. H's server is cut off while a call is in flight: the call fails with connection
    //    loss, H moves to its other server with the same session, the lock stays held.
    let h_node = connected_node(&h).await;
    let h_other = if h_node == 1 { 2 } else { 1 };
    let h_log = StateLog::start(&h);
    add_toxic(&f.proxy(h_node).name, DOWN, Toxic::Timeout { ms: 0 }).await;
    let (h2, probe) = (h.clone(), dir.clone());
    let mut call = tokio::spawn(async move { h2.get_children(&probe).await });
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut call)
            .await
            .is_err(),
        "a reply got through a timeout toxic"
    );
    let cut = Instant::now();
    set_enabled(&f.proxy(h_node).name, false).await;
    let r = guard("in-flight call", call).await.unwrap();
    assert_eq!(r.unwrap_err(), Error::ConnectionLoss, "in-flight call");
    let now_on = connected_node(&h).await;
    let moved_after = cut.elapsed();
    assert_eq!(now_on, h_other, "H reconnects to its other server");
    assert_eq!(h.session_id(), h_session, "same session");
    assert!(
        moved_after < t,
        "H reconnected only after {moved_after:?} (session timeout {t:?})"
    );
    assert!(!g.is_lost(), "a short cut does not lose the lock");
    let (_, st) = f
        .synced_admin()
        .await
        .get_data(g.node_path())
        .await
        .unwrap();
    assert_eq!(st.ephemeral_owner, h_session, "H's lock node is still H's");
    assert!(still_blocked(&mut waiter).await, "W got in while H holds");
    let states = h_log.states();
    assert!(
        !states.iter().any(|s| s.is_terminal()),
        "H's session ended: {states:?}"
    );
    assert!(
        states
            .iter()
            .any(|s| matches!(s, SessionState::Disconnected { .. })),
        "H never saw the cut: {states:?}"
    );

    // 2. W is cut off from both its servers; meanwhile H releases the lock and a watched node
    //    appears. W comes back through the server it was not on: its watches are re-armed
    //    with the changes it missed, so it wakes, takes the lock, and sees the new node.
    let flag = f.path("flag");
    let (none, flag_watch) = w.exists_w(&flag).await.unwrap();
    assert!(none.is_none());
    let w_node = connected_node(&w).await;
    let w_other = if w_node == 3 { 4 } else { 3 };
    let w_log = StateLog::start(&w);
    set_enabled(&f.proxy(3).name, false).await;
    set_enabled(&f.proxy(4).name, false).await;
    let w_cut = Instant::now();
    wait_state(&w, "W disconnected", |s| {
        matches!(s, SessionState::Disconnected { .. })
    })
    .await;
    g.unlock().await.expect("H releases during W's cut");
    f.admin
        .create(&flag, b"", CreateMode::Persistent)
        .await
        .unwrap();
    // Hold the partition a little while the lock changes hands (a fault held, not a wait).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiter.is_finished(), "W acquired while cut off");
    set_enabled(&f.proxy(w_other).name, true).await;
    let wg = guard("W wakes after the cut", waiter)
        .await
        .unwrap()
        .expect("W's acquire");
    let w_cut_for = w_cut.elapsed();
    let ev = guard("W's exists watch", flag_watch)
        .await
        .expect("watch result");
    assert_eq!(ev.event_type, EventType::NodeCreated);
    assert_eq!(w.session_id(), w_session, "same session");
    assert_eq!(connected_node(&w).await, w_other);
    assert!(
        w_cut_for < t,
        "W was cut for {w_cut_for:?} (session timeout {t:?})"
    );
    let states = w_log.states();
    assert!(
        !states.iter().any(|s| s.is_terminal()),
        "W's session ended: {states:?}"
    );
    let (_, st) = f
        .synced_admin()
        .await
        .get_data(wg.node_path())
        .await
        .unwrap();
    assert_eq!(st.ephemeral_owner, w_session);
    assert!(!wg.is_lost());
    eprintln!(
        "short cut: H moved from node {h_node} to {h_other} in {moved_after:?}; W was cut \
         for {w_cut_for:?} and came back on node {w_other}"
    );
    wg.unlock().await.unwrap();
    // Nothing was lost: both sessions alive, the lock empty.
    assert!(f
        .synced_admin()
        .await
        .get_children(&dir)
        .await
        .unwrap()
        .0
        .is_empty());
    assert!(h.get_data(&flag).await.is_ok() && w.get_data(&flag).await.is_ok());
    h.close().await;
    w.close().await;
    f.finish().await;
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn double_barrier_participants_leave_without_a_partitioned_one() {
    let f = Fault::begin("dbar-partition").await;
    let path = f.path("barrier");
    let t = Duration::from_secs(3);
    // "a" has the lowest id: the others wait for it to leave last. It is cut off for good.
    let ids = ["a", "b", "c"];
    let mut clients = Vec::new();
    for node in 1..=3 {
        clients.push(connect(&f.via(&[node]), t).await);
    }
    let bars: Vec<DoubleBarrier> = ids
        .iter()
        .zip(&clients)
        .map(|(id, c)| DoubleBarrier::new(c.clone(), &path, id, 3))
        .collect();
    let (r0, r1, r2) = guard("enter", async {
        tokio::join!(bars[0].enter(), bars[1].enter(), bars[2].enter())
    })
    .await;
    r0.unwrap();
    r1.unwrap();
    r2.unwrap();

    let cut = Instant::now();
    set_enabled(&f.proxy(1).name, false).await;
    let (b, c) = (bars[1].clone(), bars[2].clone());
    let left = guard("b and c leave", async {
        tokio::join!(b.leave(), c.leave())
    })
    .await;
    let left_after = cut.elapsed();
    left.0.expect("b leaves");
    left.1.expect("c leaves");
    assert!(
        left_after <= t + TICK + SERVER_MARGIN,
        "the others left only {left_after:?} after the cut"
    );
    // The partitioned participant learns that its session is gone.
    let a_leave = guard("a's leave fails", bars[0].leave()).await;
    assert_eq!(a_leave, Err(Error::SessionExpired));
    assert_eq!(
        f.synced_admin().await.exists(&path).await.unwrap(),
        None,
        "barrier removed by the last to leave"
    );
    eprintln!("double barrier: b and c left {left_after:?} after a was cut off (timeout {t:?})");
    for c in &clients[1..] {
        c.close().await;
    }
    f.finish().await;
}
