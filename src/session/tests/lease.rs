//! The lease: how far the bound trails the server's view under various traffic.

use super::*;

/// Runs a session for `until_ms` of virtual time in 10 ms steps, answering each request after
/// `rtt(n)` ms (n counts requests and pings from 0; replies keep their order); with `busy`, one
/// request at a time is always in flight besides the pings (one-at-a-time traffic). Returns the
/// smallest headroom (lease end minus now) seen, in ms (negative: the lease ran out while the
/// connection was fine).
fn lease_headroom(t_ms: i32, until_ms: u64, busy: bool, rtt: impl Fn(usize) -> u64) -> i64 {
    let mut h = H::new(1, cfg(t_ms as u64));
    h.establish(t_ms);
    let mut due: std::collections::VecDeque<(u64, i32)> = Default::default();
    let (mut n, mut zxid, mut worst, mut now) = (0, 0, i64::MAX, 0);
    let mut request_in_flight = false;
    while now < until_ms {
        now += 10;
        h.tick(now);
        if busy && !request_in_flight {
            h.submit(exists("/x", false), None);
            request_in_flight = true;
        }
        for s in h.sent() {
            // In order: a reply never overtakes an earlier one.
            let at = (now + rtt(n)).max(due.back().map_or(0, |d| d.0));
            due.push_back((at, s.xid));
            n += 1;
        }
        while let Some(&(at, x)) = due.front() {
            if at > now {
                break;
            }
            due.pop_front();
            zxid += 1;
            if x == xid::PING {
                h.reply(xid::PING, 0, ErrorCode::Ok, None);
            } else {
                h.reply_ok(x, zxid, Response::Stat(stat(1)));
                request_in_flight = false;
            }
        }
        h.results();
        assert!(h.actions().is_empty(), "the connection stays up");
        let until = h.s.valid_until().expect("established");
        worst = worst.min(h.ms(until) as i64 - now as i64);
    }
    worst
}

#[test]
fn the_lease_starts_at_the_handshake_and_never_reaches_past_one_timeout() {
    let mut h = H::new(1, cfg(3_000));
    assert_eq!(h.s.valid_until(), None);
    h.establish(3_000); // the handshake was sent at 0
    assert_eq!(h.s.valid_until(), Some(h.t(3_000 - 30)));
    // A ping at 500 answered at 510 does not count yet: the follower may not have passed it on.
    h.tick(500);
    h.at(510);
    h.reply(xid::PING, 0, ErrorCode::Ok, None);
    assert_eq!(h.s.valid_until(), Some(h.t(2_970)));
    // Still not after the ping at 1000 (sent less than T/4 = 750 ms after 510)...
    h.tick(1_000);
    h.at(1_010);
    h.reply(xid::PING, 0, ErrorCode::Ok, None);
    assert_eq!(h.s.valid_until(), Some(h.t(2_970)));
    // ...but the ping sent at 1500 proves the server was alive 990 ms after answering the one
    // sent at 500: that contact counts now.
    h.tick(1_500);
    h.at(1_510);
    h.reply(xid::PING, 0, ErrorCode::Ok, None);
    assert_eq!(h.s.valid_until(), Some(h.t(500 + 2_970)));
}

#[test]
fn the_lease_stays_ahead_on_an_idle_connection_even_with_one_slow_answer() {
    // Prompt answers: the lease rests on a contact T/3 to T/2 old, so stays about T/2 ahead.
    let prompt = lease_headroom(3_000, 20_000, false, |_| 5);
    assert!(prompt >= 1_400, "headroom {prompt} ms");
    // Round trips of 400 ms (beyond T/12, where pings every T/3 would let it lapse).
    let slow = lease_headroom(3_000, 20_000, false, |_| 400);
    assert!(slow > 500, "headroom {slow} ms");
    // One answer delayed by a third of the timeout (a server's GC pause).
    let hiccup = lease_headroom(3_000, 20_000, false, |n| if n == 10 { 1_000 } else { 5 });
    assert!(hiccup > 0, "headroom {hiccup} ms");
}

