//! Expiry: told by the server, or judged on the client's own clock (what moves its anchor, what
//! does not).

use super::*;

#[test]
fn server_side_expiry_fails_everything_and_is_terminal() {
    let mut h = H::new(2, cfg(10_000));
    h.establish(10_000);
    let ids = register(
        &mut h,
        &[
            (WatchKind::Data, "/a"),
            (WatchKind::PersistentRecursive, "/"),
        ],
    );
    let lost = h.submit(get_data("/x", false), None);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    assert_eq!(h.results(), vec![(lost, Err(Error::ConnectionLoss))]);
    let q = h.submit(create("/q"), None);
    h.expect_connect();
    let req = h.tcp_up();
    assert_eq!(req.session_id, SID);
    // 3.8's only expiry signal: timeout 0, session 0, zero password.
    h.connect_response(0, 0, &[0; 16], false);
    assert_eq!(
        h.actions(),
        vec![
            Action::Disconnect,
            Action::StateChanged(SessionState::Expired)
        ]
    );
    assert_eq!(h.results(), vec![(q, Err(Error::SessionExpired))]);
    let mut events = h.events();
    events.sort_by_key(|e| e.0);
    assert_eq!(
        events,
        vec![
            (ids[0], Err(Error::SessionExpired)),
            (ids[1], Err(Error::SessionExpired))
        ]
    );
    assert!(h.s.watches().is_empty());
    assert!(
        h.frames().is_empty(),
        "no SetWatches or queued request written"
    );
    assert_eq!(h.s.next_deadline(), None);
    // Later submits fail at once; time, frames and close change nothing.
    let late = h.submit(get_data("/late", false), None);
    assert_eq!(h.results(), vec![(late, Err(Error::SessionExpired))]);
    h.tick(1_000_000);
    h.reply_ok(1, 1, Response::Empty);
    h.s.on_connected(h.now);
    h.s.start(h.now);
    h.s.close(h.now);
    assert!(h.actions().is_empty());
    assert!(h.frames().is_empty());
    assert_eq!(h.s.state(), SessionState::Expired);
}

#[test]
fn a_zero_timeout_alone_also_means_expired() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    let retry = h.deadline_ms().unwrap();
    h.tick(retry);
    h.expect_connect();
    h.tcp_up();
    h.connect_response(0, SID, &PASSWD, false);
    assert_eq!(h.s.state(), SessionState::Expired);
}

/// Runs the reconnect loop with every attempt failing in the given way until the machine stops
/// asking for anything or expires; returns the instant (ms) of expiry.
fn fail_every_attempt_until_expiry(h: &mut H, how: Failure, expiry_ms: u64) -> u64 {
    for _ in 0..100_000 {
        for a in h.actions() {
            match a {
                Action::Connect(_) => match how {
                    Failure::Refused => h.s.on_connect_failed(h.now, refused()),
                    Failure::TcpHangs => {}
                    Failure::HandshakeHangs => {
                        h.s.on_connected(h.now);
                        h.frames();
                    }
                },
                Action::StateChanged(SessionState::Expired) => return h.ms(h.now),
                _ => {}
            }
        }
        if h.s.state() == SessionState::Expired {
            return h.ms(h.now);
        }
        let d = h.deadline_ms().expect("something to wait for");
        assert!(
            d <= expiry_ms,
            "deadline {d} after the expiry instant {expiry_ms}"
        );
        assert!(h.s.state() != SessionState::Expired);
        h.tick(d);
        if h.ms(h.now) < expiry_ms {
            assert!(
                !h.s.state().is_terminal(),
                "expired at {} before {expiry_ms}",
                h.ms(h.now)
            );
        }
    }
    panic!("never expired");
}

#[derive(Clone, Copy, Debug)]
enum Failure {
    Refused,
    TcpHangs,
    HandshakeHangs,
}

