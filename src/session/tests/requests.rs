//! Requests: pipelining, protocol errors.

use super::*;

#[test]
fn pipelined_requests_are_coalesced_and_complete_in_order() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    let a = h.submit(get_data("/a", false), None);
    let b = h.submit(create("/b"), None);
    let c = h.submit(delete("/c"), None);
    assert_eq!(h.s.in_flight(), 3);
    let out = h.s.take_output().expect("one buffer for all three");
    assert!(h.s.take_output().is_none());
    let sent: Vec<Sent> = split_frames(out).into_iter().map(decode_request).collect();
    assert_eq!(
        sent,
        vec![
            Sent {
                xid: 1,
                req: get_data("/a", false)
            },
            Sent {
                xid: 2,
                req: create("/b")
            },
            Sent {
                xid: 3,
                req: delete("/c")
            },
        ]
    );
    h.reply_ok(
        1,
        7,
        Response::GetData {
            data: Bytes::from_static(b"x"),
            stat: stat(2),
        },
    );
    assert_eq!(
        h.results(),
        vec![(
            a,
            Ok(Response::GetData {
                data: Bytes::from_static(b"x"),
                stat: stat(2)
            })
        )],
        "each completes as its reply arrives"
    );
    h.reply_ok(2, 8, Response::Create { path: "/b".into() });
    h.reply(3, 9, ErrorCode::NoNode, None);
    assert_eq!(
        h.results(),
        vec![
            (b, Ok(Response::Create { path: "/b".into() })),
            (c, Err(Error::Server(ErrorCode::NoNode))),
        ]
    );
    assert_eq!(h.s.in_flight(), 0);
}

#[test]
fn a_reply_with_the_wrong_xid_drops_the_connection_and_fails_everything_in_flight() {
    let mut h = H::new(2, cfg(10_000));
    h.establish(10_000);
    let ids: Vec<u32> = (0..3)
        .map(|i| h.submit(get_data(&format!("/n{i}"), false), None))
        .collect();
    h.sent();
    h.reply_ok(
        2,
        5,
        Response::GetData {
            data: Bytes::new(),
            stat: stat(1),
        },
    );
    let actions = h.actions();
    assert_eq!(actions[0], Action::Disconnect);
    assert!(matches!(
        actions[1],
        Action::StateChanged(SessionState::Disconnected { .. })
    ));
    assert!(matches!(actions[2], Action::Connect(_)));
    assert_eq!(
        h.results(),
        ids.iter()
            .map(|&id| (id, Err(Error::ConnectionLoss)))
            .collect::<Vec<_>>(),
        "all fail, in order"
    );
    assert_eq!(h.s.in_flight(), 0);
    assert_eq!(
        h.s.last_zxid(),
        0,
        "an out-of-order reply's zxid is not taken"
    );
    assert!(!h.s.state().is_terminal(), "the session itself is fine");
    // A user reply with nothing in flight is just as wrong.
    h.tcp_up();
    h.connect_response(10_000, SID, &PASSWD, false);
    assert_eq!(
        h.actions(),
        vec![Action::StateChanged(SessionState::Connected)]
    );
    h.reply_ok(77, 6, Response::Empty);
    assert_eq!(h.actions()[0], Action::Disconnect);
}

#[test]
fn undecodable_frames_drop_the_connection_and_never_panic() {
    let bad_frames: Vec<Vec<u8>> = vec![
        vec![],        // empty
        vec![0, 0, 0], // truncated header
        vec![
            0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ], // notification, no event
        {
            // Notification with a path length beyond the frame.
            let mut b = BytesMut::new();
            ReplyHeader {
                xid: -1,
                zxid: -1,
                err: ErrorCode::Ok,
            }
            .encode(&mut b);
            b.put_i32(3);
            b.put_i32(3);
            b.put_i32(1000);
            b.put_slice(b"/a");
            b.to_vec()
        },
    ];
    for bad in bad_frames {
        let mut h = H::new(2, cfg(10_000));
        h.establish(10_000);
        let a = h.submit(get_data("/a", false), None);
        let b = h.submit(get_data("/b", false), None);
        h.frame(&bad);
        assert_eq!(h.actions()[0], Action::Disconnect, "frame {bad:?}");
        assert_eq!(
            h.results(),
            vec![
                (a, Err(Error::ConnectionLoss)),
                (b, Err(Error::ConnectionLoss))
            ],
            "frame {bad:?}"
        );
    }
}

#[test]
fn an_undecodable_reply_body_fails_its_request_as_a_protocol_error() {
    let mut h = H::new(2, cfg(10_000));
    h.establish(10_000);
    let a = h.submit(get_data("/a", true), Some(WatchKind::Data));
    let b = h.submit(get_data("/b", false), None);
    let mut f = BytesMut::new();
    ReplyHeader {
        xid: 1,
        zxid: 3,
        err: ErrorCode::Ok,
    }
    .encode(&mut f);
    f.put_slice(&[0, 0, 0, 9, 1]); // data length 9, one byte present
    h.frame(&f);
    assert_eq!(h.actions()[0], Action::Disconnect);
    let results = h.results();
    assert_eq!(results.len(), 2);
    assert!(
        matches!(&results[0], (id, Err(Error::Protocol(_))) if *id == a),
        "{results:?}"
    );
    assert_eq!(results[1], (b, Err(Error::ConnectionLoss)));
    assert_eq!(
        h.s.watches().count(WatchKind::Data, "/a"),
        0,
        "no watch from a garbled reply"
    );
}

#[test]
fn random_frames_in_every_phase_never_panic() {
    let mut rng = Rng::new(99);
    for round in 0..300u64 {
        let mut h = H::new(2, cfg(6_000));
        // Phases: handshaking (round % 3 == 0), connected with requests, closing.
        h.s.start(h.now);
        h.expect_connect();
        h.tcp_up();
        if round % 3 != 0 {
            h.connect_response(6_000, SID, &PASSWD, false);
            h.submit(get_data("/a", true), Some(WatchKind::Data));
            h.submit(get_children("/", true), Some(WatchKind::Child));
            h.submit(Request::Multi(vec![]), None);
            if round % 3 == 2 {
                h.s.close(h.now);
            }
        }
        for _ in 0..4 {
            let len = rng.below(64) as usize;
            let mut f: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            // Aim at the interesting xids often.
            if len >= 4 && rng.below(2) == 0 {
                let x = [-1i32, -2, -4, -8, 1, 2, 3][rng.below(7) as usize];
                f[..4].copy_from_slice(&x.to_be_bytes());
            }
            h.frame(&f);
            h.actions();
            h.frames();
        }
        h.tick(100_000);
    }
}

#[test]
fn a_frame_too_large_is_reported_to_the_oldest_request() {
    let mut h = H::new(2, cfg(10_000));
    h.establish(10_000);
    let a = h.submit(get_children("/huge", false), None);
    let b = h.submit(get_data("/b", false), None);
    let (len, max) = (5_000_000, 1_049_599);
    h.s.on_connection_lost(h.now, ConnectionError::FrameTooLarge { len, max });
    assert_eq!(
        h.results(),
        vec![
            (a, Err(Error::FrameTooLarge { len, max })),
            (b, Err(Error::ConnectionLoss))
        ]
    );
    assert!(matches!(h.actions().last(), Some(Action::Connect(_))));
}
