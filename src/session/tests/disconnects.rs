//! Disconnects, queueing, timeouts.

use super::*;

#[test]
fn disconnect_fails_in_flight_and_queues_new_requests_behind_auth_and_set_watches() {
    let auth = vec![
        ("digest".to_string(), Bytes::from_static(b"u:p")),
        ("ip".to_string(), Bytes::from_static(b"127.0.0.1")),
    ];
    let mut h = H::new(
        2,
        SessionConfig {
            auth,
            ..cfg(10_000)
        },
    );
    h.s.start(h.now);
    h.expect_connect();
    h.tcp_up();
    h.connect_response(10_000, SID, &PASSWD, false);
    h.actions();
    let auth_packet = |scheme: &str, auth: &'static [u8]| Sent {
        xid: xid::AUTH,
        req: Request::Auth(AuthPacket {
            type_: 0,
            scheme: scheme.into(),
            auth: Bytes::from_static(auth),
        }),
    };
    assert_eq!(
        h.sent(),
        vec![
            auth_packet("digest", b"u:p"),
            auth_packet("ip", b"127.0.0.1")
        ]
    );
    h.reply(xid::AUTH, 0, ErrorCode::Ok, None);
    h.reply(xid::AUTH, 0, ErrorCode::Ok, None);
    let w = h.submit(get_data("/w", true), Some(WatchKind::Data));
    h.reply_ok(
        1,
        0x30,
        Response::GetData {
            data: Bytes::new(),
            stat: stat(1),
        },
    );
    let x = h.submit(create("/x"), None);
    let y = h.submit(delete("/y"), None);
    h.sent();
    h.at(50);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    assert_eq!(
        h.results(),
        vec![
            (
                w,
                Ok(Response::GetData {
                    data: Bytes::new(),
                    stat: stat(1)
                })
            ),
            (x, Err(Error::ConnectionLoss)),
            (y, Err(Error::ConnectionLoss)),
        ]
    );
    assert!(h.events().is_empty(), "a disconnect does not touch watches");
    // Submitted while disconnected: queued, nothing written, nothing completed.
    let q1 = h.submit(get_data("/q1", false), None);
    let q2 = h.submit(create("/q2"), None);
    assert_eq!(h.s.queued(), 2);
    assert!(h.frames().is_empty());
    assert!(h.results().is_empty());
    // The Connect was already asked for; while TCP connects, still queued.
    h.expect_connect();
    let q3 = h.submit(delete("/q3"), None);
    assert_eq!(h.s.queued(), 3);
    h.at(60);
    let req = h.tcp_up();
    assert_eq!(req.last_zxid_seen, 0x30);
    // Submitted during the handshake: still queued.
    let q4 = h.submit(get_data("/q4", false), None);
    assert_eq!(h.s.queued(), 4);
    assert!(h.frames().is_empty());
    h.connect_response(10_000, SID, &PASSWD, false);
    assert_eq!(
        h.sent(),
        vec![
            auth_packet("digest", b"u:p"),
            auth_packet("ip", b"127.0.0.1"),
            Sent {
                xid: xid::SET_WATCHES,
                req: Request::SetWatches(SetWatches {
                    relative_zxid: 0x30,
                    data_watches: vec!["/w".into()],
                    exist_watches: vec![],
                    child_watches: vec![],
                }),
            },
            Sent {
                xid: 4,
                req: get_data("/q1", false)
            },
            Sent {
                xid: 5,
                req: create("/q2")
            },
            Sent {
                xid: 6,
                req: delete("/q3")
            },
            Sent {
                xid: 7,
                req: get_data("/q4", false)
            },
        ]
    );
    assert_eq!((h.s.queued(), h.s.in_flight()), (0, 4));
    // Replies to the session packets are absorbed; the user replies complete in order.
    h.reply(xid::AUTH, 0x30, ErrorCode::Ok, None);
    h.reply(xid::AUTH, 0x30, ErrorCode::Ok, None);
    h.reply(xid::SET_WATCHES, 0x30, ErrorCode::Ok, None);
    h.reply_ok(
        4,
        0x31,
        Response::GetData {
            data: Bytes::new(),
            stat: stat(1),
        },
    );
    h.reply_ok(5, 0x32, Response::Create { path: "/q2".into() });
    h.reply(6, 0x33, ErrorCode::NoNode, None);
    h.reply(7, 0x33, ErrorCode::NoNode, None);
    let ids: Vec<u32> = h.results().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, vec![q1, q2, q3, q4]);
    assert!(!h.actions().contains(&Action::Disconnect));
}

#[test]
fn request_timeout_and_max_queued_apply_to_queued_requests() {
    let c = SessionConfig {
        request_timeout: Some(Duration::from_millis(500)),
        max_queued: 2,
        connect_timeout: Some(Duration::from_secs(60)),
        ..cfg(10_000)
    };
    let mut h = H::new(1, c);
    h.s.start(h.now);
    h.expect_connect();
    h.at(10);
    let a = h.submit(get_data("/a", false), None);
    h.at(110);
    let b = h.submit(get_data("/b", false), None);
    let c = h.submit(get_data("/c", false), None);
    assert_eq!(h.results(), vec![(c, Err(Error::QueueFull(2)))]);
    assert_eq!(h.deadline_ms(), Some(510));
    h.tick(509);
    assert!(h.results().is_empty());
    h.tick(510);
    assert_eq!(h.results(), vec![(a, Err(Error::Timeout))]);
    assert_eq!(h.deadline_ms(), Some(610));
    let d = h.submit(get_data("/d", false), None);
    assert_eq!(h.s.queued(), 2, "room again after a timeout");
    h.tick(610);
    assert_eq!(h.results(), vec![(b, Err(Error::Timeout))]);
    // The survivor is sent once connected, and no longer times out.
    h.at(700);
    h.tcp_up();
    h.connect_response(10_000, SID, &PASSWD, false);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: 1,
            req: get_data("/d", false)
        }]
    );
    h.tick(5_000);
    assert!(
        h.results().is_empty(),
        "in flight requests wait for their reply"
    );
    h.reply(1, 1, ErrorCode::NoNode, None);
    assert_eq!(
        h.results(),
        vec![(d, Err(Error::Server(ErrorCode::NoNode)))]
    );
}
