//! lastZxid: advanced only by higher positive zxids, never by a protocol violation; unsolicited
//! special replies.

use super::*;

#[test]
fn last_zxid_advances_only_on_higher_positive_zxids() {
    let mut h = H::new(1, cfg(3_000));
    h.establish(3_000);
    assert_eq!(h.s.last_zxid(), 0);
    h.submit(get_data("/a", true), Some(WatchKind::Data));
    h.submit(create("/b"), None);
    assert_eq!(h.sent().len(), 2);
    h.reply_ok(
        1,
        0x10,
        Response::GetData {
            data: Bytes::new(),
            stat: stat(1),
        },
    );
    assert_eq!(h.s.last_zxid(), 0x10);
    // Notifications carry -1: they must not move it back.
    h.notify(ev::NODE_DATA_CHANGED, "/a");
    assert_eq!(h.s.last_zxid(), 0x10);
    // A failed write still reports (and consumes) a zxid.
    h.reply(2, 0x11, ErrorCode::NodeExists, None);
    assert_eq!(h.s.last_zxid(), 0x11);
    assert_eq!(h.results()[1].1, Err(Error::Server(ErrorCode::NodeExists)));
    // Pings count, but never backwards.
    h.tick(1_000);
    h.expect_ping();
    h.reply(xid::PING, 0x0f, ErrorCode::Ok, None);
    assert_eq!(h.s.last_zxid(), 0x11);
    h.tick(2_000);
    h.expect_ping();
    h.reply(xid::PING, 0x20, ErrorCode::Ok, None);
    assert_eq!(h.s.last_zxid(), 0x20);
    for (at, zxid) in [(3_000, 0), (4_000, -1)] {
        h.tick(at);
        assert_eq!(h.sent().len(), 1, "a ping at {at}");
        h.reply(xid::PING, zxid, ErrorCode::Ok, None);
        assert_eq!(h.s.last_zxid(), 0x20);
    }
    assert!(h.s.state().is_connected());
}

#[test]
fn an_unsolicited_ping_auth_or_set_watches_reply_drops_the_connection() {
    for x in [xid::PING, xid::AUTH, xid::SET_WATCHES] {
        let mut h = H::new(2, cfg(10_000));
        h.establish(10_000);
        h.reply(x, 0x77, ErrorCode::Ok, None);
        let actions = h.actions();
        assert_eq!(actions[0], Action::Disconnect, "xid {x}");
        assert!(matches!(
            actions[1],
            Action::StateChanged(SessionState::Disconnected { .. })
        ));
        assert_eq!(h.s.last_zxid(), 0, "its zxid is not taken (xid {x})");
        assert!(!h.s.state().is_terminal(), "the session itself is fine");
    }
}

#[test]
fn a_protocol_violation_does_not_move_last_zxid() {
    let mut h = H::new(2, cfg(10_000));
    h.establish(10_000);
    h.submit(get_data("/a", false), None);
    h.reply_ok(
        1,
        0x10,
        Response::GetData {
            data: Bytes::new(),
            stat: stat(1),
        },
    );
    h.submit(get_data("/b", false), None);
    // An out-of-sync stream: whatever its "zxid" field holds is not to be trusted. Taking it
    // would make every server look behind this client and refuse it until the session expires.
    h.reply(7, 0x7fff_0000_0000_0000, ErrorCode::Ok, None);
    assert_eq!(h.actions()[0], Action::Disconnect);
    assert_eq!(h.s.last_zxid(), 0x10);
    let req = h.tcp_up();
    assert_eq!(req.last_zxid_seen, 0x10);
}
