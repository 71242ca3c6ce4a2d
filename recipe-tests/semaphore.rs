//! Semaphore against a real ensemble.

use crate::rwlock::watched_paths;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zksync::recipes::naming::{self, QueueKind};
use zksync::recipes::{LockLost, Permit, Semaphore};
use zksync::{ConnectOptions, Error};
use zksync_test_support::*;

/// Permit nodes under `dir`, as another session sees them after a sync.
async fn permit_nodes(admin: &zksync::Client, dir: &str) -> Vec<String> {
    admin.sync(dir).await.unwrap();
    let (children, _) = admin.get_children(dir).await.unwrap();
    children
        .into_iter()
        .filter(|c| naming::parse_queue_node(c).is_some_and(|n| n.kind == QueueKind::Permit))
        .collect()
}

#[tokio::test]
async fn n_plus_one_contenders_on_n_permits_exactly_n_hold() {
    let ns = Namespace::new("sem-n1").await;
    let dir = ns.path("sem");
    let mut clients = Vec::new();
    let mut permits = Vec::new();
    for _ in 0..3 {
        let c = client().await;
        let p = guard(
            "one of 3 permits",
            Semaphore::new(c.clone(), &dir, 3).acquire(),
        )
        .await
        .unwrap();
        permits.push(p);
        clients.push(c);
    }
    let last = client().await;
    let sem = Semaphore::new(last.clone(), &dir, 3);
    let mut waiter = tokio::spawn(async move { sem.acquire().await });
    let admin = ns.synced_admin().await;
    wait_children(admin, &dir, |c| c.len() == 4).await;
    assert!(
        still_blocked(&mut waiter).await,
        "a 4th permit of 3 was granted"
    );
    // The semaphore's node records the number of permits.
    assert_eq!(&admin.get_data(&dir).await.unwrap().0[..], b"3");
    // Tokens are the nodes' czxids, growing with each grant.
    let tokens: Vec<i64> = permits.iter().map(Permit::token).collect();
    assert!(tokens.windows(2).all(|w| w[0] < w[1]), "{tokens:?}");
    let (_, st) = admin.get_data(permits[0].node_path()).await.unwrap();
    assert_eq!(permits[0].token(), st.czxid);
    // Releasing the middle one (not the first: any holder's release must let the waiter in).
    let p = permits.remove(1);
    p.release().await.unwrap();
    let fourth = guard("the waiter after a release", waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(fourth.token() > tokens[2]);
    assert_eq!(permit_nodes(admin, &dir).await.len(), 3);
    fourth.release().await.unwrap();
    for p in permits {
        p.release().await.unwrap();
    }
    assert!(permit_nodes(admin, &dir).await.is_empty(), "no node left");
    for c in clients {
        c.close().await;
    }
    last.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn processes_that_disagree_on_max_get_a_clear_error_and_leave_nothing() {
    let ns = Namespace::new("sem-mismatch").await;
    let dir = ns.path("sem");
    let a = client().await;
    let held = Semaphore::new(a.clone(), &dir, 2).acquire().await.unwrap();
    let b = client().await;
    let refused = Semaphore::new(b.clone(), &dir, 5).acquire().await;
    match &refused {
        Err(Error::SemaphoreMismatch {
            path,
            stored,
            requested,
        }) => {
            assert_eq!(
                (path.as_str(), stored.as_str(), *requested),
                (dir.as_str(), "2", 5)
            );
        }
        other => panic!("expected SemaphoreMismatch, got {other:?}"),
    }
    let msg = refused.unwrap_err().to_string();
    assert!(msg.contains("2 permits, not 5"), "{msg}");
    assert_eq!(
        Semaphore::new(b.clone(), &dir, 5)
            .try_acquire()
            .await
            .map(|p| p.is_some()),
        Err(Error::SemaphoreMismatch {
            path: dir.clone(),
            stored: "2".into(),
            requested: 5
        })
    );
    assert!(matches!(
        Semaphore::new(b.clone(), &dir, 0).acquire().await,
        Err(Error::InvalidArgument(_))
    ));
    // The refused attempts' nodes (the check and the create go out together) are removed by
    // the driver: only the holder's stays.
    let admin = ns.synced_admin().await;
    wait_children(admin, &dir, |c| c.len() == 1).await;
    assert_eq!(
        permit_nodes(admin, &dir).await,
        vec![held.node_path().rsplit('/').next().unwrap().to_string()]
    );
    // The same number works; an empty node (made by someone else) is claimed.
    let again = Semaphore::new(b.clone(), &dir, 2).acquire().await.unwrap();
    again.release().await.unwrap();
    held.release().await.unwrap();
    let other = ns.path("made-empty");
    admin
        .create(&other, b"", zksync::CreateMode::Persistent)
        .await
        .unwrap();
    let p = Semaphore::new(b.clone(), &other, 4)
        .acquire()
        .await
        .unwrap();
    assert_eq!(&admin.get_data(&other).await.unwrap().0[..], b"4");
    p.release().await.unwrap();
    a.close().await;
    b.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn try_acquire_on_a_full_semaphore_returns_none_and_leaves_no_node() {
    let ns = Namespace::new("sem-try").await;
    let dir = ns.path("sem");
    let c = client().await;
    let sem = Semaphore::new(c.clone(), &dir, 1);
    let held = sem.try_acquire().await.unwrap().expect("a free permit");
    assert!(sem.try_acquire().await.unwrap().is_none());
    let admin = ns.synced_admin().await;
    assert_eq!(permit_nodes(admin, &dir).await.len(), 1);
    held.release().await.unwrap();
    let again = sem.try_acquire().await.unwrap().expect("free again");
    again.release().await.unwrap();
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn cancelled_acquire_and_dropped_permit_leave_no_node() {
    let ns = Namespace::new("sem-cancel").await;
    let dir = ns.path("sem");
    let c = client().await;
    let held = Semaphore::new(c.clone(), &dir, 1).acquire().await.unwrap();
    let c2 = client().await;
    let sem = Semaphore::new(c2.clone(), &dir, 1);
    let mut acquire = Box::pin(sem.acquire());
    let admin = ns.synced_admin().await;
    tokio::select! {
        r = &mut acquire => panic!("acquired while full: {r:?}"),
        _ = wait_children(admin, &dir, |ch| ch.len() == 2) => {}
    }
    drop(acquire);
    wait_children(admin, &dir, |ch| ch.len() == 1).await;
    drop(held); // released by the driver
    wait_children(admin, &dir, |ch| ch.is_empty()).await;
    c.close().await;
    c2.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn waiters_watch_only_the_max_nearest_permits_and_every_release_order_drains_the_queue() {
    let ns = Namespace::new("sem-watch").await;
    let dir = ns.path("sem");
    let host = peer_list()[0].clone();
    let admin = client_to(&host).await;
    let max = 2;
    let mut holders = Vec::new();
    for _ in 0..max {
        holders.push(
            Semaphore::new(admin.clone(), &dir, max)
                .acquire()
                .await
                .unwrap(),
        );
    }
    let inside = Arc::new(AtomicUsize::new(max as usize));
    let most = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut clients = Vec::new();
    for _ in 0..6 {
        let c = client_to(&host).await;
        clients.push(c.clone());
        let sem = Semaphore::new(c, &dir, max);
        let tx = tx.clone();
        let (inside, most) = (inside.clone(), most.clone());
        tokio::spawn(async move {
            let p = sem.acquire().await.unwrap();
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            let _ = tx.send(p);
        });
        // One at a time, so the queue order is known.
        wait_children(&admin, &dir, |ch| ch.len() == max as usize + clients.len()).await;
    }
    let watched = guard("12 watches armed", async {
        loop {
            let w = watched_paths(&host, &dir).await;
            if w.values().sum::<usize>() >= 12 {
                return w;
            }
            tokio::time::sleep(Duration::from_millis(50)).await; // polling the server's view
        }
    })
    .await;
    assert!(
        !watched.contains_key(&dir),
        "nobody watches the children: {watched:?}"
    );
    assert!(
        watched.values().all(|&n| n <= max as usize),
        "a node is watched by more than max waiters: {watched:?}"
    );
    // Release the second holder first: the first waiter must not be stuck on the first.
    inside.fetch_sub(1, Ordering::SeqCst);
    holders.pop().unwrap().release().await.unwrap();
    let mut got = vec![guard("waiter 1", rx.recv()).await.unwrap()];
    inside.fetch_sub(1, Ordering::SeqCst);
    holders.pop().unwrap().release().await.unwrap();
    got.push(guard("waiter 2", rx.recv()).await.unwrap());
    // Then drain, releasing the newer of the two holders each time.
    for i in 3..=6 {
        let p = got.pop().unwrap();
        inside.fetch_sub(1, Ordering::SeqCst);
        p.release().await.unwrap();
        got.push(guard(&format!("waiter {i}"), rx.recv()).await.unwrap());
    }
    assert!(
        most.load(Ordering::SeqCst) <= max as usize,
        "more than max inside"
    );
    for p in got {
        p.release().await.unwrap();
    }
    for c in clients {
        c.close().await;
    }
    admin.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn a_cut_off_holder_loses_its_permit_before_the_waiter_gets_it() {
    let ns = Namespace::new("sem-expiry").await;
    let dir = ns.path("sem");
    let fwd = Forwarder::start(&peer_list()[0]).await;
    let holder = ConnectOptions::default()
        .session_timeout(Duration::from_millis(2000))
        .connect(&fwd.addr)
        .await
        .unwrap();
    let p = Semaphore::new(holder.clone(), &dir, 1)
        .acquire()
        .await
        .unwrap();
    let wc = client().await;
    let sem = Semaphore::new(wc.clone(), &dir, 1);
    let waiter = tokio::spawn(async move {
        let p = sem.acquire().await;
        (Instant::now(), p)
    });
    wait_children(&wc, &dir, |c| c.len() == 2).await;
    fwd.blackhole(true);
    assert_eq!(
        guard("holder's loss", p.lost()).await,
        LockLost::LeaseExpired
    );
    assert!(p.is_lost());
    let (acquired_at, w) = guard("waiter after expiry", waiter).await.unwrap();
    let w = w.unwrap();
    assert!(
        p.valid_until() <= acquired_at,
        "lease ran past the next grant"
    );
    assert!(w.token() > p.token());
    w.release().await.unwrap();
    drop(p);
    wc.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn stress_six_clients_on_two_permits_never_three() {
    let ns = Namespace::new("sem-stress").await;
    let dir = ns.path("sem");
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let c = client().await;
        let sem = Semaphore::new(c.clone(), &dir, 2);
        let (inside, most) = (inside.clone(), most.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..15 {
                let p = sem.acquire().await.unwrap();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Work that takes a while (not a synchronisation: nothing waits on it).
                tokio::time::sleep(Duration::from_millis(5)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
                p.release().await.unwrap();
            }
            c.close().await;
        }));
    }
    for t in tasks {
        guard("a stress client", t).await.unwrap();
    }
    let most = most.load(Ordering::SeqCst);
    assert!(most <= 2, "{most} permits of 2 held at once");
    assert_eq!(
        most, 2,
        "two permits were never held at once: the semaphore serialised"
    );
    let admin = ns.synced_admin().await;
    assert!(permit_nodes(admin, &dir).await.is_empty());
    ns.cleanup().await;
}