#[test]
fn client_side_expiry_on_its_own_clock() {
    for how in [Failure::Refused, Failure::TcpHangs, Failure::HandshakeHangs] {
        let mut h = H::new(3, cfg(3_000));
        h.s.start(h.now);
        h.expect_connect();
        h.tcp_up(); // handshake sent at 0
        h.at(10);
        h.connect_response(3_000, SID, &PASSWD, false);
        h.actions();
        let w = register(&mut h, &[(WatchKind::Data, "/w")])[0];
        // The last answered request was sent at 500: the server cannot expire the session
        // before 500 + 3000.
        h.at(500);
        h.submit(get_data("/a", false), None);
        h.at(600);
        h.reply_ok(
            2,
            9,
            Response::GetData {
                data: Bytes::new(),
                stat: stat(1),
            },
        );
        h.at(650);
        let unanswered = h.submit(get_data("/b", false), None);
        h.results();
        h.at(700);
        h.s.on_connection_lost(h.now, ConnectionError::Closed);
        assert_eq!(h.results(), vec![(unanswered, Err(Error::ConnectionLoss))]);
        let queued = h.submit(create("/c"), None);
        let at = fail_every_attempt_until_expiry(&mut h, how, 3_500);
        assert_eq!(
            at, 3_500,
            "{how:?}: expired exactly at anchor + negotiated timeout"
        );
        assert_eq!(h.s.state(), SessionState::Expired, "{how:?}");
        assert_eq!(
            h.results(),
            vec![(queued, Err(Error::SessionExpired))],
            "{how:?}"
        );
        assert_eq!(h.events(), vec![(w, Err(Error::SessionExpired))], "{how:?}");
        assert_eq!(h.s.next_deadline(), None);
    }
}

#[test]
fn client_side_expiry_abandons_the_attempt_in_progress() {
    for how in [Failure::TcpHangs, Failure::HandshakeHangs] {
        let mut h = H::new(
            1,
            SessionConfig {
                connect_timeout: Some(Duration::from_secs(60)),
                ..cfg(3_000)
            },
        );
        h.establish(3_000);
        h.at(100);
        h.s.on_connection_lost(h.now, ConnectionError::Closed);
        h.actions();
        let retry = h.deadline_ms().unwrap();
        h.tick(retry);
        h.expect_connect();
        if let Failure::HandshakeHangs = how {
            h.at(retry + 10);
            h.tcp_up();
        }
        // Anchor: the handshake sent at 0.
        assert_eq!(h.deadline_ms(), Some(3_000));
        h.tick(3_000);
        assert_eq!(
            h.actions(),
            vec![
                Action::Disconnect,
                Action::StateChanged(SessionState::Expired)
            ],
            "{how:?}: the socket of the attempt must not outlive the session"
        );
        // A late TCP success or handshake answer changes nothing.
        h.s.on_connected(h.now);
        h.connect_response(3_000, SID, &PASSWD, false);
        assert!(h.frames().is_empty());
        assert_eq!(h.s.state(), SessionState::Expired);
    }
}

#[test]
fn ping_replies_move_the_expiry_anchor() {
    let mut h = H::new(1, cfg(3_000));
    h.establish(3_000);
    h.tick(1_000);
    h.sent();
    h.at(1_050);
    h.reply(xid::PING, 0, ErrorCode::Ok, None);
    h.tick(2_050); // next ping, unanswered
    h.sent();
    h.tick(3_049);
    assert!(h.actions().is_empty());
    h.tick(3_050); // read timeout: 2T/3 after the last frame at 1050
    assert_eq!(h.actions()[0], Action::Disconnect);
    // Anchor = 1000, the send time of the answered ping.
    let mut last = 0;
    while h.s.state() != SessionState::Expired {
        for a in h.actions() {
            if let Action::Connect(_) = a {
                h.s.on_connect_failed(h.now, refused());
            }
        }
        last = h.deadline_ms().unwrap();
        assert!(last <= 4_000);
        h.tick(last);
    }
    assert_eq!(last, 4_000);
}

#[test]
fn no_client_side_expiry_while_connected_or_before_a_session_exists() {
    let mut h = H::new(1, cfg(3_000));
    h.s.start(h.now);
    // Never connected: no session to expire, just retries.
    for _ in 0..200 {
        for a in h.actions() {
            if let Action::Connect(_) = a {
                h.s.on_connect_failed(h.now, refused());
            }
        }
        let d = h.deadline_ms().unwrap();
        h.tick(d);
    }
    assert!(h.ms(h.now) > 10_000);
    assert!(!h.s.state().is_terminal());
}

