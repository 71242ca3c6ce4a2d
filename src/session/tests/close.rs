//! Close: CloseSession, its deadline, closing while disconnected, submits while closing.

use super::*;

#[test]
fn close_writes_close_session_and_finishes_on_the_reply() {
    let mut h = H::new(1, cfg(3_000));
    h.establish(3_000);
    let w = register(&mut h, &[(WatchKind::Data, "/w")])[0];
    let a = h.submit(get_data("/a", false), None);
    h.sent();
    h.s.close(h.now);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: 3,
            req: Request::CloseSession
        }]
    );
    let late = h.submit(get_data("/late", false), None);
    assert_eq!(h.results(), vec![(late, Err(Error::Closed))]);
    assert!(h.frames().is_empty(), "nothing written after closeSession");
    assert_eq!(
        h.deadline_ms(),
        Some(1_000),
        "close deadline: min(T/3, 2 s)"
    );
    // Replies before the close reply still complete normally.
    h.reply_ok(
        2,
        4,
        Response::GetData {
            data: Bytes::new(),
            stat: stat(1),
        },
    );
    assert_eq!(h.results()[0].0, a);
    h.reply(3, 5, ErrorCode::Ok, None);
    assert_eq!(
        h.actions(),
        vec![
            Action::Disconnect,
            Action::StateChanged(SessionState::Closed)
        ]
    );
    assert_eq!(h.events(), vec![(w, Err(Error::Closed))]);
    assert_eq!(h.s.next_deadline(), None);
    assert_eq!(h.s.terminal_error(), Some(&Error::Closed));
}

#[test]
fn close_without_reply_ends_at_the_deadline() {
    let mut h = H::new(1, cfg(30_000));
    h.establish(30_000);
    let a = h.submit(get_data("/a", false), None);
    h.s.close(h.now);
    assert_eq!(h.deadline_ms(), Some(2_000), "at most 2 s");
    assert_eq!(
        h.sent(),
        vec![
            Sent {
                xid: 1,
                req: get_data("/a", false)
            },
            Sent {
                xid: 2,
                req: Request::CloseSession
            }
        ]
    );
    h.tick(1_999);
    assert!(h.actions().is_empty());
    assert!(h.frames().is_empty(), "no pings while closing");
    h.tick(2_000);
    assert_eq!(
        h.actions(),
        vec![
            Action::Disconnect,
            Action::StateChanged(SessionState::Closed)
        ]
    );
    assert_eq!(h.results(), vec![(a, Err(Error::Closed))]);
}

#[test]
fn close_while_disconnected_is_immediate_and_fails_the_queue() {
    let mut h = H::new(2, cfg(10_000));
    h.establish(10_000);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    h.actions();
    let q = h.submit(get_data("/q", false), None);
    h.s.close(h.now);
    assert_eq!(
        h.actions(),
        vec![
            Action::Disconnect,
            Action::StateChanged(SessionState::Closed)
        ]
    );
    assert_eq!(h.results(), vec![(q, Err(Error::Closed))]);
    assert!(h.frames().is_empty());
}

#[test]
fn connection_lost_while_closing_means_closed() {
    let mut h = H::new(2, cfg(10_000));
    h.establish(10_000);
    h.s.close(h.now);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    assert_eq!(
        h.actions(),
        vec![
            Action::Disconnect,
            Action::StateChanged(SessionState::Closed)
        ]
    );
}

#[test]
fn submits_while_closing_fail_with_closed_even_auth() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    h.s.close(h.now);
    h.sent();
    let a = h.submit(
        Request::Auth(AuthPacket {
            type_: 0,
            scheme: "x".into(),
            auth: Bytes::new(),
        }),
        None,
    );
    let g = h.submit(get_data("/g", false), None);
    assert_eq!(
        h.results(),
        vec![(a, Err(Error::Closed)), (g, Err(Error::Closed))]
    );
    assert!(h.frames().is_empty(), "nothing written after closeSession");
}
