//! A held lock's guard: the lease (`valid_until`, `is_lost` on the clock after a process
//! pause), clean-up handed to the client's driver (drops outside any runtime), and one monitor
//! per guard however often `lost()` is called.

use futures_util::FutureExt;
use std::time::{Duration, Instant};
use zksync::recipes::{LockLost, RwLock};
use zksync::ConnectOptions;
use zksync_test_support::*;

#[tokio::test]
async fn the_lease_lies_within_the_session_timeout_and_is_renewed_while_connected() {
    let ns = Namespace::new("guard-lease").await;
    let c = client().await;
    let t = c.session_timeout();
    let g = RwLock::new(c.clone(), &ns.path("lock"))
        .write()
        .await
        .unwrap();
    let first = g.valid_until();
    let now = Instant::now();
    assert!(
        first > now,
        "a fresh lock has a lease ahead: {first:?} vs {now:?}"
    );
    assert!(
        first <= now + t,
        "the lease never reaches past one session timeout"
    );
    assert!(!g.is_lost());
    // Time passing is the subject here, not a way to wait for an event: after 1.5 timeouts of
    // only pings the lease must have moved on (else it would have run out).
    tokio::time::sleep(t + t / 2).await;
    let later = g.valid_until();
    assert!(
        later > first + t / 2,
        "renewed by pings: {first:?} -> {later:?}"
    );
    assert!(later > Instant::now(), "still ahead while connected");
    assert!(!g.is_lost());
    g.unlock().await.unwrap();
    c.close().await;
    ns.cleanup().await;
}

/// Issue 10, item 3: a holder whose process is paused for longer than its session timeout
/// must see the loss at the first look after the pause, before any await (the servers expired
/// its session meanwhile and another process took the lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_pause_longer_than_the_session_the_first_is_lost_says_true() {
    let ns = Namespace::new("guard-pause").await;
    let dir = ns.path("lock");
    let (acquired_tx, acquired_rx) = tokio::sync::oneshot::channel::<i64>();
    let holder_dir = dir.clone();
    // The holder: its own thread and current-thread runtime, so blocking the thread stops its
    // client's driver too, as a stall or SIGSTOP of the process would.
    let holder = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let c = ConnectOptions::default()
                .session_timeout(Duration::from_secs(2))
                .connect(&peers())
                .await
                .unwrap();
            let g = RwLock::new(c.clone(), &holder_dir).write().await.unwrap();
            acquired_tx.send(g.fencing_token()).unwrap();
            std::thread::sleep(Duration::from_secs(7)); // the pause
            let resumed = Instant::now();
            let (lost, until) = (g.is_lost(), g.valid_until());
            (lost, until, resumed)
        })
    });
    let holder_token = guard("holder acquires", acquired_rx).await.unwrap();
    // Meanwhile another process takes the lock: the servers expired the paused holder.
    let other = client().await;
    let w = guard(
        "waiter during the pause",
        RwLock::new(other.clone(), &dir).write(),
    )
    .await
    .unwrap();
    let waiter_at = Instant::now();
    assert!(w.fencing_token() > holder_token);
    let (lost, until, resumed) = tokio::task::spawn_blocking(move || holder.join().unwrap())
        .await
        .unwrap();
    assert!(
        waiter_at < resumed,
        "the waiter got the lock while the holder was paused"
    );
    assert!(
        lost,
        "is_lost() right after the pause must be true: another process holds the lock"
    );
    assert!(until < resumed, "the lease ran out during the pause");
    w.unlock().await.unwrap();
    other.close().await;
    ns.cleanup().await;
}

/// Issue 10, item 6: clean-up must not need a runtime in the dropping thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_and_an_attempt_dropped_outside_any_runtime_still_remove_their_nodes() {
    let ns = Namespace::new("guard-drop").await;
    let dir = ns.path("lock");
    let c = client().await;
    let lock = RwLock::new(c.clone(), &dir);
    let g = lock.write().await.unwrap();

    // A queued attempt, dropped on a thread without a runtime once its node is there.
    let mut attempt = Box::pin(lock.write());
    let admin = ns.synced_admin().await;
    tokio::select! {
        _ = &mut attempt => panic!("the lock is held: the attempt must wait"),
        _ = wait_children(admin, &dir, |c| c.len() == 2) => {}
    }
    std::thread::scope(|s| {
        s.spawn(move || drop(attempt));
    });
    wait_children(admin, &dir, |c| c.len() == 1).await;

    // The guard, dropped the same way: a waiter on another session gets the lock.
    let other = client().await;
    let waiter = tokio::spawn({
        let lock = RwLock::new(other.clone(), &dir);
        async move { lock.write().await }
    });
    wait_children(admin, &dir, |c| c.len() == 2).await;
    std::thread::spawn(move || drop(g)).join().unwrap();
    let w = guard(
        "waiter after the holder's guard was dropped off-runtime",
        waiter,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        c.state().is_connected(),
        "released by a delete, not by the session's end"
    );
    w.unlock().await.unwrap();
    other.close().await;
    c.close().await;
    ns.cleanup().await;
}