#[test]
fn the_lease_survives_one_at_a_time_traffic_over_a_slow_link() {
    // A 4 s session over a link with 800 ms round trips, one request after another: the steady
    // pings fill the gaps between them, so contacts keep being confirmed.
    let headroom = lease_headroom(4_000, 30_000, true, |_| 800);
    assert!(headroom > 200, "headroom {headroom} ms");
}

#[test]
fn the_lease_is_not_renewed_by_a_lost_connection_nor_by_a_dead_server() {
    let mut h = H::new(2, cfg(3_000));
    h.establish(3_000);
    h.tick(500);
    h.at(505);
    h.reply(xid::PING, 0, ErrorCode::Ok, None);
    // The connection drops: the ping answered at 505 can never be vouched for by that server.
    h.at(600);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    assert_eq!(h.s.valid_until(), Some(h.t(2_970)));
    // A reconnect: the new handshake (sent at 700) counts at once.
    h.at(700);
    h.reconnect(3_000);
    assert_eq!(h.s.valid_until(), Some(h.t(700 + 2_970)));
}

/// A follower cut off from the leader at `cut_ms` (silently: it goes on answering pings for
/// `sync_ms`, the servers' `syncLimit × tickTime`, then stops). Returns the lease's end (ms of
/// virtual time) once that follower has gone quiet, for a client told `told_ms` of the sync
/// limit.
fn lease_after_silent_cut(t_ms: u64, cut_ms: u64, sync_ms: u64, told_ms: u64) -> u64 {
    let mut c = cfg(t_ms);
    c.server_sync_limit = Duration::from_millis(told_ms);
    let mut h = H::new(1, c);
    h.establish(t_ms as i32);
    let mut now = 0;
    while now < cut_ms + sync_ms {
        now += 10;
        h.tick(now);
        for s in h.sent() {
            assert_eq!(s.xid, xid::PING, "an idle session only pings");
            h.reply(xid::PING, 0, ErrorCode::Ok, None);
        }
    }
    h.ms(h.s.valid_until().expect("established"))
}

#[test]
fn given_the_servers_sync_limit_a_silently_cut_follower_cannot_stretch_the_lease() {
    let (t, cut, sync) = (4_000, 10_000, 1_500);
    // What the leader knows: touches the follower passed on before the cut, i.e. of contacts
    // answered up to T/4 (half a tick at most) before it. It expires the session T after the
    // latest of them, so no lease may end later than cut - T/4 + T.
    let safe = cut - t / 4 + t - t / 100;
    let told = lease_after_silent_cut(t, cut, sync, sync);
    assert!(told <= safe, "lease to {told} ms, beyond {safe} ms");
    // Not told: the follower's answers during the sync limit stretch the lease past the
    // leader's expiry (why the README asks for syncLimit × tickTime + tick/2 <= T/4 then).
    let untold = lease_after_silent_cut(t, cut, sync, 0);
    assert!(
        untold > safe,
        "lease to {untold} ms (the unsafe case did not show)"
    );
}

#[test]
fn given_the_servers_sync_limit_the_lease_still_stays_ahead_when_idle() {
    let mut c = cfg(4_000);
    c.server_sync_limit = Duration::from_millis(1_000);
    let mut h = H::new(1, c);
    h.establish(4_000);
    let mut worst = i64::MAX;
    for now in (10..20_000).step_by(10) {
        h.tick(now);
        for _ in h.sent() {
            h.reply(xid::PING, 0, ErrorCode::Ok, None);
        }
        let until = h.ms(h.s.valid_until().expect("established")) as i64;
        worst = worst.min(until - now as i64);
    }
    // About 7T/12 - S = 1333 ms less a ping interval's worth of sampling.
    assert!(worst >= 600, "headroom {worst} ms");
}
