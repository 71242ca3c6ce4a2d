//! The handshake: new and resumed sessions, rejected or garbled answers.

use super::*;

#[test]
fn handshake_for_a_new_session() {
    let mut h = H::new(1, cfg(30_000));
    assert_eq!(h.s.state(), SessionState::Connecting);
    assert!(h.actions().is_empty(), "nothing before start");
    h.s.start(h.now);
    assert_eq!(h.actions(), vec![Action::Connect(hosts(1)[0].clone())]);
    h.at(5);
    let req = h.tcp_up();
    assert_eq!(
        req,
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: 30_000,
            session_id: 0,
            passwd: Bytes::from_static(&[0; 16]),
            read_only: false,
        }
    );
    h.at(8);
    h.connect_response(12_000, SID, &PASSWD, false);
    assert_eq!(
        h.actions(),
        vec![Action::StateChanged(SessionState::Connected)]
    );
    assert_eq!(h.s.state(), SessionState::Connected);
    assert_eq!(
        h.s.negotiated_timeout(),
        Some(Duration::from_millis(12_000))
    );
    assert_eq!(h.s.session_id(), SID);
    assert_eq!(&h.s.session_passwd()[..], &PASSWD);
    assert!(
        h.frames().is_empty(),
        "no credentials, no watches, nothing queued"
    );
    // The negotiated timeout drives the timers: ping T/6 after the last send.
    assert_eq!(h.deadline_ms(), Some(8 + 2_000));
}

#[test]
fn handshake_read_only_flag_and_read_only_server() {
    let mut h = H::new(
        1,
        SessionConfig {
            read_only: true,
            ..cfg(6_000)
        },
    );
    h.s.start(h.now);
    h.expect_connect();
    h.s.on_connected(h.now);
    let f = h.frames().remove(0);
    assert_eq!(f.len(), 45);
    assert_eq!(f[44], 1, "the trailing read-only byte");
    h.connect_response(6_000, SID, &PASSWD, true);
    assert_eq!(
        h.actions(),
        vec![Action::StateChanged(SessionState::ConnectedReadOnly)]
    );
    assert!(h.s.state().is_connected());
}

#[test]
fn reconnect_resumes_the_session_with_the_requested_timeout_and_last_zxid() {
    let mut h = H::new(3, cfg(30_000));
    let first = h.establish(12_000);
    let id = h.submit(get_data("/a", false), None);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: 1,
            req: get_data("/a", false)
        }]
    );
    h.reply_ok(
        1,
        0x55,
        Response::GetData {
            data: Bytes::new(),
            stat: stat(3),
        },
    );
    assert_eq!(
        h.results(),
        vec![(
            id,
            Ok(Response::GetData {
                data: Bytes::new(),
                stat: stat(3)
            })
        )]
    );
    h.at(100);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    let actions = h.actions();
    assert_eq!(actions[0], Action::Disconnect);
    assert_eq!(
        actions[1],
        Action::StateChanged(SessionState::Disconnected { since: h.t(100) })
    );
    let Action::Connect(next) = &actions[2] else {
        panic!("{actions:?}")
    };
    assert_ne!(next, &first, "the next host, not the one that failed");
    assert_eq!(actions.len(), 3);
    let req = h.tcp_up();
    assert_eq!(
        req,
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0x55,
            time_out: 30_000,
            session_id: SID,
            passwd: Bytes::from_static(&PASSWD),
            read_only: false,
        }
    );
    h.connect_response(12_000, SID, &PASSWD, false);
    assert_eq!(
        h.actions(),
        vec![Action::StateChanged(SessionState::Connected)]
    );
    // Xids continue across connections.
    h.submit(delete("/a"), None);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: 2,
            req: delete("/a")
        }]
    );
}

#[test]
fn configured_resume_is_sent_in_the_first_handshake() {
    let resume = Some((SID, Bytes::from_static(&PASSWD)));
    let mut h = H::new(
        1,
        SessionConfig {
            resume,
            server_sync_limit: Duration::ZERO,
            ..cfg(5_000)
        },
    );
    h.s.start(h.now);
    h.expect_connect();
    let req = h.tcp_up();
    assert_eq!((req.session_id, &req.passwd[..]), (SID, &PASSWD[..]));
    h.connect_response(5_000, SID, &PASSWD, false);
    assert_eq!(h.s.state(), SessionState::Connected);
}

#[test]
fn a_different_session_id_on_resume_means_expired() {
    let mut h = H::new(2, cfg(5_000));
    h.establish(5_000);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    h.expect_connect();
    h.tcp_up();
    h.connect_response(5_000, SID + 1, &PASSWD, false);
    assert_eq!(
        h.actions(),
        vec![
            Action::Disconnect,
            Action::StateChanged(SessionState::Expired)
        ]
    );
    assert_eq!(h.s.terminal_error(), Some(&Error::SessionExpired));
}

#[test]
fn handshake_rejection_or_garbage_moves_to_the_next_host() {
    let mut h = H::new(3, cfg(6_000));
    h.s.start(h.now);
    let a = h.expect_connect();
    h.tcp_up();
    // A 3.8.0 read-only server refusing a new session: a bare reply header (err -119).
    let mut b = BytesMut::new();
    ReplyHeader {
        xid: 0,
        zxid: 0,
        err: ErrorCode::from_i32(-119),
    }
    .encode(&mut b);
    h.frame(b);
    let actions = h.actions();
    assert_eq!(actions[0], Action::Disconnect);
    let Some(Action::Connect(b_host)) = actions.get(1) else {
        panic!("{actions:?}")
    };
    assert_ne!(b_host, &a);
    assert_eq!(h.s.state(), SessionState::Connecting);
    h.tcp_up();
    h.frame([1, 2, 3]);
    let actions = h.actions();
    assert_eq!(actions[0], Action::Disconnect);
    assert!(
        matches!(actions.get(1), Some(Action::Connect(_))),
        "{actions:?}"
    );
    h.tcp_up();
    h.connect_response(6_000, SID, &PASSWD, false);
    assert_eq!(h.s.state(), SessionState::Connected);
}
