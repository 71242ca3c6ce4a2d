//! Hosts: round-robin, back-off, connect timeout.

use super::*;

#[test]
fn reconnect_order_is_round_robin_over_a_shuffled_list_with_backoff_after_a_lap() {
    let n = 5;
    let seed = 42;
    let mut h = H::new(
        n,
        SessionConfig {
            seed,
            ..cfg(10_000)
        },
    );
    let expected = HostRing::new(hosts(n), &mut Rng::new(seed))
        .hosts()
        .to_vec();
    h.s.start(h.now);
    let mut lap = Vec::new();
    for i in 0..n {
        let host = h.expect_connect();
        lap.push(host);
        h.at(i as u64);
        h.s.on_connect_failed(h.now, refused());
    }
    assert_eq!(lap, expected, "the once-shuffled order");
    let mut sorted = lap.clone();
    sorted.sort_by_key(|h| h.port);
    assert_eq!(sorted, hosts(n), "a lap visits every host once");
    // A full lap failed: no immediate attempt, a back-off of 25..=50 ms from the last failure.
    assert!(h.actions().is_empty());
    let retry = h.deadline_ms().expect("a retry deadline");
    assert!(
        (4 + 25..=4 + 50).contains(&retry),
        "back-off deadline {retry}"
    );
    h.tick(retry - 1);
    assert!(
        h.actions().is_empty(),
        "no attempt before the back-off ends"
    );
    h.tick(retry);
    assert_eq!(h.actions(), vec![Action::Connect(lap[0].clone())]);
    // Second lap, same order; the next back-off is longer (50..=100 ms).
    let mut lap2 = vec![lap[0].clone()];
    h.s.on_connect_failed(h.now, refused());
    for _ in 1..n {
        lap2.push(h.expect_connect());
        h.s.on_connect_failed(h.now, refused());
    }
    assert_eq!(lap2, lap);
    assert!(h.actions().is_empty());
    let retry2 = h.deadline_ms().unwrap() - retry;
    assert!((50..=100).contains(&retry2), "second back-off {retry2}");
    // Success resets the lap: a later drop reconnects at once.
    h.tick(retry + retry2);
    let host = h.expect_connect();
    assert_eq!(host, lap[0]);
    h.tcp_up();
    h.connect_response(10_000, SID, &PASSWD, false);
    h.actions();
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    assert_eq!(h.expect_connect(), lap[1]);
}

#[test]
fn hosts_are_shuffled() {
    let n = 5;
    let orders: Vec<Vec<HostPort>> = (1..=20)
        .map(|seed| {
            let mut h = H::new(
                n,
                SessionConfig {
                    seed,
                    ..cfg(10_000)
                },
            );
            h.s.start(h.now);
            (0..n)
                .map(|_| {
                    let host = h.expect_connect();
                    h.s.on_connect_failed(h.now, refused());
                    host
                })
                .collect()
        })
        .collect();
    assert!(
        orders.iter().any(|o| o != &hosts(n)),
        "some seed must reorder the list"
    );
    assert!(
        orders.iter().any(|o| o != &orders[0]),
        "different seeds, different orders"
    );
}

#[test]
fn per_host_connect_timeout_moves_to_the_next_host() {
    // Default: session timeout / number of hosts.
    let mut h = H::new(2, cfg(4_000));
    h.s.start(h.now);
    let a = h.expect_connect();
    assert_eq!(h.deadline_ms(), Some(2_000));
    h.tick(1_999);
    assert!(h.actions().is_empty());
    h.tick(2_000);
    let actions = h.actions();
    assert_eq!(
        actions[0],
        Action::Disconnect,
        "abandon the hanging attempt"
    );
    let Some(Action::Connect(b)) = actions.get(1) else {
        panic!("{actions:?}")
    };
    assert_ne!(b, &a);
    // The TCP connect succeeds but the handshake hangs: same deadline rule.
    h.at(2_100);
    h.tcp_up();
    assert_eq!(h.deadline_ms(), Some(4_000));
    h.tick(4_000);
    let actions = h.actions();
    assert_eq!(actions[0], Action::Disconnect);
    // That completed a lap: back-off before trying `a` again.
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert!(
        h.frames().is_empty(),
        "an abandoned handshake's bytes are not kept"
    );
    let retry = h.deadline_ms().unwrap();
    h.tick(retry);
    assert_eq!(h.actions(), vec![Action::Connect(a)]);
    // An on_connected or frame arriving for a stale attempt would be ignored; a fresh one works.
    h.tcp_up();
    h.connect_response(4_000, SID, &PASSWD, false);
    assert_eq!(h.s.state(), SessionState::Connected);
}

#[test]
fn connect_timeout_floor_and_explicit_value() {
    let mut h = H::new(8, cfg(1_000));
    h.s.start(h.now);
    h.expect_connect();
    assert_eq!(
        h.deadline_ms(),
        Some(250),
        "1000 ms / 8 hosts, but at least 250 ms"
    );

    let mut h = H::new(
        2,
        SessionConfig {
            connect_timeout: Some(Duration::from_millis(700)),
            ..cfg(10_000)
        },
    );
    h.s.start(h.now);
    h.expect_connect();
    assert_eq!(h.deadline_ms(), Some(700));
}
