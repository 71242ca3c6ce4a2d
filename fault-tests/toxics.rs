//! Toxics on a live connection: latency, data that stops flowing, frames sliced into single
//! bytes, connections cut in the middle of a frame, a one-way partition, a narrow link and
//! connections reset by the peer.

use crate::support::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zksync::recipes::{LockLost, RwLock};
use zksync::{AddWatchMode, ConnectOptions, CreateMode, Error, SessionState};

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn latency_below_the_session_timeout_slows_calls_but_keeps_the_session() {
    let f = Fault::begin("latency").await;
    let t = Duration::from_secs(4);
    let c = connect(&f.via(&[1]), t).await;
    let session = c.session_id();
    let node = f.path("n");
    c.create(&node, b"v0", CreateMode::Persistent)
        .await
        .unwrap();
    let log = StateLog::start(&c);

    // 600 ms towards the client, 200 ms towards the server: a round trip of 800 ms, well
    // below the read timeout (2t/3; pings every t/6 are answered in a steady stream), and
    // slow enough that the lease must rest on older contacts.
    let (down, up) = (600u32, 200u32);
    add_toxic(&f.proxy(1).name, DOWN, Toxic::Latency { ms: down }).await;
    add_toxic(&f.proxy(1).name, UP, Toxic::Latency { ms: up }).await;
    let rtt = Duration::from_millis(u64::from(down + up));
    let mut slowest = Duration::ZERO;
    for i in 0..4 {
        let t0 = Instant::now();
        let data = format!("v{}", i + 1);
        c.set_data(&node, data.as_bytes(), None).await.unwrap();
        let (got, _) = c.get_data(&node).await.unwrap();
        assert_eq!(&got[..], data.as_bytes());
        let took = t0.elapsed();
        slowest = slowest.max(took);
        assert!(
            took >= 2 * rtt - Duration::from_millis(20),
            "two calls took {took:?}: the latency toxic is not in the path"
        );
    }
    // A lock round under latency too.
    let lock = RwLock::new(c.clone(), &f.path("lock"));
    let g = guard("write lock under latency", lock.write())
        .await
        .unwrap();
    assert!(!g.is_lost());
    g.unlock().await.unwrap();
    let states = log.states();
    assert!(
        states.iter().all(|s| *s == SessionState::Connected),
        "the connection did not survive the latency: {states:?}"
    );
    assert_eq!(c.session_id(), session);

    clear_toxics(&f.proxy(1).name).await;
    let t0 = Instant::now();
    c.get_data(&node).await.unwrap();
    let fast = t0.elapsed();
    assert!(
        fast < rtt,
        "still slow after the toxics were removed: {fast:?}"
    );
    eprintln!(
        "latency: round trip {rtt:?} injected, two calls took up to {slowest:?}, \
         {fast:?} after removal; states {states:?}"
    );
    c.close().await;
    f.finish().await;
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn timeout_toxic_is_detected_by_the_read_timeout_and_the_client_moves() {
    let f = Fault::begin("timeout").await;
    let t = Duration::from_secs(3);
    let c = connect(&f.via(&[1, 2]), t).await;
    let session = c.session_id();
    let node = connected_node(&c).await;
    let other = if node == 1 { 2 } else { 1 };
    let probe = f.path("probe");
    f.admin
        .create(&probe, b"x", CreateMode::Persistent)
        .await
        .unwrap();

    // Replies stop; the connection stays open (timeout 0: the proxy never closes it).
    // Every transition from here on (the client is back on its other server within ms).
    let mut changes = c.state_changes();
    add_toxic(&f.proxy(node).name, DOWN, Toxic::Timeout { ms: 0 }).await;
    let applied = Instant::now();
    let c2 = c.clone();
    let p2 = probe.clone();
    let call = tokio::spawn(async move { c2.get_data(&p2).await });
    guard("disconnected by the read timeout", async {
        while let Some(s) = changes.next().await {
            if matches!(s, SessionState::Disconnected { .. }) {
                return;
            }
        }
        panic!("the client is gone");
    })
    .await;
    let detected = applied.elapsed();
    let r = guard("in-flight call", call).await.unwrap();
    assert_eq!(r.unwrap_err(), Error::ConnectionLoss);
    // Nothing closed the connection: only the read timeout (2t/3 after the last frame, which
    // came at most one ping interval t/6 before the toxic) can have ended it.
    assert!(
        detected >= t / 2 - Duration::from_millis(100),
        "disconnected after {detected:?}: too early for a read timeout"
    );
    assert!(
        detected <= t * 2 / 3 + Duration::from_secs(1),
        "the stalled connection was noticed only after {detected:?}"
    );
    let back_on = connected_node(&c).await;
    assert_eq!(back_on, other, "the client moved to its other server");
    assert_eq!(c.session_id(), session, "same session");
    c.sync(&probe).await.unwrap(); // the admin's create may not have reached this server yet
    let (data, _) = c.get_data(&probe).await.unwrap();
    assert_eq!(&data[..], b"x");
    eprintln!(
        "timeout toxic: stalled connection dropped after {detected:?} (read timeout {:?}), \
         session kept on node {back_on}",
        t * 2 / 3
    );
    c.close().await;
    f.finish().await;
}

/// Expected results of the frame test's reads.
struct Fixture {
    data_node: String,
    data: Vec<u8>,
    dir: String,
    children: Vec<String>,
}

async fn frame_fixture(f: &Fault) -> Fixture {
    let data: Vec<u8> = (0..300u32).map(|i| (i * 7 % 251) as u8).collect();
    let data_node = f.path("data");
    f.admin
        .create(&data_node, &data, CreateMode::Persistent)
        .await
        .unwrap();
    let dir = f.path("dir");
    f.admin
        .create(&dir, b"", CreateMode::Persistent)
        .await
        .unwrap();
    let mut children = Vec::new();
    for i in 0..20 {
        let name = format!("child-with-a-longer-name-{i:03}");
        f.admin
            .create(&format!("{dir}/{name}"), b"", CreateMode::Persistent)
            .await
            .unwrap();
        children.push(name);
    }
    Fixture {
        data_node,
        data,
        dir,
        children,
    }
}

/// Reads the fixture back and checks every byte.
async fn check_reads(c: &zksync::Client, fx: &Fixture) -> zksync::Result<()> {
    c.sync(&fx.dir).await?; // the admin wrote the fixture: catch up with it first
    let (data, st) = c.get_data(&fx.data_node).await?;
    assert_eq!(&data[..], &fx.data[..], "data corrupted");
    assert_eq!(st.data_length as usize, fx.data.len());
    let (mut children, st) = c.get_children(&fx.dir).await?;
    children.sort();
    assert_eq!(children, fx.children, "children corrupted");
    assert_eq!(st.num_children as usize, fx.children.len());
    Ok(())
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn sliced_frames_decode_and_frames_cut_midway_only_lose_the_connection() {
    let f = Fault::begin("frames").await;
    let panics_before = panics_on_this_thread();
    let fx = frame_fixture(&f).await;
    let t = Duration::from_secs(4);
    let c = connect(&f.via(&[1]), t).await;
    let session = c.session_id();
    let proxy = f.proxy(1).name.clone();

    // 1. Every byte its own TCP segment, both ways: every frame boundary, length prefix and
    //    field falls across reads. Nothing may change but the speed.
    let log = StateLog::start(&c);
    add_toxic(
        &proxy,
        DOWN,
        Toxic::Slicer {
            avg: 1,
            var: 0,
            delay_us: 0,
        },
    )
    .await;
    add_toxic(
        &proxy,
        UP,
        Toxic::Slicer {
            avg: 1,
            var: 0,
            delay_us: 0,
        },
    )
    .await;
    for round in 0..2 {
        check_reads(&c, &fx)
            .await
            .expect("reads through the slicer");
        let v = format!("round {round}");
        c.set_data(&f.path("data"), v.as_bytes(), None)
            .await
            .unwrap();
        let (got, _) = c.get_data(&f.path("data")).await.unwrap();
        assert_eq!(&got[..], v.as_bytes());
        c.set_data(&f.path("data"), &fx.data, None).await.unwrap();
        // Pipelined: many frames in one read on one side, sliced on the other.
        let many: Vec<_> = (0..10).map(|_| c.exists(&fx.data_node)).collect();
        for r in futures_join_all(many).await {
            assert!(r.unwrap().is_some());
        }
    }
    // Random slice sizes (1..=13 bytes) as well.
    clear_toxics(&proxy).await;
    add_toxic(
        &proxy,
        DOWN,
        Toxic::Slicer {
            avg: 7,
            var: 6,
            delay_us: 0,
        },
    )
    .await;
    add_toxic(
        &proxy,
        UP,
        Toxic::Slicer {
            avg: 7,
            var: 6,
            delay_us: 0,
        },
    )
    .await;
    for _ in 0..3 {
        check_reads(&c, &fx)
            .await
            .expect("reads through the random slicer");
    }
    clear_toxics(&proxy).await;
    let states = log.states();
    assert!(
        states.iter().all(|s| *s == SessionState::Connected),
        "slicing cost the connection: {states:?}"
    );

    // 2. Replies cut in the middle: the proxy closes each connection after `limit` bytes
    //    towards the client. The handshake answer is 41 bytes, so every limit below lets a
    //    session through and then cuts a reply at a different offset (the 392-byte getData
    //    reply, its 4-byte length, its header, the data, the stat). Each cut may only cost
    //    the connection: the call fails with ConnectionLoss, never with a decode error.
    let mut cut_calls = 0;
    for limit in [42u32, 44, 45, 48, 57, 60, 61, 100, 200, 364, 380, 432] {
        add_toxic(&proxy, DOWN, Toxic::LimitData { bytes: limit }).await;
        for _ in 0..3 {
            match check_reads(&c, &fx).await {
                Ok(()) => {}
                Err(Error::ConnectionLoss) => cut_calls += 1,
                Err(e) => panic!("limit {limit}: a reply cut mid-frame gave {e:?}"),
            }
        }
        clear_toxics(&proxy).await;
        check_reads(&c, &fx)
            .await
            .unwrap_or_else(|e| panic!("after limit {limit}: {e}"));
    }
    assert!(cut_calls >= 12, "only {cut_calls} calls were cut");

    // 3. Requests cut in the middle: the server gets part of a ~280-byte setData and then EOF.
    //    It must not apply it; the client sees ConnectionLoss and carries on. (Every limit
    //    lets a 49-byte handshake through, so a reconnect in between cannot lock us out.)
    for limit in [50u32, 100, 200, 250] {
        add_toxic(&proxy, UP, Toxic::LimitData { bytes: limit }).await;
        // The limit counts from the toxic's creation on the live connection.
        match c.set_data(&fx.data_node, &[0xEE; 200], None).await {
            Err(Error::ConnectionLoss) => {}
            other => panic!("upstream limit {limit}: setData gave {other:?}"),
        }
        clear_toxics(&proxy).await;
        check_reads(&c, &fx)
            .await
            .unwrap_or_else(|e| panic!("after upstream limit {limit}: {e}"));
    }

    // 4. A handshake answer cut short (on another proxy): a new client cannot get a session
    //    through it and says so (no panic, no hang).
    add_toxic(&f.proxy(2).name, DOWN, Toxic::LimitData { bytes: 20 }).await;
    let r = ConnectOptions::default()
        .session_timeout(t)
        .establish_timeout(Duration::from_secs(2))
        .connect(&f.via(&[2]))
        .await;
    assert!(
        matches!(r, Err(Error::Unreachable(_))),
        "connect through a cut handshake: {r:?}"
    );
    clear_toxics(&f.proxy(2).name).await;

    assert_eq!(c.session_id(), session, "the session survived every cut");
    assert!(!c.state().is_terminal());
    check_reads(&c, &fx).await.unwrap();
    assert_eq!(
        panics_on_this_thread(),
        panics_before,
        "a panic on the client's thread"
    );
    eprintln!("frames: slicer 1 and 7±6 bytes both ways ok; {cut_calls} calls cut mid-reply");
    c.close().await;
    f.finish().await;
}

/// Awaits every future, in order (no futures crate needed).
async fn futures_join_all<F: std::future::Future>(fs: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::with_capacity(fs.len());
    let mut pinned: Vec<_> = fs.into_iter().map(Box::pin).collect();
    for f in pinned.iter_mut() {
        out.push(f.await);
    }
    out
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn one_way_partition_with_incoming_traffic_loses_the_lock_before_the_server_frees_it() {
    // The holder's requests stop reaching the server, but frames keep coming in (watch
    // events caused by another client's writes), so its connection never looks idle. The
    // server expires the session after the timeout; the holder must know by then from its
    // own clock, not from the connection (whose close reaches it late: slow_close).
    let f = Fault::begin("one-way").await;
    let dir = f.path("lock");
    let busy = f.path("busy");
    f.admin
        .create(&busy, b"0", CreateMode::Persistent)
        .await
        .unwrap();
    let t = Duration::from_secs(3);
    let proxy = f.proxy(1).name.clone();
    blocking({
        let proxy = proxy.clone();
        move |tp| {
            tp.find_proxy(&proxy)
                .expect("find proxy")
                .with_slow_close(DOWN.to_string(), 1500, 1.0);
        }
    })
    .await;
    let holder = connect(&f.via(&[1]), t).await;
    let mut events = holder
        .add_watch(&busy, AddWatchMode::Persistent)
        .await
        .unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let seen2 = seen.clone();
    let drain = tokio::spawn(async move {
        while let Some(Ok(_)) = events.next().await {
            seen2.fetch_add(1, Ordering::SeqCst);
        }
    });
    let g = RwLock::new(holder.clone(), &dir).write().await.unwrap();
    let wc = connect(&f.via(&[2]), t).await;
    let lock = RwLock::new(wc.clone(), &dir);
    let waiter = tokio::spawn(async move {
        let g = lock.write().await;
        (Instant::now(), g)
    });
    wait_children(&f.admin, &dir, |c| c.len() == 2).await;
    let admin = f.admin.clone();
    let busy2 = busy.clone();
    let writer = tokio::spawn(async move {
        for i in 0u64.. {
            if admin
                .set_data(&busy2, i.to_string().as_bytes(), None)
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await; // the traffic's pace
        }
    });
    guard("watch events flow", async {
        while seen.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;

    add_toxic(&proxy, UP, Toxic::Timeout { ms: 0 }).await;
    let cut = Instant::now(); // the server hears nothing from the holder after this
    let events_at_cut = seen.load(Ordering::SeqCst);
    let lost = guard("holder's lost()", g.lost()).await;
    let lost_at = Instant::now();
    let (acquired_at, w) = guard("waiter takes over", waiter).await.unwrap();
    let w = w.expect("waiter's acquire");
    writer.abort();
    drain.abort();
    let events_after_cut = seen.load(Ordering::SeqCst) - events_at_cut;
    eprintln!(
        "one-way partition: holder lost() {:?} after the cut ({lost:?}), waiter acquired \
         {:?} after it; {events_after_cut} watch events reached the holder after the cut",
        lost_at - cut,
        acquired_at - cut
    );
    assert!(
        events_after_cut > 0,
        "no frame reached the holder after the cut: the scenario did not happen"
    );
    assert_eq!(lost, LockLost::LeaseExpired);
    assert!(
        g.valid_until() <= acquired_at,
        "the lease ran until {:?} after the waiter acquired",
        g.valid_until() - acquired_at
    );
    assert!(
        lost_at <= acquired_at,
        "the waiter held the lock {:?} before the cut holder knew it had lost it",
        lost_at - acquired_at
    );
    assert!(
        lost_at - cut <= t + Duration::from_millis(500),
        "lost() only {:?} after the last contact",
        lost_at - cut
    );
    w.unlock().await.unwrap();
    drop(g);
    wc.close().await;
    f.finish().await;
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn narrow_link_delivers_a_large_reply_intact_and_keeps_the_session() {
    let f = Fault::begin("bandwidth").await;
    // The read timeout (2t/3 = 6.7 s) counts from the last complete frame, and a reply queues
    // every later one (ping answers too) behind it: the big reply must take well under it.
    let t = Duration::from_secs(10);
    let rate_kb = 20u32;
    let blob: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let big = f.path("big");
    let small = f.path("small");
    f.admin
        .create(&big, &blob, CreateMode::Persistent)
        .await
        .unwrap();
    f.admin
        .create(&small, b"s", CreateMode::Persistent)
        .await
        .unwrap();
    let c = connect(&f.via(&[1]), t).await;
    let session = c.session_id();
    c.sync(&big).await.unwrap(); // the admin wrote the nodes: catch up with it first
    let log = StateLog::start(&c);

    add_toxic(&f.proxy(1).name, DOWN, Toxic::Bandwidth { rate_kb }).await;
    // Small replies pass nearly at once.
    let t0 = Instant::now();
    for _ in 0..5 {
        let (d, _) = c.get_data(&small).await.unwrap();
        assert_eq!(&d[..], b"s");
    }
    let small_took = t0.elapsed();
    // The large one arrives whole, at the link's pace (bytes / (KB/s) = ms, K = 1000).
    let t0 = Instant::now();
    let (got, st) = c.get_data(&big).await.unwrap();
    let big_took = t0.elapsed();
    assert!(got[..] == blob[..], "the large reply was corrupted");
    assert_eq!(st.data_length as usize, blob.len());
    let pace = Duration::from_millis(blob.len() as u64 / u64::from(rate_kb));
    assert!(
        big_took >= pace * 95 / 100,
        "{} bytes at {rate_kb} KB/s took only {big_took:?}: the toxic is not in the path",
        blob.len()
    );
    assert!(
        small_took < Duration::from_secs(2),
        "five small calls took {small_took:?}"
    );
    // And a small call and a write behind it still work.
    c.set_data(&small, b"t", None).await.unwrap();
    let (d, _) = c.get_data(&small).await.unwrap();
    assert_eq!(&d[..], b"t");
    let states = log.states();
    assert!(
        states.iter().all(|s| *s == SessionState::Connected),
        "the connection did not survive the narrow link: {states:?}"
    );
    assert_eq!(c.session_id(), session);

    clear_toxics(&f.proxy(1).name).await;
    let t0 = Instant::now();
    let (got, _) = c.get_data(&big).await.unwrap();
    let fast = t0.elapsed();
    assert!(got[..] == blob[..]);
    assert!(
        fast < pace / 4,
        "still slow after the toxic was removed: {fast:?}"
    );
    eprintln!(
        "bandwidth: {} bytes at {rate_kb} KB/s took {big_took:?} (pace {pace:?}), five small \
         calls {small_took:?}, {fast:?} after removal; states {states:?}",
        blob.len()
    );
    c.close().await;
    f.finish().await;
}

/// Waits for the next `Disconnected` among `changes`; returns when it came.
async fn next_disconnect(changes: &mut zksync::StateChanges) -> Instant {
    guard("disconnected by the reset", async {
        while let Some(s) = changes.next().await {
            if matches!(s, SessionState::Disconnected { .. }) {
                return Instant::now();
            }
        }
        panic!("the client is gone");
    })
    .await
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn reset_peer_costs_only_the_connection_and_keeps_the_session_and_the_lock() {
    let f = Fault::begin("reset-peer").await;
    let panics_before = panics_on_this_thread();
    let fx = frame_fixture(&f).await;
    let t = Duration::from_secs(4);
    let c = connect(&f.via(&[1, 2]), t).await;
    let session = c.session_id();
    let g = RwLock::new(c.clone(), &f.path("lock"))
        .write()
        .await
        .unwrap();
    check_reads(&c, &fx).await.unwrap();
    let node = connected_node(&c).await;
    let other = if node == 1 { 2 } else { 1 };
    let log = StateLog::start(&c);

    // The lock is still held and its node still the session's.
    let lock_kept = |when: &'static str| {
        let (g, f) = (&g, &f);
        async move {
            assert!(!g.is_lost(), "{when}: the guard reports the lock lost");
            let (_, st) = f
                .synced_admin()
                .await
                .get_data(g.node_path())
                .await
                .unwrap_or_else(|e| panic!("{when}: the lock node: {e}"));
            assert_eq!(
                st.ephemeral_owner, session,
                "{when}: lock node not the session's"
            );
        }
    };

    // 1. Calls in flight: their replies reach the toxic, which resets the connection 300 ms
    //    later (they are dropped). Each call fails with ConnectionLoss, never with a decode
    //    error; the client moves to its other server (through this proxy every reconnect would
    //    be reset too) with the same session.
    let timeout_ms = 300u32;
    let mut changes = c.state_changes();
    add_toxic(&f.proxy(node).name, DOWN, Toxic::ResetPeer { timeout_ms }).await;
    let applied = Instant::now();
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let (c2, p) = (c.clone(), fx.data_node.clone());
            tokio::spawn(async move { c2.get_data(&p).await })
        })
        .collect();
    let reset_after = next_disconnect(&mut changes).await - applied;
    let mut lost_calls = 0;
    for call in calls {
        match guard("in-flight call", call).await.unwrap() {
            Err(Error::ConnectionLoss) => lost_calls += 1,
            // Sent after the reset, on the next connection.
            Ok((data, _)) => assert_eq!(data[..], fx.data[..], "data corrupted"),
            Err(e) => panic!("a call in flight on a reset connection gave {e:?}"),
        }
    }
    assert!(lost_calls >= 1, "no call was in flight when the reset came");
    // The reset is noticed when it comes, not by the read timeout (2t/3 after the last frame).
    let limit = Duration::from_millis(u64::from(timeout_ms)) + Duration::from_secs(1);
    assert!(
        reset_after >= Duration::from_millis(u64::from(timeout_ms) - 10),
        "disconnected {reset_after:?} after the toxic, before its {timeout_ms} ms"
    );
    assert!(
        reset_after < limit,
        "the reset was noticed only {reset_after:?} after the toxic"
    );
    let back_on = connected_node(&c).await;
    let moved_after = applied.elapsed();
    assert_eq!(back_on, other, "the client moved to its other server");
    assert_eq!(c.session_id(), session, "same session");
    clear_toxics(&f.proxy(node).name).await;
    lock_kept("after the reset in flight").await;
    check_reads(&c, &fx).await.unwrap();

    // 2. An idle connection: no call, only pings (every t/6). The first ping answer sets off
    //    the toxic, which resets at once; the client comes back through the first server.
    let mut changes = c.state_changes();
    add_toxic(
        &f.proxy(other).name,
        DOWN,
        Toxic::ResetPeer { timeout_ms: 0 },
    )
    .await;
    let applied = Instant::now();
    let idle_reset_after = next_disconnect(&mut changes).await - applied;
    assert!(
        idle_reset_after < t / 6 + Duration::from_secs(1),
        "an idle connection was reset only {idle_reset_after:?} after the toxic (pings every \
         {:?})",
        t / 6
    );
    let back_again = connected_node(&c).await;
    assert_eq!(
        back_again, node,
        "the client moved back to its first server"
    );
    assert_eq!(c.session_id(), session, "same session");
    clear_toxics(&f.proxy(other).name).await;
    lock_kept("after the idle reset").await;
    check_reads(&c, &fx).await.unwrap();

    let states = log.states();
    assert!(
        !states.iter().any(|s| s.is_terminal()),
        "the session ended: {states:?}"
    );
    let drops = states
        .iter()
        .filter(|s| matches!(s, SessionState::Disconnected { .. }))
        .count();
    assert!(drops >= 2, "two resets, {drops} disconnections: {states:?}");
    g.unlock().await.expect("unlock after the resets");
    assert_eq!(
        panics_on_this_thread(),
        panics_before,
        "a panic on the client's thread"
    );
    eprintln!(
        "reset_peer: in flight ({timeout_ms} ms) disconnected after {reset_after:?}, \
         {lost_calls}/5 calls lost, back on node {back_on} {moved_after:?} after the toxic; \
         idle (0 ms) disconnected after {idle_reset_after:?}, back on node {back_again}; \
         {drops} disconnections, same session, lock kept"
    );
    c.close().await;
    f.finish().await;
}