/// Issue 10, item 7: `lost()` in a `select!` loop must not register a watch per call.
#[tokio::test]
async fn lost_in_a_select_loop_keeps_one_watch() {
    let ns = Namespace::new("guard-loop").await;
    let c = client().await;
    let g = RwLock::new(c.clone(), &ns.path("lock"))
        .write()
        .await
        .unwrap();
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    for _ in 0..100 {
        tokio::select! {
            lost = g.lost() => panic!("lock lost: {lost:?}"),
            _ = tick.tick() => {}
        }
    }
    // Every request sent so far has been answered once this one is (replies come in order).
    c.sync("/").await.unwrap();
    let watches = c.watch_count().await;
    assert!(
        watches <= 1,
        "{watches} watches registered by 100 calls of lost()"
    );
    // The one monitor still works: deleting the node is seen.
    ns.synced_admin()
        .await
        .delete(g.node_path(), None)
        .await
        .unwrap();
    assert_eq!(
        guard("lost after delete", g.lost()).await,
        LockLost::NodeDeleted
    );
    assert!(g.is_lost());
    drop(g);
    c.close().await;
    ns.cleanup().await;
}

/// Each guard's loss monitor lives no longer than its guard (a scheduler holding thousands of
/// locks releases and takes them all day): unlocked or dropped, the node's delete fires the
/// monitor's watch and the monitor ends, re-registering nothing. A delete's events come before
/// its reply (the unlocks), and one event fires every watch of its path (the drops: awaited
/// through a watch of the test's own), so no watch may be left after that.
#[tokio::test]
async fn armed_monitors_end_with_their_guards_and_leave_no_watch() {
    let ns = Namespace::new("guard-monitors-end").await;
    let c = client().await;
    let mut guards = Vec::new();
    for i in 0..40 {
        let g = RwLock::new(c.clone(), &ns.path(&format!("l{i}")))
            .write()
            .await
            .unwrap();
        assert!(g.lost().now_or_never().is_none(), "a fresh lock lost");
        guards.push(g);
    }
    // The monitors set their watches from their own tasks: wait until the session holds them.
    guard("40 monitors' watches", async {
        while c.watch_count().await < 40 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(c.watch_count().await, 40, "one watch per armed guard");
    let dropped = guards.split_off(20);
    for g in guards {
        g.unlock().await.unwrap();
    }
    let paths: Vec<String> = dropped.iter().map(|g| g.node_path().to_string()).collect();
    drop(dropped);
    // The driver deletes the dropped guards' nodes; wait for each delete's event.
    // (getData sets no watch on a node that is already gone; exists would.)
    for path in &paths {
        match c.get_data_w(path).await {
            Ok((_, _, gone)) => {
                guard("a dropped guard's node deleted", gone).await.unwrap();
            }
            Err(e) if e.is_no_node() => {}
            Err(e) => panic!("{path}: {e}"),
        }
    }
    c.sync("/").await.unwrap();
    assert_eq!(
        c.watch_count().await,
        0,
        "watches left after every guard was released or dropped"
    );
    c.close().await;
    ns.cleanup().await;
}

/// An `unlock()` dropped while its delete is in doubt (a `timeout` during a partition) must
/// still release the lock: like a dropped guard, it leaves the delete to the client's driver.
#[tokio::test]
async fn an_unlock_cancelled_during_a_partition_still_releases_the_lock() {
    let ns = Namespace::new("guard-unlock-cancel").await;
    let dir = ns.path("lock");
    let fwd = Forwarder::start(&peer_list()[0]).await;
    let holder = ConnectOptions::default()
        .session_timeout(Duration::from_secs(10))
        .connect(&fwd.addr)
        .await
        .unwrap();
    let g = RwLock::new(holder.clone(), &dir).write().await.unwrap();
    fwd.blackhole(true); // the delete is held back and never reaches the server
    let unlock = tokio::time::timeout(Duration::from_millis(300), g.unlock()).await;
    assert!(
        unlock.is_err(),
        "nothing can answer the delete during the partition"
    );
    fwd.blackhole(false); // the held connection closes; the client reconnects with its session
    let waiter = client().await;
    let w = guard(
        "waiter after the holder's unlock was cancelled",
        RwLock::new(waiter.clone(), &dir).write(),
    )
    .await
    .unwrap();
    assert!(
        holder.state().is_connected(),
        "released by a delete, not by the session's end"
    );
    w.unlock().await.unwrap();
    waiter.close().await;
    holder.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn closing_the_holders_own_client_reports_the_session_ended_not_a_foreign_delete() {
    let ns = Namespace::new("guard-close").await;
    // Five rounds: which of the two signs reaches the monitor first is a race.
    for round in 0..5 {
        let c = client().await;
        let g = RwLock::new(c.clone(), &ns.path("lock"))
            .write()
            .await
            .unwrap();
        let p = zksync::recipes::Semaphore::new(c.clone(), &ns.path("sem"), 1)
            .acquire()
            .await
            .unwrap();
        // The monitors run before the close (a `select!` on lost() in the holder's work loop).
        assert!(
            tokio::time::timeout(Duration::from_millis(50), g.lost())
                .await
                .is_err(),
            "lost while held"
        );
        assert!(tokio::time::timeout(Duration::from_millis(50), p.lost())
            .await
            .is_err());
        // The server deletes the nodes (and sends their watch events) before it answers the
        // close: the deletes are the session's own doing, not someone else's.
        c.close().await;
        assert_eq!(
            guard("lock lost", g.lost()).await,
            LockLost::SessionEnded(zksync::Error::Closed),
            "round {round}"
        );
        assert_eq!(
            guard("permit lost", p.lost()).await,
            LockLost::SessionEnded(zksync::Error::Closed),
            "round {round}"
        );
    }
    ns.cleanup().await;
}