#[test]
fn answers_to_auth_and_set_watches_move_the_expiry_anchor() {
    let auth = vec![("digest".to_string(), Bytes::from_static(b"u:p"))];
    let mut h = H::new(2, SessionConfig { auth, ..cfg(3_000) });
    h.establish(3_000);
    h.reply(xid::AUTH, 1, ErrorCode::Ok, None);
    register(&mut h, &[(WatchKind::Data, "/w")]);
    h.at(100);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    h.expect_connect();
    h.at(200);
    h.tcp_up(); // ConnectRequest sent at 200
    h.at(300);
    h.connect_response(3_000, SID, &PASSWD, false); // auth + SetWatches sent at 300
    assert_eq!(h.sent().len(), 2);
    h.at(350);
    h.reply(xid::AUTH, 2, ErrorCode::Ok, None);
    h.reply(xid::SET_WATCHES, 2, ErrorCode::Ok, None);
    h.at(400);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    // The server saw the packets sent at 300: it cannot expire the session before 3300.
    let at = fail_every_attempt_until_expiry(&mut h, Failure::Refused, 3_300);
    assert_eq!(at, 3_300);

    // The same for credentials added at run time.
    let mut h = H::new(2, cfg(3_000));
    h.establish(3_000);
    h.at(700);
    h.submit(
        Request::Auth(AuthPacket {
            type_: 0,
            scheme: "x".into(),
            auth: Bytes::new(),
        }),
        None,
    );
    h.at(750);
    h.reply(xid::AUTH, 1, ErrorCode::Ok, None);
    h.at(800);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    let at = fail_every_attempt_until_expiry(&mut h, Failure::Refused, 3_700);
    assert_eq!(at, 3_700);
}

#[test]
fn frames_without_answers_do_not_keep_a_session_alive_past_its_deadline() {
    // A one-way partition: the server stops hearing us (pings go unanswered), but watch events
    // keep arriving, so the connection never looks idle. The server expires the session one
    // timeout after it last heard us; the client must judge it expired by then on its own
    // clock (the last answered request was sent at 0), not wait for the connection to die.
    let mut h = H::new(2, cfg(3_000));
    h.establish(3_000);
    h.submit(get_data("/w", false), None);
    h.sent();
    h.reply_ok(
        1,
        1,
        Response::GetData {
            data: Bytes::new(),
            stat: stat(1),
        },
    );
    for t in (250..3_000).step_by(250) {
        h.at(t);
        h.notify(ev::NODE_DATA_CHANGED, "/busy");
        h.tick(t);
        assert_eq!(h.s.state(), SessionState::Connected, "at {t}");
        assert!(
            h.deadline_ms().is_some_and(|d| d <= 3_000),
            "at {t}: no wake-up by the expiry deadline"
        );
    }
    h.actions();
    h.tick(3_000);
    let actions = h.actions();
    assert_eq!(h.s.state(), SessionState::Expired, "{actions:?}");
    assert_eq!(actions[0], Action::Disconnect, "{actions:?}");
    assert_eq!(
        actions.last(),
        Some(&Action::StateChanged(SessionState::Expired))
    );
}

#[test]
fn a_read_only_session_without_answers_is_dropped_but_not_expired() {
    // The same one-way partition on a read-only server, with a session only that server knows:
    // the connection is given up at the same deadline, but nothing expires (the next handshake
    // asks for a new session anyway).
    let mut h = H::new(
        1,
        SessionConfig {
            read_only: true,
            ..cfg(3_000)
        },
    );
    h.s.start(h.now);
    h.expect_connect();
    h.tcp_up();
    h.connect_response(3_000, SID, &PASSWD, true);
    h.actions();
    for t in (250..3_000).step_by(250) {
        h.at(t);
        h.notify(ev::NODE_DATA_CHANGED, "/busy");
        h.tick(t);
        assert_eq!(h.s.state(), SessionState::ConnectedReadOnly, "at {t}");
        assert!(h.deadline_ms().is_some_and(|d| d <= 3_000), "at {t}");
    }
    h.actions();
    h.tick(3_000);
    let actions = h.actions();
    assert_eq!(actions[0], Action::Disconnect, "{actions:?}");
    assert!(
        matches!(h.s.state(), SessionState::Disconnected { .. }),
        "{:?}",
        h.s.state()
    );
}
