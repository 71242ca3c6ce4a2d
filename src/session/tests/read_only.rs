//! Read-only servers: probing for a read-write server, sessions only a read-only server knows.

use super::*;

fn read_only_cfg(timeout_ms: u64) -> SessionConfig {
    SessionConfig {
        read_only: true,
        ..cfg(timeout_ms)
    }
}

/// Expects exactly one probe among the actions; returns its host and epoch.
fn expect_probe(actions: Vec<Action>) -> (HostPort, u64) {
    match actions.as_slice() {
        [Action::ProbeReadWrite { host, epoch, .. }] => (host.clone(), *epoch),
        other => panic!("expected one probe, got {other:?}"),
    }
}

#[test]
fn read_only_session_probes_other_hosts_and_moves_to_a_read_write_one() {
    let mut h = H::new(3, read_only_cfg(30_000));
    h.s.start(h.now);
    let ro_host = h.expect_connect();
    assert_eq!(h.tcp_up().session_id, 0);
    h.connect_response(30_000, SID, &PASSWD, true);
    assert_eq!(
        h.actions(),
        vec![Action::StateChanged(SessionState::ConnectedReadOnly)]
    );
    // First probe after FIRST_PROBE, at a host other than the read-only one.
    assert_eq!(h.deadline_ms(), Some(100));
    h.tick(100);
    let (probed, epoch) = expect_probe(h.actions());
    assert_ne!(probed, ro_host);
    assert_eq!(
        h.deadline_ms(),
        Some(5_000),
        "no second probe while one runs (the ping is next)"
    );
    // "ro": the next probe comes after twice the interval.
    h.at(130);
    h.s.on_probe_result(h.now, epoch, &probed, false);
    assert!(h.actions().is_empty());
    assert_eq!(h.deadline_ms(), Some(330));
    h.tick(330);
    let (probed, epoch) = expect_probe(h.actions());
    assert_ne!(probed, ro_host);
    // An in-flight request fails like on any reconnect; the session moves to the "rw" host.
    let id = h.submit(get_data("/a", false), None);
    assert_eq!(h.sent().len(), 1);
    h.at(340);
    h.s.on_probe_result(h.now, epoch, &probed, true);
    let actions = h.actions();
    assert_eq!(
        actions,
        vec![
            Action::Disconnect,
            Action::StateChanged(SessionState::Disconnected { since: h.t(340) }),
            Action::Connect(probed.clone()),
        ]
    );
    assert_eq!(h.results(), vec![(id, Err(Error::ConnectionLoss))]);
    // The read-only session is unknown to read-write servers: ask for a new one.
    let req = h.tcp_up();
    assert_eq!(req.session_id, 0, "a new session, not the read-only one");
    assert_eq!(&req.passwd[..], &[0u8; 16]);
    const SID2: i64 = 0x0a0b_0c0d;
    h.connect_response(30_000, SID2, &[3; 16], false);
    assert_eq!(
        h.actions(),
        vec![Action::StateChanged(SessionState::Connected)]
    );
    assert_eq!(h.s.session_id(), SID2);
    // From now on the session is resumed by id, and nothing probes any more.
    assert_eq!(h.deadline_ms(), Some(340 + 5_000), "only the ping is due");
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    h.expect_connect();
    assert_eq!(h.tcp_up().session_id, SID2);
}

#[test]
fn probe_results_of_an_old_connection_are_ignored() {
    let mut h = H::new(2, read_only_cfg(30_000));
    h.s.start(h.now);
    h.expect_connect();
    h.tcp_up();
    h.connect_response(30_000, SID, &PASSWD, true);
    h.actions();
    h.tick(100);
    let (probed, epoch) = expect_probe(h.actions());
    h.at(110);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    h.actions();
    h.s.on_probe_result(h.now, epoch, &probed, true);
    assert!(h.actions().is_empty(), "a stale probe moves nothing");
    // Back on a read-only server: probing starts over from the first interval.
    h.tcp_up();
    h.connect_response(30_000, SID, &PASSWD, true);
    h.actions();
    assert_eq!(h.deadline_ms(), Some(210));
    h.tick(210);
    let (probed, new_epoch) = expect_probe(h.actions());
    assert_ne!(new_epoch, epoch);
    h.s.on_probe_result(h.now, epoch, &probed, true);
    assert!(
        h.actions().is_empty(),
        "the old epoch's answer is not this probe's"
    );
}

#[test]
fn a_session_only_a_read_only_server_knows_does_not_expire_on_the_client_clock() {
    let mut h = H::new(2, read_only_cfg(3_000));
    h.s.start(h.now);
    h.expect_connect();
    h.tcp_up();
    h.connect_response(3_000, SID, &PASSWD, true);
    h.actions();
    h.at(50);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    // No server for far longer than the session timeout: attempts fail, nothing expires.
    for t in (100..20_000).step_by(100) {
        h.tick(t);
        for a in h.actions() {
            if let Action::Connect(_) = a {
                h.s.on_connect_failed(h.now, refused());
            }
        }
        assert!(
            !h.s.state().is_terminal(),
            "expired at {t} ms: {:?}",
            h.s.state()
        );
    }
    // The next server to answer grants a new session: the client goes on with it.
    let mut t = 20_000;
    while !h.actions().iter().any(|a| matches!(a, Action::Connect(_))) {
        h.tick(t);
        t += 100;
        assert!(t < 40_000, "no further attempt");
    }
    assert_eq!(h.tcp_up().session_id, 0);
    h.connect_response(3_000, 0x77, &PASSWD, false);
    assert_eq!(h.s.state(), SessionState::Connected);
    assert_eq!(h.s.session_id(), 0x77);
}

#[test]
fn read_write_sessions_and_single_hosts_never_probe() {
    // A session that allows read-only servers but is on a read-write one.
    let mut h = H::new(3, read_only_cfg(30_000));
    h.establish(30_000);
    assert_eq!(h.deadline_ms(), Some(5_000), "only the ping");
    // A read-only server but nowhere else to go.
    let mut h = H::new(1, read_only_cfg(30_000));
    h.s.start(h.now);
    h.expect_connect();
    h.tcp_up();
    h.connect_response(30_000, SID, &PASSWD, true);
    h.actions();
    assert_eq!(h.deadline_ms(), Some(5_000), "only the ping");
}

#[test]
fn a_resumed_session_is_asked_for_by_id_even_when_read_only_is_allowed() {
    let mut h = H::new(
        2,
        SessionConfig {
            resume: Some((SID, Bytes::from_static(&PASSWD))),
            server_sync_limit: Duration::ZERO,
            ..read_only_cfg(30_000)
        },
    );
    h.s.start(h.now);
    h.expect_connect();
    let req = h.tcp_up();
    assert_eq!((req.session_id, &req.passwd[..]), (SID, &PASSWD[..]));
}
