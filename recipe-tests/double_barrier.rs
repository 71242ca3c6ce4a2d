//! DoubleBarrier against a real ensemble.

use std::time::Duration;
use zksync::recipes::DoubleBarrier;
use zksync::{Client, CreateMode, Error};
use zksync_test_support::*;

async fn participants(n: usize) -> Vec<Client> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(client().await);
    }
    v
}

#[tokio::test]
async fn five_enter_together_and_leave_together() {
    let ns = Namespace::new("dbar-five").await;
    let path = ns.path("b");
    let clients = participants(5).await;
    let mut entering = Vec::new();
    for (i, c) in clients.iter().take(4).enumerate() {
        let b = DoubleBarrier::new(c.clone(), &path, &format!("p{i}"), 5);
        entering.push(tokio::spawn(async move { b.enter().await.map(|()| b) }));
    }
    wait_children(&clients[0], &path, |c| c.len() == 4).await;
    for e in &mut entering {
        assert!(still_blocked(e).await, "entered with only 4 of 5");
    }
    let fifth = DoubleBarrier::new(clients[4].clone(), &path, "p4", 5);
    guard("fifth enters", fifth.enter()).await.unwrap();
    let mut inside = Vec::new();
    for e in entering {
        inside.push(guard("released by the fifth", e).await.unwrap().unwrap());
    }
    // Four leave; they block until the fifth leaves too.
    let mut leaving = Vec::new();
    for b in inside {
        leaving.push(tokio::spawn(async move { b.leave().await }));
    }
    wait_children(&clients[0], &path, |c| {
        c.iter().filter(|n| n.starts_with('p')).count() <= 2
    })
    .await;
    for l in &mut leaving {
        assert!(still_blocked(l).await, "left before the fifth");
    }
    guard("fifth leaves", fifth.leave()).await.unwrap();
    for l in leaving {
        guard("others leave", l).await.unwrap().unwrap();
    }
    assert_eq!(
        ns.synced_admin().await.exists(&path).await.unwrap(),
        None,
        "barrier node removed after the last leave"
    );
    for c in clients {
        c.close().await;
    }
    ns.cleanup().await;
}

#[tokio::test]
async fn single_participant_enter_leave_removes_path() {
    let ns = Namespace::new("dbar-single").await;
    let path = ns.path("b");
    let c = client().await;
    let b = DoubleBarrier::new(c.clone(), &path, "only", 1);
    guard("enter", b.enter()).await.unwrap();
    assert!(c.exists(&format!("{path}/ready")).await.unwrap().is_some());
    guard("leave", b.leave()).await.unwrap();
    assert_eq!(c.exists(&path).await.unwrap(), None);
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn cancelled_enter_removes_own_node() {
    let ns = Namespace::new("dbar-cancel").await;
    let path = ns.path("b");
    let c = client().await;
    let b = DoubleBarrier::new(c.clone(), &path, "quitter", 3);
    // Boxed, so that `drop` below really drops the future (as a timeout or select! would).
    let mut enter = Box::pin(b.enter());
    // Cancel the enter only once its node is there (seen by another session).
    let admin = ns.synced_admin().await;
    tokio::select! {
        r = &mut enter => panic!("enter of 1 of 3 returned: {r:?}"),
        _ = wait_children(admin, &path, |ch| ch.iter().any(|n| n == "quitter")) => {}
    }
    let (_, st) = admin.get_data(&format!("{path}/quitter")).await.unwrap();
    assert_eq!(st.ephemeral_owner, c.session_id(), "the waiter's own node");
    drop(enter);
    wait_children(admin, &path, |ch| !ch.iter().any(|n| n == "quitter")).await;
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn cancelled_leave_removes_own_node_so_the_others_can_leave() {
    let ns = Namespace::new("dbar-cancel-leave").await;
    let path = ns.path("b");
    let clients = participants(2).await;
    // "a" is the lowest id: it leaves last, waiting for "b" to be gone.
    let a = DoubleBarrier::new(clients[0].clone(), &path, "a", 2);
    let b = DoubleBarrier::new(clients[1].clone(), &path, "b", 2);
    let (ea, eb) = tokio::join!(a.enter(), b.enter());
    ea.unwrap();
    eb.unwrap();
    // a gives up waiting to leave (a timeout around `leave`): the dropped leave must not leave
    // a's node behind, or b, which waits for the lowest participant to be gone, waits until
    // a's session ends (never, while a's process lives).
    let mut leaving = Box::pin(a.leave());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut leaving)
            .await
            .is_err(),
        "a left while b was still inside"
    );
    drop(leaving);
    let admin = ns.synced_admin().await;
    wait_children(admin, &path, |ch| !ch.iter().any(|n| n == "a")).await;
    guard("b leaves after a's cancelled leave", b.leave())
        .await
        .unwrap();
    for c in clients {
        c.close().await;
    }
    ns.cleanup().await;
}

