//! Process pauses: a ZooKeeper server frozen with SIGSTOP (a follower, the leader; for less and
//! for more than the session timeout), and a lock holder's own process frozen while a waiter
//! waits. A frozen server keeps its sockets open and the kernel still accepts connections for
//! it, but nothing answers; a frozen holder cannot run at all, so whatever it learns of its loss
//! it learns after SIGCONT.
//!
//! The properties are orderings, not wall-clock limits (the bounds are hang guards): a holder
//! knows of its loss before anybody else acquires the lock, a lock never has two holders that
//! both believe in it, and a fenced register never accepts an older token after a newer one.

use crate::observe::*;
use crate::support::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zksync::recipes::{LockLost, RwLock};
use zksync::{Client, SessionState};

/// How long a follower waits for a silent leader before it gives up on it and a new leader is
/// elected: `syncLimit` ticks (scripts/ensemble: syncLimit=10, tickTime=250).
const SYNC_LIMIT: Duration = Duration::from_millis(2500);

/// Session timeout of the observer clients: long, so no fault in these tests expires them.
const OBSERVER_SESSION: Duration = Duration::from_secs(20);

// ----- helpers -----

/// Connect string of the given nodes' own client ports (not through a proxy).
fn direct(nodes: &[usize]) -> String {
    let all: Vec<String> = peers().split(',').map(str::to_string).collect();
    nodes
        .iter()
        .map(|&n| all[n - 1].clone())
        .collect::<Vec<_>>()
        .join(",")
}

/// The current leader and the four followers.
async fn roles() -> (usize, Vec<usize>) {
    let l = leader().await;
    (l, (1..=5).filter(|&i| i != l).collect())
}

/// A client for checking the servers' view while some node is paused: it talks only to nodes
/// that stay up (the fixture's admin client may be on the paused node, where it would hang).
async fn observer(nodes: &[usize]) -> Client {
    connect(&direct(nodes), OBSERVER_SESSION).await
}

/// Waits until node `i` serves again (after a resume it may have to rejoin the ensemble).
async fn wait_serving(i: usize) {
    run_ensemble_async(&["start-node", &i.to_string()]).await;
}

