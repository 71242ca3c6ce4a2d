//! Auth: failures, runtime AddAuth.

use super::*;

#[test]
fn auth_failure_is_terminal() {
    let auth = vec![("digest".to_string(), Bytes::from_static(b"u:p"))];
    let mut h = H::new(
        2,
        SessionConfig {
            auth,
            ..cfg(10_000)
        },
    );
    h.establish(10_000);
    let pkt = Sent {
        xid: xid::AUTH,
        req: Request::Auth(AuthPacket {
            type_: 0,
            scheme: "digest".into(),
            auth: Bytes::from_static(b"u:p"),
        }),
    };
    assert_eq!(h.sent(), vec![pkt.clone()]);
    h.reply(xid::AUTH, 0, ErrorCode::Ok, None);
    assert!(
        h.actions().is_empty(),
        "accepted credentials change nothing"
    );
    let w = register(&mut h, &[(WatchKind::Persistent, "/p")]);
    // The credentials are refused after a reconnect (say, the ACL changed).
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    let q = h.submit(get_data("/q", false), None);
    h.reconnect(10_000);
    let sent = h.sent();
    assert_eq!(sent[0], pkt);
    assert_eq!(sent[1].xid, xid::SET_WATCHES);
    assert_eq!(
        sent[2],
        Sent {
            xid: 2,
            req: get_data("/q", false)
        }
    );
    h.actions();
    h.reply(xid::AUTH, 0, ErrorCode::AuthFailed, None);
    assert_eq!(
        h.actions(),
        vec![
            Action::Disconnect,
            Action::StateChanged(SessionState::AuthFailed)
        ]
    );
    assert_eq!(h.results(), vec![(q, Err(Error::AuthFailed))]);
    assert_eq!(h.events(), vec![(w[0], Err(Error::AuthFailed))]);
    assert!(h.s.watches().is_empty());
    let late = h.submit(get_data("/late", false), None);
    assert_eq!(h.results(), vec![(late, Err(Error::AuthFailed))]);
    assert_eq!(h.s.next_deadline(), None);
    assert_eq!(h.s.terminal_error(), Some(&Error::AuthFailed));
}

#[test]
fn runtime_add_auth_is_answered_and_remembered() {
    let mut h = H::new(2, cfg(10_000));
    h.establish(10_000);
    let pkt = AuthPacket {
        type_: 0,
        scheme: "digest".into(),
        auth: Bytes::from_static(b"a:b"),
    };
    let a = h.submit(Request::Auth(pkt.clone()), None);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::AUTH,
            req: Request::Auth(pkt.clone())
        }]
    );
    let g = h.submit(get_data("/g", false), None);
    h.reply(xid::AUTH, 0, ErrorCode::Ok, None);
    assert_eq!(h.results(), vec![(a, Ok(Response::Empty))]);
    h.reply_ok(
        1,
        2,
        Response::GetData {
            data: Bytes::new(),
            stat: stat(1),
        },
    );
    assert_eq!(h.results()[0].0, g);
    // Re-sent after a reconnect.
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    h.reconnect(10_000);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::AUTH,
            req: Request::Auth(pkt)
        }]
    );
    // An auth in flight when the connection drops fails with ConnectionLoss.
    let pkt2 = AuthPacket {
        type_: 0,
        scheme: "x".into(),
        auth: Bytes::new(),
    };
    let a2 = h.submit(Request::Auth(pkt2), None);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    assert_eq!(h.results(), vec![(a2, Err(Error::ConnectionLoss))]);
}