/// The ephemeral owner of `path` as the admin sees it after catching up.
async fn owner(ns: &Namespace, path: &str) -> Option<i64> {
    let admin = ns.synced_admin().await;
    admin
        .exists(path)
        .await
        .unwrap()
        .map(|st| st.ephemeral_owner)
}

/// Fails the test if `watch` (armed on a node) reports a deletion within `within`. A bounded
/// wait for a negative: a wrongly queued background delete runs within a few round trips.
async fn assert_not_deleted_within(watch: zksync::OneshotWatch, within: Duration, what: &str) {
    if let Ok(ev) = tokio::time::timeout(within, watch).await {
        let ev = ev.expect("watch");
        if ev.event_type == zksync::EventType::NodeDeleted {
            panic!("{what}: the other participant's node was deleted ({ev:?})");
        }
    }
}

#[tokio::test]
async fn a_taken_id_does_not_delete_the_live_participants_node() {
    let ns = Namespace::new("dbar-taken").await;
    let path = ns.path("b");
    let node = format!("{path}/x");
    let a = client().await;
    let b = client().await;
    let bar_a = DoubleBarrier::new(a.clone(), &path, "x", 3);
    let mut entering = tokio::spawn(async move { bar_a.enter().await });
    wait_children(ns.synced_admin().await, &path, |ch| {
        ch.iter().any(|n| n == "x")
    })
    .await;
    assert_eq!(owner(&ns, &node).await, Some(a.session_id()), "A's node");
    let (_, _, watch) = ns.admin.get_data_w(&node).await.unwrap();

    let r = guard(
        "enter with a taken id",
        DoubleBarrier::new(b.clone(), &path, "x", 3).enter(),
    )
    .await;
    assert!(
        r.as_ref().is_err_and(Error::is_node_exists),
        "enter with an id another session holds fails with NodeExists: {r:?}"
    );
    // B may have queued a clean-up: give it the time to run, then close B (which sends
    // anything queued before the session ends).
    assert_not_deleted_within(watch, Duration::from_secs(3), "after B's failed enter").await;
    b.close().await;
    assert_eq!(
        owner(&ns, &node).await,
        Some(a.session_id()),
        "A's node survives B's failed enter"
    );
    assert!(still_blocked(&mut entering).await, "A still waits for 3");
    entering.abort();
    a.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn leave_with_a_taken_id_does_not_delete_the_other_participants_node() {
    let ns = Namespace::new("dbar-taken-leave").await;
    let path = ns.path("b");
    let node = format!("{path}/x");
    let a = client().await;
    let b = client().await;
    let bar_a = DoubleBarrier::new(a.clone(), &path, "x", 1);
    guard("A enters alone", bar_a.enter()).await.unwrap();
    assert_eq!(owner(&ns, &node).await, Some(a.session_id()), "A's node");
    let (_, _, watch) = ns.admin.get_data_w(&node).await.unwrap();

    // B never entered but uses the same id. Whether its leave fails, returns or waits for A
    // is up to the recipe (a wait is cut short here); it must not remove A's node.
    let bar_b = DoubleBarrier::new(b.clone(), &path, "x", 1);
    let r = tokio::time::timeout(Duration::from_secs(3), bar_b.leave()).await;
    eprintln!("leave with a taken id: {r:?}");
    assert_not_deleted_within(watch, Duration::from_secs(2), "after B's leave").await;
    b.close().await;
    assert_eq!(
        owner(&ns, &node).await,
        Some(a.session_id()),
        "A's node survives B's leave"
    );
    guard("A leaves", bar_a.leave()).await.unwrap();
    a.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn too_many_participants_is_an_error() {
    let ns = Namespace::new("dbar-full").await;
    let path = ns.path("b");
    let clients = participants(3).await;
    let a = DoubleBarrier::new(clients[0].clone(), &path, "a", 2);
    let b = DoubleBarrier::new(clients[1].clone(), &path, "b", 2);
    let (ra, rb) = tokio::join!(a.enter(), b.enter());
    ra.unwrap();
    rb.unwrap();
    let c = DoubleBarrier::new(clients[2].clone(), &path, "c", 2);
    assert_eq!(
        guard("third enters", c.enter()).await,
        Err(Error::BarrierFull { count: 2 })
    );
    assert!(
        clients[2]
            .exists(&format!("{path}/c"))
            .await
            .unwrap()
            .is_none(),
        "the extra node is removed"
    );
    let (la, lb) = tokio::join!(a.leave(), b.leave());
    la.unwrap();
    lb.unwrap();
    for c in clients {
        c.close().await;
    }
    ns.cleanup().await;
}

#[tokio::test]
async fn dead_participant_does_not_block_leave() {
    let ns = Namespace::new("dbar-dead").await;
    let path = ns.path("b");
    let clients = participants(3).await;
    let bars: Vec<_> = ["a", "b", "c"]
        .iter()
        .zip(&clients)
        .map(|(id, c)| DoubleBarrier::new(c.clone(), &path, id, 3))
        .collect();
    let (r0, r1, r2) = tokio::join!(bars[0].enter(), bars[1].enter(), bars[2].enter());
    r0.unwrap();
    r1.unwrap();
    r2.unwrap();
    // "a" (the lowest, which leaves last) dies: its session closes, its node goes.
    clients[0].close().await;
    let (l1, l2) = tokio::join!(
        guard("b leaves", bars[1].leave()),
        guard("c leaves", bars[2].leave())
    );
    l1.unwrap();
    l2.unwrap();
    assert_eq!(
        ns.synced_admin().await.exists(&path).await.unwrap(),
        None,
        "barrier removed although a participant died"
    );
    for c in &clients[1..] {
        c.close().await;
    }
    ns.cleanup().await;
}

#[tokio::test]
async fn stale_ready_does_not_release_next_round_early() {
    let ns = Namespace::new("dbar-stale").await;
    let path = ns.path("b");
    let c = client().await;
    // A previous round whose participants all died left its `ready` behind.
    c.create(&path, b"", CreateMode::Persistent).await.unwrap();
    c.create(&format!("{path}/ready"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    let clients = participants(2).await;
    let first = DoubleBarrier::new(clients[0].clone(), &path, "x", 2);
    let mut entering = tokio::spawn(async move { first.enter().await.map(|()| first) });
    wait_children(&c, &path, |ch| ch.iter().any(|n| n == "x")).await;
    assert!(
        still_blocked(&mut entering).await,
        "a stale ready let a lone participant through"
    );
    let second = DoubleBarrier::new(clients[1].clone(), &path, "y", 2);
    guard("second enters", second.enter()).await.unwrap();
    let first = guard("first enters", entering).await.unwrap().unwrap();
    let (l1, l2) = tokio::join!(first.leave(), second.leave());
    l1.unwrap();
    l2.unwrap();
    for cl in clients {
        cl.close().await;
    }
    c.close().await;
    ns.cleanup().await;
}