/// Waits until every node serves and exactly one says it leads, and returns that one. (A
/// resumed old leader goes on saying so for a moment, until it notices it lost its followers.)
async fn settled_leader() -> usize {
    guard("one leader, every node serving", async {
        loop {
            let status = tokio::task::spawn_blocking(|| try_run_ensemble(&["status"]))
                .await
                .expect("status task");
            if let Ok(out) = status {
                let leaders: Vec<usize> = out
                    .lines()
                    .filter(|l| l.ends_with(" leader"))
                    .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
                    .collect();
                let serving = out
                    .lines()
                    .filter(|l| l.ends_with(" leader") || l.ends_with(" follower"))
                    .count();
                if leaders.len() == 1 && serving == 5 {
                    // Once more after a moment: the old leader may not have noticed yet.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if crate::support::leader().await == leaders[0] {
                        return leaders[0];
                    }
                }
            }
            // The servers' modes, polled: there is no event for them.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
}

/// Waits until `c` is connected and one of `nodes` lists its connection; returns that node.
async fn connected_node_among(c: &Client, nodes: &[usize]) -> usize {
    wait_state(c, "connected", |s| s.is_connected()).await;
    guard("server lists the connection", async {
        loop {
            if let Some(n) = node_of_among(c, nodes).await {
                return n;
            }
            // The server's connection list, polled: there is no event for it.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

/// Waits (in the order they happened) for a state that is not connected, then a connected one;
/// fails if the session ends.
async fn disconnected_and_back(changes: &mut zksync::StateChanges, who: &str) {
    guard(&format!("{who} dropped and back"), async {
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

/// Checks, on the servers (through `obs`), that the lock node `node` is owned by `session`.
async fn assert_owner(obs: &Client, node: &str, session: i64, when: &str) {
    obs.sync(node)
        .await
        .unwrap_or_else(|e| panic!("{when}: sync: {e}"));
    let (_, st) = obs
        .get_data(node)
        .await
        .unwrap_or_else(|e| panic!("{when}: lock node {node} gone: {e}"));
    assert_eq!(
        st.ephemeral_owner, session,
        "{when}: lock node owned by another session"
    );
}

// ----- a paused follower -----

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn follower_paused_for_less_than_the_session_timeout_keeps_the_session_and_the_lock() {
    let f = Fault::begin("pause-follower").await;
    let dir = f.path("lock");
    let t = Duration::from_secs(4);
    let (leader, fs) = roles().await;
    // H holds the lock through two followers; W waits through the two others, which are never
    // paused, and so does the observer (with the leader).
    let h = connect(&f.via(&fs[..2]), t).await;
    let w = connect(&f.via(&fs[2..]), t).await;
    let obs = observer(&[fs[2], fs[3], leader]).await;
    let h_session = h.session_id();
    let g = Arc::new(RwLock::new(h.clone(), &dir).write().await.unwrap());
    let loss = LossWatch::start(&g);
    let mut waiter = spawn_waiter(&w, &dir);
    wait_children(&obs, &dir, |c| c.len() == 2).await;
    let h_node = connected_node_among(&h, &fs[..2]).await;
    let h_other = if h_node == fs[0] { fs[1] } else { fs[0] };

    // 1. H's server frozen for T/4: less than the read timeout (2T/3 after the last frame,
    //    which came at most a ping interval T/6 before) and less than the lease's headroom
    //    (at least about T/2): the connection rides it out, the queued pings are answered
    //    after SIGCONT and the lease goes on.
    let states = TimedStates::start(&h);
    let p = PausedNode::pause(h_node).await;
    let base = p.frozen_at();
    tokio::time::sleep(t / 4).await; // the fault held
    let span = p.resume().await;
    guard("H's request after the resume", h.exists(&dir))
        .await
        .expect("H's request after the resume");
    let headroom = g.valid_until().saturating_duration_since(Instant::now());
    assert!(
        states.first(|s| !s.is_connected()).is_none(),
        "H's connection did not ride out a pause of {span:?}: {}",
        states.show(base)
    );
    assert_eq!(
        connected_node_among(&h, &fs[..2]).await,
        h_node,
        "H still on its server"
    );
    assert_eq!(loss.get().map(|v| v.1), None, "H's guard lost");
    assert!(!g.is_lost(), "H's guard lost");
    assert_owner(
        &obs,
        g.node_path(),
        h_session,
        "after a short pause of H's server",
    )
    .await;
    assert!(still_blocked(&mut waiter).await, "W got in while H holds");
    eprintln!(
        "follower pause 1: node {h_node} frozen {}..{} ms (T {t:?}): H stayed connected, lease \
         {} ms ahead afterwards",
        span.at_least.as_millis(),
        span.at_most.as_millis(),
        headroom.as_millis()
    );

    // 2. Frozen for 0.85 T: longer than the read timeout, so H moves to its other server with
    //    its session (the handshake revalidates it with the leader), shorter than T, so the
    //    leader never expires it. ZooKeeper keeps the session and with it the lock node; W
    //    must stay blocked throughout.
    let states = TimedStates::start(&h);
    let mut changes = h.state_changes();
    let p = PausedNode::pause(h_node).await;
    let base = p.frozen_at();
    disconnected_and_back(&mut changes, "H").await;
    let moved = Instant::now();
    assert_eq!(connected_node_among(&h, &[h_other]).await, h_other);
    assert_owner(
        &obs,
        g.node_path(),
        h_session,
        "while H's first server is frozen",
    )
    .await;
    assert!(still_blocked(&mut waiter).await, "W got in while H holds");
    let rest = (t * 17 / 20).saturating_sub(base.elapsed());
    tokio::time::sleep(rest).await; // the fault held
    let span = p.resume().await;
    assert!(
        span.at_most < t,
        "the pause lasted up to {span:?}, not less than the session timeout {t:?}"
    );
    assert_eq!(h.session_id(), h_session, "same session");
    let st = states.get();
    assert!(
        !st.iter().any(|(_, s, _)| s.is_terminal()),
        "H's session ended: {}",
        states.show(base)
    );
    wait_serving(h_node).await;
    assert_owner(&obs, g.node_path(), h_session, "after the resume").await;
    assert!(still_blocked(&mut waiter).await, "W got in while H holds");
    let verdict = loss.stop().await;
    let dropped = states.first(|s| !s.is_connected());
    eprintln!(
        "follower pause 2: node {h_node} frozen {}..{} ms (T {t:?}); H: {}; moved to node \
         {h_other} at {}; guard: {:?}",
        span.at_least.as_millis(),
        span.at_most.as_millis(),
        states.show(base),
        rel(moved, base),
        verdict.as_ref().map(|(i, l)| (rel(*i, base), l))
    );
    // The guard may only be lost by its lease: the session and the node survived. (Whether the
    // lease outlives the move is measured, not assumed: see the report.)
    if let Some((at, why)) = &verdict {
        assert_eq!(*why, LockLost::LeaseExpired, "H's guard lost: {why:?}");
        let dropped = dropped.expect("H was disconnected");
        eprintln!(
            "follower pause 2: H's lease ran out {} ms after the freeze, {} ms before the read \
             timeout dropped the connection",
            ms(*at, base),
            ms(dropped, *at)
        );
    }

    // After the resume all is well: H releases, W gets the lock.
    let g = unwrap_guard(g);
    let h_token = g.fencing_token();
    g.unlock().await.expect("H releases");
    let (_, wg) = guard("W acquires after the release", waiter).await.unwrap();
    let wg = wg.expect("W's acquire");
    assert!(wg.fencing_token() > h_token, "W's token is larger");
    wg.unlock().await.unwrap();
    h.close().await;
    w.close().await;
    obs.close().await;
    f.finish().await;
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn only_server_paused_past_the_session_timeout_loses_the_lock_before_the_waiter_gets_it() {
    let f = Fault::begin("pause-only-server").await;
    let dir = f.path("lock");
    let t = Duration::from_secs(3);
    let (leader, fs) = roles().await;
    // H can reach only one follower (through its proxy); W and the observer the others.
    let victim = fs[0];
    let h = connect(&f.via(&[victim]), t).await;
    let w = connect(&f.via(&fs[1..]), t).await;
    let obs = observer(&[fs[1], fs[2], fs[3], leader]).await;
    assert_eq!(h.session_timeout(), t, "negotiated timeout");
    let g = Arc::new(RwLock::new(h.clone(), &dir).write().await.unwrap());
    let loss = LossWatch::start(&g);
    let waiter = spawn_waiter(&w, &dir);
    wait_children(&obs, &dir, |c| c.len() == 2).await;
    // Held a while, so that H's lease rests on answered pings, not on its fresh handshake.
    tokio::time::sleep(t / 2).await;
    let states = TimedStates::start(&h);

    // Frozen until W has the lock, and for more than T (the leader expires H's session).
    let p = PausedNode::pause(victim).await;
    let base = p.frozen_at();
    let (lost_at, lost) = loss.wait().await;
    assert!(g.is_lost());
    let (acquired_at, wg) = guard("W takes over", waiter).await.unwrap();
    let wg = wg.expect("W's acquire");
    // (W may get in before T has passed since the freeze: the leader counts T from the last
    // touch it knows of, which came before. The fault is held for more than T all the same.)
    tokio::time::sleep((t + TICK).saturating_sub(base.elapsed())).await;
    let span = p.resume().await;
    assert!(
        span.at_least > t,
        "the pause lasted only {span:?}, not more than the session timeout {t:?}"
    );
    // The point of the lease: it ended before anybody else could hold the lock, and the
    // holder knew it before the waiter acquired.
    assert!(
        g.valid_until() <= acquired_at,
        "H's lease ran until {} ms after W acquired",
        ms(g.valid_until(), acquired_at)
    );
    assert!(
        lost_at <= acquired_at,
        "W acquired {} ms before H's guard reported the loss",
        ms(lost_at, acquired_at)
    );
    // Judged on H's own clock (no server can tell it anything), by the lease: the first sign,
    // before the client judges the session expired.
    assert_eq!(lost, LockLost::LeaseExpired, "H learned of the loss by");
    assert_owner(&obs, wg.node_path(), w.session_id(), "W's lock node").await;
    assert!(
        wg.fencing_token() > g.fencing_token(),
        "the new holder's token is larger"
    );
    // H's session is gone for good: the client judged it so on its clock (no server could
    // answer), and the servers agree (they freed the lock).
    wait_state(&h, "H's own expiry judgement", |s| {
        s == SessionState::Expired
    })
    .await;
    let expired_at = states
        .first(|s| s == SessionState::Expired)
        .expect("H expired");
    wait_serving(victim).await;
    assert_eq!(h.state(), SessionState::Expired, "H stays expired");
    eprintln!(
        "only server paused: node {victim} frozen {}..{} ms (T {t:?}); H's lost() = {lost:?} \
         at {}, H judged its session expired at {}, W acquired at {} ({} ms after H knew); \
         H's lease ended at {}",
        span.at_least.as_millis(),
        span.at_most.as_millis(),
        rel(lost_at, base),
        rel(expired_at, base),
        rel(acquired_at, base),
        ms(acquired_at, lost_at),
        rel(g.valid_until(), base)
    );
    wg.unlock().await.unwrap();
    loss.stop().await;
    drop(unwrap_guard(g));
    w.close().await;
    obs.close().await;
    f.finish().await;
}

// ----- a paused leader -----

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn leader_paused_for_less_than_the_session_timeout_keeps_sessions_and_locks() {
    let f = Fault::begin("pause-leader-short").await;
    let dir = f.path("lock");
    let t = Duration::from_secs(4);
    let (leader, fs) = roles().await;
    let h = connect(&f.via(&fs[..2]), t).await;
    let w = connect(&f.via(&fs[2..]), t).await;
    let obs = observer(&fs[2..]).await;
    let (h_session, w_session) = (h.session_id(), w.session_id());
    let g = Arc::new(RwLock::new(h.clone(), &dir).write().await.unwrap());
    let loss = LossWatch::start(&g);
    let mut waiter = spawn_waiter(&w, &dir);
    wait_children(&obs, &dir, |c| c.len() == 2).await;
    let (h_states, w_states) = (TimedStates::start(&h), TimedStates::start(&w));

    // Frozen for less than T, and less than syncLimit ticks: the followers wait for it (no
    // election). Meanwhile they answer reads and pings themselves, so no client notices, but
    // a write needs the leader: it waits.
    let p = PausedNode::pause(leader).await;
    let base = p.frozen_at();
    let (h2, during) = (h.clone(), f.path("written-during-the-pause"));
    let mut write = tokio::spawn(async move {
        let r = h2
            .create(&during, b"", zksync::CreateMode::Persistent)
            .await;
        (Instant::now(), r)
    });
    guard("H reads while the leader is frozen", h.exists(&dir))
        .await
        .expect("a read while the leader is frozen");
    tokio::time::sleep((t * 3 / 8).saturating_sub(base.elapsed())).await; // the fault held
    assert!(
        tokio::time::timeout(Duration::from_millis(100), &mut write)
            .await
            .is_err(),
        "a write completed while the leader was frozen"
    );
    let resumed = Instant::now(); // SIGCONT goes out after this instant
    let span = p.resume().await;
    assert!(span.at_most < t && span.at_most < SYNC_LIMIT, "{span:?}");
    let (written_at, r) = guard("the write after the resume", write).await.unwrap();
    r.expect("the write made during the pause");
    for (who, states) in [("H", &h_states), ("W", &w_states)] {
        assert!(
            states.first(|s| !s.is_connected()).is_none(),
            "{who} was disconnected: {}",
            states.show(base)
        );
    }
    assert_eq!((h.session_id(), w.session_id()), (h_session, w_session));
    assert_eq!(loss.get().map(|v| v.1), None, "H's guard lost");
    assert!(!g.is_lost(), "H's guard lost");
    assert_owner(&obs, g.node_path(), h_session, "after the leader's pause").await;
    assert!(still_blocked(&mut waiter).await, "W got in while H holds");
    assert_eq!(
        crate::support::leader().await,
        leader,
        "no election: the same leader"
    );
    eprintln!(
        "leader pause < T: leader {leader} frozen {}..{} ms (T {t:?}); nobody disconnected, the \
         write made during the pause completed {} ms after the resume; H's lease {} ms ahead",
        span.at_least.as_millis(),
        span.at_most.as_millis(),
        ms(written_at, resumed),
        ms(g.valid_until(), Instant::now())
    );
    loss.stop().await;
    let g = unwrap_guard(g);
    g.unlock().await.unwrap();
    let (_, wg) = guard("W after the release", waiter).await.unwrap();
    wg.expect("W's acquire").unlock().await.unwrap();
    h.close().await;
    w.close().await;
    obs.close().await;
    f.finish().await;
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn leader_paused_past_the_session_timeout_is_replaced_and_locks_stay_safe() {
    let f = Fault::begin("pause-leader-long").await;
    let dir = f.path("lock");
    // At least 4/3 of syncLimit ticks (2.5 s): a leader frozen long enough to expire a
    // session (T less the up to T/4 by which its view of the session's touches lags) has lost
    // its followers first (see the next test for a shorter T).
    let t = Duration::from_secs(4);
    let (leader, fs) = roles().await;
    let h = connect(&f.via(&fs[..2]), t).await;
    // W's session is long: whatever happens to H's, W's lives on and shows who gets the lock.
    let w = connect(&f.via(&fs[2..]), Duration::from_secs(10)).await;
    let obs = observer(&fs[2..]).await;
    let (h_session, w_session) = (h.session_id(), w.session_id());
    let g = Arc::new(RwLock::new(h.clone(), &dir).write().await.unwrap());
    let loss = LossWatch::start(&g);
    let mut waiter = spawn_waiter(&w, &dir);
    wait_children(&obs, &dir, |c| c.len() == 2).await;
    tokio::time::sleep(t / 2).await; // held a while: the lease rests on pings
    let (h_states, w_states) = (TimedStates::start(&h), TimedStates::start(&w));

    // Frozen for T + 1 s. After syncLimit ticks without a word from it the followers give up
    // on the leader, drop their clients and elect a new leader among themselves, which
    // re-arms every session's timeout (each lives T from the new leader's start); the clients
    // come back with their sessions. The old leader, resumed, expires on its own clock the
    // sessions it heard nothing of, but without followers it cannot commit that, and it
    // rejoins as a follower (its uncommitted proposals are dropped).
    // Unless the election has not finished by then (split votes can take seconds): then the
    // resumed old leader, whose log is the longest (its own expiries in it), can win it, and
    // its expiries are committed. Either way, H's lock must be safe.
    let p = PausedNode::pause(leader).await;
    let base = p.frozen_at();
    for (c, who) in [(&h, "H"), (&w, "W")] {
        wait_state(c, &format!("{who} dropped by its follower"), |s| {
            !s.is_connected()
        })
        .await;
    }
    tokio::time::sleep((t + Duration::from_secs(1)).saturating_sub(base.elapsed())).await;
    let span = p.resume().await;
    assert!(span.at_least > t, "{span:?}");
    wait_serving(leader).await;
    let h_now = wait_state(&h, "H back or expired", |s| {
        s.is_connected() || s.is_terminal()
    })
    .await;
    wait_state(&w, "W back", |s| s.is_connected()).await;
    assert_eq!(w.session_id(), w_session, "W's session");
    let leader_now = settled_leader().await;
    let (h_dropped, _, h_lease) = h_states.find(|s| !s.is_connected()).expect("H dropped");
    let h_lease = h_lease.expect("H's lease");
    let h_token = g.fencing_token();
    let outcome;
    if h_now.is_connected() {
        // The usual case: H's session and lock survived.
        let (h_back, _, _) = h_states
            .find_after(h_dropped, |s| s.is_connected())
            .expect("H back");
        assert_eq!(h.session_id(), h_session, "same session");
        assert_owner(&obs, g.node_path(), h_session, "after the election").await;
        assert!(still_blocked(&mut waiter).await, "W got in while H holds");
        // The resumed old leader committed nothing: H's session works, for writes too.
        h.create(&f.path("after"), b"", zksync::CreateMode::Persistent)
            .await
            .expect("H writes after the old leader's resume");
        // H's guard is lost only if its lease ran out before H was back (a slow election).
        match loss.get() {
            None => assert!(!g.is_lost(), "H's guard lost"),
            Some((at, why)) => {
                assert_eq!(why, LockLost::LeaseExpired, "H's guard lost");
                assert!(
                    at <= h_back && h_lease <= h_back,
                    "H's guard lost at {} with H back at {} and its lease to {}",
                    rel(at, base),
                    rel(h_back, base),
                    rel(h_lease, base)
                );
            }
        }
        outcome = format!(
            "sessions kept; H dropped at {} with its lease running to {}, back at {} ({} ms of \
             headroom); guard lost: {:?}",
            rel(h_dropped, base),
            rel(h_lease, base),
            rel(h_back, base),
            ms(h_lease, h_back),
            loss.get().map(|v| v.1)
        );
        loss.stop().await;
        unwrap_guard(g).unlock().await.unwrap();
        let (_, wg) = guard("W after the release", waiter).await.unwrap();
        let wg = wg.expect("W's acquire");
        assert!(wg.fencing_token() > h_token);
        wg.unlock().await.unwrap();
    } else {
        // The resumed old leader won the election and committed its expiry of H's session:
        // W gets the lock. H must have known before, by its lease.
        let (acquired_at, wg) = guard("W takes over", waiter).await.unwrap();
        let wg = wg.expect("W's acquire");
        let (lost_at, lost) = loss.wait().await;
        assert!(
            h_lease <= acquired_at && lost_at <= acquired_at,
            "W acquired at {} while H's lease ran to {} (H told at {}: {lost:?})",
            rel(acquired_at, base),
            rel(h_lease, base),
            rel(lost_at, base)
        );
        assert!(wg.fencing_token() > h_token);
        outcome = format!(
            "H's session expired (the resumed old leader's expiry committed); H's lease ran to \
             {}, lost() = {lost:?} at {}, W acquired at {}",
            rel(h_lease, base),
            rel(lost_at, base),
            rel(acquired_at, base)
        );
        wg.unlock().await.unwrap();
        loss.stop().await;
        drop(unwrap_guard(g));
    }
    eprintln!(
        "leader pause > T: leader {leader} frozen {}..{} ms (T {t:?}); leader now {leader_now}; \
         {outcome}; H: {}; W: {}",
        span.at_least.as_millis(),
        span.at_most.as_millis(),
        h_states.show(base),
        w_states.show(base)
    );
    h.close().await;
    w.close().await;
    obs.close().await;
    f.finish().await;
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn leader_paused_past_a_session_timeout_below_the_sync_limit_expires_a_live_session() {
    let f = Fault::begin("pause-leader-sync-limit").await;
    let dir = f.path("lock");
    // H's timeout is shorter than syncLimit ticks; W's is long (the pause must not expire it).
    let t = Duration::from_secs(1);
    let (leader, fs) = roles().await;
    let h = connect(&f.via(&fs[..2]), t).await;
    let w = connect(&f.via(&fs[2..]), Duration::from_secs(10)).await;
    let obs = observer(&fs[2..]).await;
    let g = Arc::new(RwLock::new(h.clone(), &dir).write().await.unwrap());
    let loss = LossWatch::start(&g);
    let mut waiter = spawn_waiter(&w, &dir);
    wait_children(&obs, &dir, |c| c.len() == 2).await;
    tokio::time::sleep(t / 2).await; // held a while: the lease rests on pings
    let states = TimedStates::start(&h);

    // Frozen for more than H's T but less than syncLimit ticks: the followers wait for the
    // leader, and H's follower goes on answering H's pings, so H's lease goes on too. But the
    // leader's session tracker runs on its own clock: once resumed it expires H's session at
    // once (it last heard of H before the pause; the touches H's follower took meanwhile
    // reach it only in the follower's answer to its next ping), and the lock passes to W.
    let p = PausedNode::pause(leader).await;
    let base = p.frozen_at();
    tokio::time::sleep(Duration::from_millis(1800)).await; // the fault held
    let lease_at_resume = g.valid_until();
    // SIGCONT goes out after this instant (inside the script): nothing can follow from the
    // resume before it.
    let resumed = Instant::now();
    let span = p.resume().await;
    assert!(
        span.at_least > t && span.at_most < SYNC_LIMIT,
        "{span:?}: not between T and syncLimit ticks"
    );
    // Two threads of the resumed leader race: its session tracker, which expires H at once
    // (it last heard of H before the pause), and the handler of H's follower, whose answer to
    // the leader's next ping carries the touches H's follower took meanwhile. The tracker
    // usually wins; when the touches win, H's session lives on (renewed from then on). The
    // race is over within a tick or two of the resume; no event says that the tracker let H
    // live, so a window of many ticks (several of H's T) stands for it.
    let outcome = match tokio::time::timeout(EXPIRY_RACE_WINDOW, &mut waiter).await {
        Ok(joined) => {
            let (acquired_at, wg) = joined.expect("W's task");
            let wg = wg.expect("W's acquire");
            let h_knew = g.is_lost();
            let lease_then = g.valid_until();
            let (lost_at, lost) = loss.wait().await;
            wait_state(&h, "H expired", |s| s == SessionState::Expired).await;
            assert_owner(&obs, wg.node_path(), w.session_id(), "W's lock node").await;
            // What ZooKeeper did: H was connected and answered throughout, until the resumed leader
            // expired its session.
            let dropped = states.first(|s| !s.is_connected()).expect("H dropped");
            assert!(
                dropped >= resumed,
                "H was dropped {} ms before the leader's resume: {}",
                ms(resumed, dropped),
                states.show(base)
            );
            // What still holds: H learns it from the servers (not from its lease, which its follower
            // kept renewing while the leader was frozen), and the new holder's token is larger, so a
            // fenced resource rejects H's late writes. The lease assumes that a server that answers
            // passes the session's touches on to the leader within T/4; a frozen leader takes none,
            // and once resumed its tracker (whose clock ran on) expires the session before they
            // arrive. So W may get the lock while H's lease still runs (and then, for a moment,
            // before H is told): only a T of at least 4/3 of syncLimit ticks rules this out.
            // The property that is left: if H's lease had run out, H must have said so first.
            assert!(
                matches!(lost, LockLost::NodeDeleted | LockLost::SessionEnded(_)),
                "{lost:?}"
            );
            assert!(wg.fencing_token() > g.fencing_token());
            if lease_then <= acquired_at {
                assert!(
                    lost_at <= acquired_at,
                    "H's lease ran out but H told after W acquired"
                );
            }
            let line = format!(
                "H's session expired by the resumed leader; W acquired at {} with H's lease \
                 still {} ms ahead; H's is_lost() then: {h_knew}; H's lost() = {lost:?} at {} \
                 ({} ms after W acquired); H: {}",
                rel(acquired_at, base),
                ms(lease_then, acquired_at),
                rel(lost_at, base),
                ms(lost_at, acquired_at),
                states.show(base)
            );
            wg.unlock().await.unwrap();
            loss.stop().await;
            drop(unwrap_guard(g));
            line
        }
        Err(_) => {
            // The touches won: H's session and lock are intact and W still waits.
            assert!(h.state().is_connected(), "H: {}", states.show(base));
            h.create(&f.path("after"), b"", zksync::CreateMode::Persistent)
                .await
                .expect("H writes after the race");
            assert_owner(&obs, g.node_path(), h.session_id(), "H's lock node").await;
            assert!(still_blocked(&mut waiter).await, "W got in while H holds");
            // A lease may lapse early (that is always safe), the lock itself must not.
            if let Some((_, why)) = loss.get() {
                assert_eq!(why, LockLost::LeaseExpired, "H's guard lost");
            }
            let h_token = g.fencing_token();
            loss.stop().await;
            unwrap_guard(g).unlock().await.unwrap();
            let (_, wg) = guard("W after H's release", waiter).await.unwrap();
            let wg = wg.expect("W's acquire");
            assert!(wg.fencing_token() > h_token);
            wg.unlock().await.unwrap();
            format!(
                "the follower's touches reached the resumed leader before its tracker expired \
                 H: H's session and lock kept, W acquired after H's release; H: {}",
                states.show(base)
            )
        }
    };
    eprintln!(
        "leader pause between T and syncLimit ticks: leader {leader} frozen {}..{} ms (H's T \
         {t:?}); H's lease at the resume ran to {}; {outcome}",
        span.at_least.as_millis(),
        span.at_most.as_millis(),
        rel(lease_at_resume, base),
    );
    h.close().await;
    w.close().await;
    obs.close().await;
    f.finish().await;
}

/// How long after a frozen leader's resume the test above waits for the leader to expire a
/// session its followers kept alive: the race that decides it is over within a tick or two
/// (250 ms each).
const EXPIRY_RACE_WINDOW: Duration = Duration::from_secs(4);

// ----- a paused lock holder process -----

/// A fenced register kept in a file, shared by processes: every write is one line
/// `TOKEN WRITER` appended to it (O_APPEND and a single write(2): atomic, and a writer frozen
/// half-way cannot block the others, as a lock file could). The register takes the writes in
/// the order they were appended: it accepts a write whose token is at least the highest it
/// has accepted so far, and rejects (and records) every other one.
struct FencedRegister {
    path: PathBuf,
}

/// One write the register took, and its verdict.
#[derive(Debug, Clone, PartialEq)]
struct RegisterWrite {
    token: i64,
    writer: String,
    accepted: bool,
}

impl FencedRegister {
    fn new(path: PathBuf) -> FencedRegister {
        std::fs::write(&path, b"").expect("create the register");
        FencedRegister { path }
    }

    /// Writes `token` as `writer` (from this process).
    fn write(&self, token: i64, writer: &str) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .expect("open the register");
        file.write_all(format!("{token} {writer}\n").as_bytes())
            .expect("write the register");
    }

    /// Every write so far, in order, with the register's verdict.
    fn history(&self) -> Vec<RegisterWrite> {
        let text = std::fs::read_to_string(&self.path).expect("read the register");
        let mut highest = i64::MIN;
        let mut out = Vec::new();
        // A line still being appended has no newline yet: it is not a write yet.
        for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            let (token, writer) = line
                .trim_end()
                .split_once(' ')
                .unwrap_or_else(|| panic!("bad register line {line:?}"));
            let token: i64 = token
                .parse()
                .unwrap_or_else(|_| panic!("bad token in {line:?}"));
            let accepted = token >= highest;
            if accepted {
                highest = token;
            }
            out.push(RegisterWrite {
                token,
                writer: writer.to_string(),
                accepted,
            });
        }
        out
    }
}

/// A scratch directory, removed on drop.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("zksync-fault-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("scratch dir");
        Scratch { path }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The state letter of process `pid` (`R`, `S`, `T` for stopped, `Z`...), `None` if gone.
fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid pgrp ...": the fields after the last ')'.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// The process group of `pid`.
fn process_group(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// True if no process `pid` exists any more, or only its zombie.
fn process_gone(pid: i32) -> bool {
    matches!(process_state(pid), None | Some('Z'))
}

/// Sends `sig` to `pid` (a process group if negative).
fn send(pid: i32, sig: i32) {
    // SAFETY: plain kill(2) on a child of this test, or on its process group.
    let r = unsafe { libc::kill(pid, sig) };
    assert_eq!(
        r,
        0,
        "kill({pid}, {sig}): {}",
        std::io::Error::last_os_error()
    );
}

/// The zksync process and CMD's process group, frozen: a process pause stops everything.
/// On drop (a failing test) both are let go again, and CMD's group killed (zksync itself is
/// killed by `kill_on_drop`), so nothing stays frozen or running.
struct FrozenHolder {
    zksync: i32,
    cmd_group: i32,
    done: bool,
}

impl FrozenHolder {
    fn freeze(zksync: i32, cmd_group: i32) -> FrozenHolder {
        send(-cmd_group, libc::SIGSTOP);
        send(zksync, libc::SIGSTOP);
        FrozenHolder {
            zksync,
            cmd_group,
            done: false,
        }
    }

    /// Waits until both are stopped (SIGSTOP takes effect asynchronously).
    async fn wait_stopped(&self) {
        guard("zksync and CMD stopped", async {
            while process_state(self.zksync) != Some('T')
                || process_state(self.cmd_group) != Some('T')
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
    }

    fn resume_cmd(&self) {
        send(-self.cmd_group, libc::SIGCONT);
    }

    fn resume_zksync(mut self) {
        self.done = true;
        send(self.zksync, libc::SIGCONT);
    }
}

impl Drop for FrozenHolder {
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: kill(2) on our child and on CMD's group; errors (gone already) ignored.
            unsafe {
                libc::kill(-self.cmd_group, libc::SIGKILL);
                libc::kill(-self.cmd_group, libc::SIGCONT);
                libc::kill(self.zksync, libc::SIGCONT);
            }
        }
    }
}

/// What a finished zksync process left.
#[derive(Debug)]
struct Output {
    code: Option<i32>,
    stderr: String,
}

/// Waits (hang-guarded) for `child` to exit; collects its stderr.
async fn finish(mut child: tokio::process::Child) -> Output {
    use tokio::io::AsyncReadExt;
    let mut stderr = child.stderr.take().expect("piped stderr");
    guard("zksync exits", async {
        let mut err = String::new();
        let (_, status) = tokio::join!(stderr.read_to_string(&mut err), child.wait());
        Output {
            code: status.expect("wait zksync").code(),
            stderr: err,
        }
    })
    .await
}

/// A `zksync lock` process holding `lock` with session timeout `t`, its CMD (`sh`, leading a
/// process group of its own) writing its `$ZKSYNC_FENCING_TOKEN` to `register` in a loop, as
/// fast as a shell can. Returns once CMD has written: the child, zksync's pid and CMD's pid.
async fn zksync_holder(
    lock: &str,
    t: Duration,
    scratch: &Scratch,
    register: &FencedRegister,
) -> (tokio::process::Child, i32, i32) {
    let script = r#"echo $$ > "$DIR/cmd.pid"; while :; do echo "$ZKSYNC_FENCING_TOKEN cmd" >> "$DIR/register"; sleep 0.01; done"#;
    let t_ms = t.as_millis().to_string();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_zksync"));
    cmd.args([
        "--servers",
        &peers(),
        "--session-timeout",
        &t_ms,
        "lock",
        lock,
    ])
    .args(["--", "sh", "-c", script])
    .env("DIR", &scratch.path)
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn zksync");
    let zksync_pid = child.id().expect("zksync's pid") as i32;
    guard("CMD's first write", async {
        while !register.history().iter().any(|w| w.writer == "cmd") {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("zksync exited ({status}) before CMD wrote");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let cmd_pid: i32 = std::fs::read_to_string(scratch.path.join("cmd.pid"))
        .expect("cmd.pid")
        .trim()
        .parse()
        .expect("CMD's pid");
    assert_eq!(
        process_group(cmd_pid),
        Some(cmd_pid),
        "CMD leads a process group of its own"
    );
    (child, zksync_pid, cmd_pid)
}

/// Waits (hang-guarded) until process `pid` is gone (or only its zombie is left).
async fn wait_gone(pid: i32, who: &str) {
    guard(&format!("{who} gone"), async {
        while !process_gone(pid) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn lock_holder_process_paused_past_its_session_timeout_is_stopped_and_fenced() {
    let f = Fault::begin("pause-holder").await;
    let lock = f.path("lock");
    let scratch = Scratch::new("pause-holder");
    let register = FencedRegister::new(scratch.path.join("register"));
    let t = Duration::from_secs(2);
    let (child, zksync_pid, cmd_pid) = zksync_holder(&lock, t, &scratch, &register).await;
    let w = connect(&peers(), Duration::from_secs(4)).await;
    let waiter = spawn_waiter(&w, &lock);
    wait_children(&f.admin, &lock, |c| c.len() == 2).await;
    tokio::time::sleep(t / 2).await; // held a while: the lease rests on pings

    // Freeze zksync and CMD. The servers hear nothing from zksync's session for T: they
    // expire it and W gets the lock, and writes with its larger token.
    let frozen = FrozenHolder::freeze(zksync_pid, cmd_pid);
    frozen.wait_stopped().await;
    let base = Instant::now();
    let before = register.history().len();
    let (acquired_at, wg) = guard("W takes over", waiter).await.unwrap();
    let wg = wg.expect("W's acquire");
    register.write(wg.fencing_token(), "waiter");
    let waiter_wrote = register.history().len() - 1;

    // CMD runs again first (which of the two the scheduler runs first is up to it): its late
    // writes reach the register before zksync has had a chance to stop it, and are rejected.
    frozen.resume_cmd();
    guard("CMD's late write", async {
        while !register.history()[waiter_wrote..]
            .iter()
            .any(|w| w.writer == "cmd")
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    // Then zksync: its lease ran out long ago, so it must stop CMD and exit 4.
    let resumed = Instant::now();
    frozen.resume_zksync();
    let out = finish(child).await;
    let exited_after = resumed.elapsed();
    assert_eq!(out.code, Some(4), "zksync's exit: {out:?}");
    assert!(out.stderr.contains("lost the write lock"), "{out:?}");
    assert!(!out.stderr.contains("panicked"), "{out:?}");
    wait_gone(cmd_pid, "CMD").await;
    // Nothing of CMD writes any more.
    let final_len = register.history().len();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let history = register.history();
    assert_eq!(history.len(), final_len, "writes after CMD was stopped");

    // The register's view.
    let accepted: Vec<i64> = history
        .iter()
        .filter(|w| w.accepted)
        .map(|w| w.token)
        .collect();
    assert!(
        accepted.windows(2).all(|p| p[0] <= p[1]),
        "the register accepted an older token after a newer one: {accepted:?}"
    );
    let cmd_token = history[0].token;
    assert!(
        wg.fencing_token() > cmd_token,
        "the waiter's token is larger"
    );
    assert!(
        history[waiter_wrote].accepted,
        "the waiter's write was rejected"
    );
    let late: Vec<&RegisterWrite> = history[waiter_wrote + 1..].iter().collect();
    assert!(!late.is_empty(), "no late write by CMD");
    assert!(
        late.iter().all(|w| w.writer == "cmd" && !w.accepted),
        "a late write got through: {late:?}"
    );
    assert!(
        history[..waiter_wrote]
            .iter()
            .all(|w| w.writer == "cmd" && w.accepted),
        "CMD's writes while it held the lock: {:?}",
        &history[..waiter_wrote]
    );
    eprintln!(
        "holder process paused: zksync (session timeout {t:?}) and CMD frozen; W acquired {} ms \
         later (token {} > {cmd_token}); CMD wrote {before} times before the pause, {} times \
         after SIGCONT (all rejected); zksync exited 4 {} ms after its SIGCONT: {}",
        ms(acquired_at, base),
        wg.fencing_token(),
        late.len(),
        exited_after.as_millis(),
        out.stderr.trim()
    );
    wg.unlock().await.unwrap();
    w.close().await;
    f.finish().await;
}

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn lock_holder_process_paused_past_its_lease_alone_is_stopped_too() {
    let f = Fault::begin("pause-holder-lease").await;
    let lock = f.path("lock");
    let scratch = Scratch::new("pause-holder-lease");
    let register = FencedRegister::new(scratch.path.join("register"));
    let t = Duration::from_secs(3);
    let (child, zksync_pid, cmd_pid) = zksync_holder(&lock, t, &scratch, &register).await;
    tokio::time::sleep(t / 2).await; // held a while: the lease rests on pings

    // Frozen for 3T/4: past the lease (on an idle connection at most about 2T/3 ahead), but
    // not past the session: the client judges it expired only T after the send time of the
    // last request answered (at most a ping interval T/6 before the freeze). So after SIGCONT
    // the lease is the only sign zksync has (the servers may or may not have expired the
    // session: it cannot know without a round trip), and it must stop CMD on it.
    let frozen = FrozenHolder::freeze(zksync_pid, cmd_pid);
    frozen.wait_stopped().await;
    let base = Instant::now();
    tokio::time::sleep(t * 3 / 4).await; // the fault held
    let paused = base.elapsed();
    frozen.resume_cmd();
    let resumed = Instant::now();
    frozen.resume_zksync();
    let out = finish(child).await;
    let exited_after = resumed.elapsed();
    assert_eq!(out.code, Some(4), "zksync's exit: {out:?}");
    assert!(out.stderr.contains("lost the write lock"), "{out:?}");
    assert!(
        out.stderr.contains("within the session's lease"),
        "stopped for another reason than the lease: {out:?}"
    );
    wait_gone(cmd_pid, "CMD").await;
    eprintln!(
        "holder process paused past its lease: zksync (session timeout {t:?}) and CMD frozen \
         {} ms; zksync exited 4 {} ms after SIGCONT: {}",
        paused.as_millis(),
        exited_after.as_millis(),
        out.stderr.lines().next().unwrap_or_default()
    );
    f.finish().await;
}

/// Environment of [`library_holder_child_process`]: where its register and report go, the lock.
const CHILD_DIR: &str = "ZKSYNC_FAULT_PAUSED_HOLDER_DIR";
const CHILD_LOCK: &str = "ZKSYNC_FAULT_PAUSED_HOLDER_LOCK";

#[tokio::test]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn library_holder_paused_past_its_session_timeout_knows_before_its_next_write() {
    let f = Fault::begin("pause-library-holder").await;
    let lock = f.path("lock");
    let scratch = Scratch::new("pause-library-holder");
    let register = FencedRegister::new(scratch.path.join("register"));
    // The holder: this test binary again, running only library_holder_child_process.
    let mut child = tokio::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "pauses::library_holder_child_process",
            "--exact",
            "--ignored",
        ])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, &scratch.path)
        .env(CHILD_LOCK, &lock)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the holder");
    let pid = child.id().expect("holder's pid") as i32;
    /// Lets a frozen child go if the test fails (it is killed by `kill_on_drop` then).
    struct Resume(i32);
    impl Drop for Resume {
        fn drop(&mut self) {
            // SAFETY: kill(2) on our own child; an error (gone already) is ignored.
            unsafe { libc::kill(self.0, libc::SIGCONT) };
        }
    }
    let _resume = Resume(pid);
    guard("the holder's first write", async {
        while register.history().is_empty() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the holder exited ({status}) before it wrote");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let w = connect(&peers(), Duration::from_secs(4)).await;
    let waiter = spawn_waiter(&w, &lock);
    wait_children(&f.admin, &lock, |c| c.len() == 2).await;
    tokio::time::sleep(Duration::from_secs(1)).await; // held a while: the lease rests on pings
                                                      // The holder stops itself (SIGSTOP) in the middle of its work loop, once its waiter has
                                                      // queued: its next step after SIGCONT is the check before its next write, with nothing
                                                      // (not even its client's driver) run in between.
    std::fs::write(scratch.path.join("waiter-queued"), b"").expect("signal the holder");
    guard("the holder stops itself", async {
        while process_state(pid) != Some('T') {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let base = Instant::now();
    let (acquired_at, wg) = guard("W takes over", waiter).await.unwrap();
    let wg = wg.expect("W's acquire");
    register.write(wg.fencing_token(), "waiter");
    let waiter_wrote = register.history().len() - 1;
    send(pid, libc::SIGCONT);
    let out = finish(child).await;
    assert_eq!(out.code, Some(0), "the holder: {out:?}");
    let report = std::fs::read_to_string(scratch.path.join("report")).expect("holder's report");
    let history = register.history();
    assert_eq!(
        history.len(),
        waiter_wrote + 1,
        "the holder wrote after SIGCONT: {:?}; its report: {report}",
        &history[waiter_wrote..]
    );
    assert!(history.iter().all(|w| w.accepted));
    assert!(
        report.starts_with("is_lost after the pause: true"),
        "the holder's report: {report}"
    );
    eprintln!(
        "library holder paused: W acquired {} ms after the holder froze; the holder wrote {} \
         times before, none after; holder's report: {}",
        ms(acquired_at, base),
        waiter_wrote,
        report.trim()
    );
    wg.unlock().await.unwrap();
    w.close().await;
    f.finish().await;
}

/// Not a test on its own: the body of the child process of
/// `library_holder_paused_past_its_session_timeout_knows_before_its_next_write` (a no-op
/// without its environment). Holds the lock (session timeout 2 s) and writes its token to the
/// register every 10 ms, checking `is_lost()` before each write; once the waiter has queued it
/// stops itself with SIGSTOP. After SIGCONT it reports what `is_lost()`, `valid_until()` and
/// `lost()` said.
#[tokio::test]
#[ignore = "fault test: the child process of the library holder's pause test"]
async fn library_holder_child_process() {
    let (Ok(dir), Ok(lock)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_LOCK)) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let register = FencedRegister {
        path: dir.join("register"),
    };
    let c = connect(&peers(), Duration::from_secs(2)).await;
    let g = RwLock::new(c.clone(), &lock)
        .write()
        .await
        .expect("acquire");
    let mut resumed: Option<Instant> = None;
    let mut first_check = None;
    let mut writes_after = 0;
    loop {
        // The check before each externally visible step; after the pause it is the first
        // thing this process does.
        let lost = g.is_lost();
        if let Some(at) = resumed.take() {
            first_check = Some((lost, ms(at, g.valid_until())));
        }
        if lost {
            break;
        }
        register.write(g.fencing_token(), "holder");
        if first_check.is_some() {
            writes_after += 1;
        } else if dir.join("waiter-queued").exists() {
            // SAFETY: raise(3) of SIGSTOP: this process stops until the test sends SIGCONT.
            unsafe { libc::raise(libc::SIGSTOP) };
            resumed = Some(Instant::now());
            continue;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (lost, over) = first_check.expect("the lock was lost before the pause");
    let reason = guard("lost() after the pause", g.lost()).await;
    let report = format!(
        "is_lost after the pause: {lost}; lease ended {over} ms before; {writes_after} writes \
         after the pause; lost() = {reason:?}\n"
    );
    std::fs::write(dir.join("report"), report).expect("report");
    drop(g);
    c.close().await;
}
