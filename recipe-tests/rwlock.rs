//! RwLock and Mutex against a real ensemble.

use std::sync::Arc;
use std::time::{Duration, Instant};
use zksync::proto::OpCode;
use zksync::recipes::{naming, LockKind, LockLost, Mutex, RwLock};
use zksync::{ConnectOptions, CreateMode, SessionState};
use zksync_test_support::*;

#[tokio::test]
async fn read_lock_alone_and_write_lock_alone() {
    let ns = Namespace::new("rw-alone").await;
    let c = client().await;
    let lock = RwLock::new(c.clone(), &ns.path("lock"));
    let r = lock.read().await.unwrap();
    assert_eq!(r.kind(), LockKind::Read);
    let (children, _) = c.get_children(&ns.path("lock")).await.unwrap();
    assert_eq!(children.len(), 1);
    let node = naming::parse(&children[0]).expect("lock node name");
    assert_eq!(node.kind, LockKind::Read);
    assert!(
        children[0].starts_with("_c_") && children[0][3..35].bytes().all(|b| b.is_ascii_hexdigit())
    );
    // The token is the node's czxid; the sequence number is the queue position.
    let (_, st) = c.get_data(r.node_path()).await.unwrap();
    assert_eq!(r.fencing_token(), st.czxid);
    assert_eq!(r.sequence(), node.seq);
    let read_token = r.fencing_token();
    r.unlock().await.unwrap();
    let w = lock.write().await.unwrap();
    assert_eq!(w.kind(), LockKind::Write);
    assert!(w.fencing_token() > read_token, "tokens grow");
    w.unlock().await.unwrap();
    assert!(
        c.get_children(&ns.path("lock")).await.unwrap().0.is_empty(),
        "unlock removes the node"
    );
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn five_readers_hold_concurrently() {
    let ns = Namespace::new("rw-readers").await;
    let mut guards = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..5 {
        let c = client().await;
        let lock = RwLock::new(c.clone(), &ns.path("lock"));
        guards.push(guard("read", lock.read()).await.unwrap());
        clients.push(c);
    }
    let admin = ns.synced_admin().await;
    let (children, _) = admin.get_children(&ns.path("lock")).await.unwrap();
    assert_eq!(children.len(), 5, "all five readers hold at once");
    for g in guards {
        g.unlock().await.unwrap();
    }
    for c in clients {
        c.close().await;
    }
    ns.cleanup().await;
}

#[tokio::test]
async fn writer_blocks_readers_and_release_unblocks_them() {
    let ns = Namespace::new("rw-wblocks").await;
    let dir = ns.path("lock");
    let wc = client().await;
    let w = RwLock::new(wc.clone(), &dir).write().await.unwrap();
    let rc = client().await;
    let mut readers = Vec::new();
    for _ in 0..3 {
        let lock = RwLock::new(rc.clone(), &dir);
        readers.push(tokio::spawn(async move { lock.read().await }));
    }
    wait_children(&wc, &dir, |c| c.len() == 4).await;
    for r in &mut readers {
        assert!(
            still_blocked(r).await,
            "a reader got in while a writer holds the lock"
        );
    }
    w.unlock().await.unwrap();
    let mut guards = Vec::new();
    for r in readers {
        guards.push(guard("reader after release", r).await.unwrap().unwrap());
    }
    assert_eq!(guards.len(), 3, "all readers share after the writer left");
    for g in guards {
        g.unlock().await.unwrap();
    }
    wc.close().await;
    rc.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn reader_blocks_writer_until_released() {
    let ns = Namespace::new("rw-rblocks").await;
    let dir = ns.path("lock");
    let c1 = client().await;
    let c2 = client().await;
    let r = RwLock::new(c1.clone(), &dir).read().await.unwrap();
    let lock2 = RwLock::new(c2.clone(), &dir);
    let mut writer = tokio::spawn(async move { lock2.write().await });
    wait_children(&c1, &dir, |c| c.len() == 2).await;
    assert!(still_blocked(&mut writer).await);
    assert!(
        RwLock::new(c1.clone(), &dir)
            .try_write()
            .await
            .unwrap()
            .is_none(),
        "try_write fails while held"
    );
    r.unlock().await.unwrap();
    let w = guard("writer", writer).await.unwrap().unwrap();
    // A reader arriving now queues behind the writer.
    assert!(RwLock::new(c1.clone(), &dir)
        .try_read()
        .await
        .unwrap()
        .is_none());
    w.unlock().await.unwrap();
    catch_up(&c1, &ns.root).await; // the writer's unlock went through c2's server
    let children = c1.get_children(&dir).await.unwrap().0;
    assert!(children.is_empty(), "try_* leave no node: {children:?}");
    c1.close().await;
    c2.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn queued_writers_acquire_in_fifo_order() {
    let ns = Namespace::new("rw-fifo").await;
    let dir = ns.path("lock");
    let c = client().await;
    let first = RwLock::new(c.clone(), &dir).write().await.unwrap();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..5 {
        let wc = client().await;
        let lock = RwLock::new(wc.clone(), &dir);
        let order = order.clone();
        tasks.push(tokio::spawn(async move {
            let g = lock.write().await.unwrap();
            order.lock().unwrap().push((i, g.fencing_token()));
            g.unlock().await.unwrap();
            wc.close().await;
        }));
        // Each waiter's node must exist before the next one queues.
        wait_children(&c, &dir, move |ch| ch.len() == i + 2).await;
    }
    first.unlock().await.unwrap();
    for t in tasks {
        guard("writer", t).await.unwrap();
    }
    let order = order.lock().unwrap().clone();
    let ids: Vec<usize> = order.iter().map(|&(i, _)| i).collect();
    assert_eq!(ids, vec![0, 1, 2, 3, 4], "writers served in arrival order");
    assert!(
        order.windows(2).all(|w| w[0].1 < w[1].1),
        "fencing tokens increase: {order:?}"
    );
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn clean_close_of_holder_lets_waiter_in() {
    let ns = Namespace::new("rw-close").await;
    let dir = ns.path("lock");
    let holder = client().await;
    let _g = RwLock::new(holder.clone(), &dir).write().await.unwrap();
    let wc = client().await;
    let lock = RwLock::new(wc.clone(), &dir);
    let waiter = tokio::spawn(async move { lock.write().await });
    wait_children(&wc, &dir, |c| c.len() == 2).await;
    holder.close().await; // closeSession: the server deletes the node at once
    let g = guard("waiter after close", waiter).await.unwrap().unwrap();
    g.unlock().await.unwrap();
    wc.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn holder_session_expiry_lets_waiter_in_and_guard_reports_lost() {
    let ns = Namespace::new("rw-expiry").await;
    let dir = ns.path("lock");
    let first = peer_list()[0].clone();
    let fwd = Forwarder::start(&first).await;
    let timeout = Duration::from_millis(2000);
    let holder = ConnectOptions::default()
        .session_timeout(timeout)
        .connect(&fwd.addr)
        .await
        .unwrap();
    let g = RwLock::new(holder.clone(), &dir).write().await.unwrap();
    let wc = client().await;
    let lock = RwLock::new(wc.clone(), &dir);
    let waiter = tokio::spawn(async move {
        let g = lock.write().await;
        (Instant::now(), g)
    });
    wait_children(&wc, &dir, |c| c.len() == 2).await;

    let cut_at = Instant::now();
    fwd.blackhole(true);
    let lost = guard("holder notices the loss", g.lost()).await;
    let lost_after = cut_at.elapsed();
    // The lease runs out first (before the client's own expiry judgement, and before any
    // server can have expired the session).
    assert_eq!(lost, LockLost::LeaseExpired);
    assert!(g.is_lost());
    let (acquired_at, w) = guard("waiter after expiry", waiter).await.unwrap();
    let w = w.unwrap();
    let acquired_after = acquired_at - cut_at;
    assert!(
        g.valid_until() <= acquired_at,
        "the holder's lease ran until {:?} after the waiter acquired",
        g.valid_until() - acquired_at
    );
    let negotiated = holder.session_timeout();
    // Bounds, not targets: lost() within the session timeout (plus scheduling slack), the
    // waiter within timeout + tick + slack. Both generous for a loaded machine.
    assert!(
        lost_after <= negotiated + Duration::from_secs(2),
        "lost() after {lost_after:?}"
    );
    assert!(
        acquired_after <= negotiated + Duration::from_secs(5),
        "waiter after {acquired_after:?}"
    );
    eprintln!("expiry: lost() after {lost_after:?}, waiter acquired after {acquired_after:?} (timeout {negotiated:?})");
    w.unlock().await.unwrap();
    drop(g);
    wc.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn foreign_children_are_ignored() {
    let ns = Namespace::new("rw-foreign").await;
    let dir = ns.path("lock");
    let c = client().await;
    c.create(&dir, b"", CreateMode::Persistent).await.unwrap();
    for name in ["config", "lock-0000000001", "_c_zz-other-0000000000"] {
        c.create(&format!("{dir}/{name}"), b"", CreateMode::Persistent)
            .await
            .unwrap();
    }
    let g = guard(
        "write with foreign children",
        RwLock::new(c.clone(), &dir).write(),
    )
    .await
    .unwrap();
    g.unlock().await.unwrap();
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn timed_out_acquire_leaves_no_node() {
    let ns = Namespace::new("rw-timeout").await;
    let dir = ns.path("lock");
    let c = client().await;
    let held = RwLock::new(c.clone(), &dir).write().await.unwrap();
    let held_name = held.node_path().rsplit('/').next().unwrap().to_string();
    let c2 = client().await;
    let lock = RwLock::new(c2.clone(), &dir);
    // Boxed, so that `drop` below really drops the future (as a timeout or select! would).
    let mut acquire = Box::pin(lock.write());
    let admin = ns.synced_admin().await;
    // Give up on the acquire only once its node is there (seen by another session).
    let children = tokio::select! {
        r = &mut acquire => panic!("acquired while the lock is held: {r:?}"),
        ch = wait_children(admin, &dir, |ch| ch.len() == 2) => ch,
    };
    let waiter = children
        .iter()
        .find(|n| **n != held_name)
        .expect("the waiter's node");
    let (_, st) = admin.get_data(&format!("{dir}/{waiter}")).await.unwrap();
    assert_eq!(st.ephemeral_owner, c2.session_id(), "the waiter's own node");
    drop(acquire);
    // The cancelled acquire deletes its node in the background: wait for it to be gone.
    let children = wait_children(admin, &dir, |ch| ch.len() == 1).await;
    assert_eq!(children, vec![held_name]);
    held.unlock().await.unwrap();
    c.close().await;
    c2.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn connection_drop_during_create_leaves_exactly_one_node() {
    let ns = Namespace::new("rw-conndrop").await;
    let dir = ns.path("lock");
    let admin = client().await;
    admin
        .create(&dir, b"", CreateMode::Persistent)
        .await
        .unwrap();
    // Two forwarders to two different servers: the client connects through one of them (the
    // host list is shuffled), the cut drops that connection, and the reconnect goes to the
    // next host, i.e. the other forwarder and the other server.
    let peers = peer_list();
    let fwds = [
        Forwarder::start(&peers[0]).await,
        Forwarder::start(&peers[1]).await,
    ];
    let hosts = format!("{},{}", fwds[0].addr, fwds[1].addr);
    let c = ConnectOptions::default()
        .session_timeout(TEST_SESSION)
        .connect(&hosts)
        .await
        .unwrap();
    let session = c.session_id();
    let first = fwds
        .iter()
        .position(|f| f.active() == 1)
        .expect("connected through one forwarder");
    let (fwd, other) = (&fwds[first], &fwds[1 - first]);
    assert_eq!(other.accepted(), 0, "{hosts}: one connection only so far");
    let mut states = c.state_changes();
    fwd.cut_after_next(&[OpCode::Create, OpCode::Create2]);
    let g = guard(
        "write across a connection drop",
        RwLock::new(c.clone(), &dir).write(),
    )
    .await
    .unwrap();
    // The fault landed: the create reached the server and was applied, its reply was lost,
    // the client saw the connection drop and went on through the other server.
    let cuts = guard("the cut", fwd.wait_cuts(1)).await;
    assert!(
        matches!(cuts[..], [ref cut] if matches!(cut.op, OpCode::Create | OpCode::Create2)),
        "the cut hit the create: {cuts:?}"
    );
    assert_eq!(
        cuts[0].reply_err,
        Some(0),
        "the create was applied: {cuts:?}"
    );
    guard("the client saw the drop", async {
        while let Some(s) = states.next().await {
            if matches!(s, SessionState::Disconnected { .. }) {
                return;
            }
        }
        panic!("client gone");
    })
    .await;
    assert_eq!(other.active(), 1, "reconnected through the other server");
    assert_eq!(c.session_id(), session, "same session");
    catch_up(&admin, &dir).await; // the lock was taken through another session
    let children = admin.get_children(&dir).await.unwrap().0;
    assert_eq!(children.len(), 1, "exactly one node: {children:?}");
    assert_eq!(format!("{dir}/{}", children[0]), g.node_path());
    let (_, stat) = admin.get_data(g.node_path()).await.unwrap();
    assert_eq!(
        stat.ephemeral_owner,
        c.session_id(),
        "owned by the waiter's session"
    );
    g.unlock().await.unwrap();
    // The lock still works.
    let g2 = RwLock::new(admin.clone(), &dir).write().await.unwrap();
    g2.unlock().await.unwrap();
    c.close().await;
    admin.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn fencing_token_grows_after_the_lock_node_is_recreated() {
    let ns = Namespace::new("rw-token-recreated").await;
    let dir = ns.path("lock");
    let c = client().await;
    let lock = RwLock::new(c.clone(), &dir);
    let mut tokens = Vec::new();
    for _ in 0..5 {
        let g = guard("write", lock.write()).await.unwrap();
        tokens.push(g.fencing_token());
        g.unlock().await.unwrap();
    }
    // An operator (or a clean-up job) removes the now empty lock node; the next acquire
    // creates it again.
    let admin = ns.synced_admin().await;
    admin.delete(&dir, None).await.unwrap();
    let g = guard("write after the lock node was recreated", lock.write())
        .await
        .unwrap();
    let token = g.fencing_token();
    assert!(
        tokens.iter().all(|&t| token > t),
        "token {token} after the lock node was recreated must exceed every earlier one: {tokens:?}"
    );
    g.unlock().await.unwrap();
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn twenty_waiters_no_herd() {
    let ns = Namespace::new("rw-herd").await;
    let dir = ns.path("lock");
    // Everyone on one server, so its `wchp` shows every watch.
    let host = peer_list()[0].clone();
    let admin = client_to(&host).await;
    let holder = RwLock::new(admin.clone(), &dir).write().await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut clients = Vec::new();
    for _ in 0..20 {
        let c = client_to(&host).await;
        clients.push(c.clone());
        let lock = RwLock::new(c, &dir);
        let tx = tx.clone();
        tokio::spawn(async move {
            let g = lock.write().await.unwrap();
            let _ = tx.send(g);
        });
    }
    wait_children(&admin, &dir, |c| c.len() == 21).await;
    // Wait until all 20 watches are armed (each waiter's getData follows its create).
    let watched = guard("20 watches armed", async {
        loop {
            let w = watched_paths(&host, &dir).await;
            if w.values().sum::<usize>() >= 20 {
                return w;
            }
            tokio::time::sleep(Duration::from_millis(50)).await; // polling the server's view
        }
    })
    .await;
    assert_eq!(
        watched.len(),
        20,
        "each waiter watches a different node: {watched:?}"
    );
    assert!(
        watched.values().all(|&n| n == 1),
        "no node is watched twice: {watched:?}"
    );
    assert!(
        !watched.contains_key(&dir),
        "nobody watches the lock's children"
    );
    // The queue drains: each release hands the lock to the next waiter.
    holder.unlock().await.unwrap();
    for _ in 0..20 {
        let g = guard("next waiter", rx.recv()).await.expect("a guard");
        g.unlock().await.unwrap();
    }
    for c in clients {
        c.close().await;
    }
    admin.close().await;
    ns.cleanup().await;
}

/// Watched paths below `prefix` on `host`, with the number of sessions watching each
/// (the server's `wchp` four-letter word).
pub(crate) async fn watched_paths(
    host: &str,
    prefix: &str,
) -> std::collections::HashMap<String, usize> {
    let out = four_letter(host, "wchp").await.expect("wchp answer");
    let mut map = std::collections::HashMap::new();
    let mut current: Option<String> = None;
    for line in out.lines() {
        if line.starts_with('/') {
            current = Some(line.trim().to_string());
        } else if line.trim_start().starts_with("0x") {
            if let Some(p) = &current {
                if p == prefix || p.starts_with(&format!("{prefix}/")) {
                    *map.entry(p.clone()).or_insert(0) += 1;
                }
            }
        }
    }
    map
}

#[tokio::test]
async fn mutual_exclusion_stress_ten_clients() {
    let ns = Namespace::new("rw-stress").await;
    let dir = ns.path("lock");
    let marker = ns.path("marker");
    let admin = client().await;
    admin
        .create(&marker, b"free", CreateMode::Persistent)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let c = client().await;
        let (dir, marker) = (dir.clone(), marker.clone());
        tasks.push(tokio::spawn(async move {
            let mutex = Mutex::new(c.clone(), &dir);
            let mut last_token = i64::MIN;
            for _ in 0..50 {
                let g = mutex.lock().await.unwrap();
                assert!(g.fencing_token() > last_token);
                last_token = g.fencing_token();
                // Check-and-set the marker: a concurrent holder would see "busy" or fail the
                // version check.
                let (data, stat) = c.get_data(&marker).await.unwrap();
                assert_eq!(&data[..], b"free", "another holder is inside");
                let st = c
                    .set_data(&marker, format!("busy-{i}").as_bytes(), Some(stat.version))
                    .await
                    .unwrap();
                c.set_data(&marker, b"free", Some(st.version))
                    .await
                    .expect("nobody touched the marker");
                g.unlock().await.unwrap();
            }
            c.close().await;
        }));
    }
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(120), t)
            .await
            .expect("stress hung")
            .unwrap();
    }
    catch_up(&admin, &marker).await; // the writes came through ten other sessions
    let (_, stat) = admin.get_data(&marker).await.unwrap();
    assert_eq!(stat.version, 1000, "500 critical sections, 2 writes each");
    admin.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn at_risk_resolves_on_disconnect_before_the_lock_is_lost() {
    let ns = Namespace::new("rw-atrisk").await;
    let dir = ns.path("lock");
    let fwd = Forwarder::start(&peer_list()[0]).await;
    let holder = ConnectOptions::default()
        .session_timeout(Duration::from_secs(4))
        .connect(&fwd.addr)
        .await
        .unwrap();
    let g = RwLock::new(holder.clone(), &dir).write().await.unwrap();
    fwd.cut(); // the connection drops; the forwarder accepts the reconnect at once
    assert_eq!(guard("at_risk after a cut", g.at_risk()).await, None);
    // The session survives the short cut: the lock is still held, not lost.
    let mut st = holder.state_watch();
    guard("reconnect", st.wait_for(|s| s.is_connected()))
        .await
        .unwrap();
    assert!(!g.is_lost());
    let admin = client().await;
    assert_eq!(
        admin.get_children(&dir).await.unwrap().0.len(),
        1,
        "node still there"
    );
    g.unlock().await.unwrap();
    admin.close().await;
    holder.close().await;
    ns.cleanup().await;
}
