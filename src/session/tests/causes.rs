//! Causes kept per host: every way an attempt or a connection ends leaves its reason for
//! [`Session::unreachable`] (and the debug log), while what is in flight still fails with
//! `ConnectionLoss` as before.

use super::*;

/// The report's error for `host`.
fn cause(h: &H, host: &HostPort) -> Option<ConnectionError> {
    let report = h.s.unreachable(h.now, Duration::from_secs(1));
    let attempt = report.hosts().iter().find(|a| a.host == host.to_string());
    attempt.expect("every host is reported").error.clone()
}

#[test]
fn each_host_keeps_the_cause_of_its_last_failure() {
    let mut h = H::new(4, cfg(8_000));
    h.s.start(h.now);
    let a = h.expect_connect();
    h.s.on_connect_failed(h.now, refused());
    let b = h.expect_connect();
    h.tcp_up();
    h.frame([1, 2, 3]);
    let c = h.expect_connect();
    h.tcp_up();
    h.reply(0, 0, ErrorCode::NotReadOnly, None); // a bare header: a read-only server refusing
    let d = h.expect_connect();
    h.at(100);

    let report = h.s.unreachable(h.now, Duration::from_secs(2));
    let order: Vec<String> = [&a, &b, &c, &d].iter().map(|h| h.to_string()).collect();
    let reported: Vec<String> = report.hosts().iter().map(|a| a.host.clone()).collect();
    assert_eq!(reported, order, "hosts in the order tried");
    assert_eq!(cause(&h, &a), Some(refused()));
    let Some(ConnectionError::Protocol(why)) = cause(&h, &b) else {
        panic!("{:?}", cause(&h, &b))
    };
    assert!(why.starts_with("undecodable handshake answer"), "{why}");
    assert_eq!(
        cause(&h, &c),
        Some(ConnectionError::Refused(ErrorCode::NotReadOnly))
    );
    // Still connecting to the fourth: how far it got, and it is the latest.
    let in_progress = ConnectionError::ConnectTimeout(Duration::from_millis(100));
    assert_eq!(cause(&h, &d), Some(in_progress.clone()));
    assert_eq!(report.latest().map(|l| l.host.clone()), Some(d.to_string()));
    let text = report.to_string();
    assert!(
        text.starts_with("no session established within 2s; "),
        "{text}"
    );
    assert!(
        text.contains(&format!("{d}: no TCP connection within 100ms")),
        "{text}"
    );
    let source = std::error::Error::source(&report).map(|s| s.to_string());
    assert_eq!(source, Some(in_progress.to_string()));
}

#[test]
fn attempts_that_time_out_say_which_step_hung() {
    // connect timeout: 6 s / 2 hosts = 3 s.
    let mut h = H::new(2, cfg(6_000));
    h.s.start(h.now);
    let a = h.expect_connect();
    h.tick(3_000);
    assert_eq!(
        cause(&h, &a),
        Some(ConnectionError::ConnectTimeout(Duration::from_secs(3)))
    );
    let b = h.expect_connect();
    h.tcp_up();
    h.tick(6_000);
    assert_eq!(
        cause(&h, &b),
        Some(ConnectionError::HandshakeTimeout(Duration::from_secs(3)))
    );
    // After the lap's back-off, a new attempt: the host keeps its earlier cause meanwhile.
    let retry = h.deadline_ms().expect("a back-off");
    h.tick(retry);
    assert_eq!(h.expect_connect(), a);
    assert_eq!(
        cause(&h, &a),
        Some(ConnectionError::ConnectTimeout(Duration::from_secs(3)))
    );
}

#[test]
fn a_protocol_violation_keeps_its_reason_and_fails_requests_with_connection_loss() {
    let mut h = H::new(2, cfg(10_000));
    let host = h.establish(10_000);
    let a = h.submit(get_data("/a", false), None);
    let xid = h.sent()[0].xid;
    h.reply_ok(xid + 100, 5, Response::Empty);
    assert_eq!(h.results(), vec![(a, Err(Error::ConnectionLoss))]);
    let Some(ConnectionError::Protocol(why)) = cause(&h, &host) else {
        panic!("{:?}", cause(&h, &host))
    };
    assert!(why.starts_with("reply xid"), "{why}");
}

#[test]
fn a_silent_server_is_dropped_for_its_silence() {
    let mut h = H::new(2, cfg(9_000));
    let host = h.establish(9_000);
    h.tick(6_000);
    assert_eq!(
        cause(&h, &host),
        Some(ConnectionError::ReadTimeout(Duration::from_secs(6)))
    );
    assert_eq!(
        h.s.state(),
        SessionState::Disconnected { since: h.t(6_000) }
    );
}
