//! Pings and the read timeout.

use super::*;

#[test]
fn ping_after_a_sixth_of_the_timeout_idle_not_before() {
    let mut h = H::new(1, cfg(30_000));
    h.establish(3_000); // T = 3 s: ping after 0.5 s idle, read timeout after 2 s silent.
    assert_eq!(h.deadline_ms(), Some(500));
    h.tick(499);
    assert!(h.frames().is_empty(), "no ping before T/6");
    h.tick(500);
    h.expect_ping();
    // Next ping T/6 after this one; read timeout 2T/3 after the last frame (the handshake).
    assert_eq!(h.deadline_ms(), Some(1_000));
    h.at(510);
    h.reply(xid::PING, 0, ErrorCode::Ok, None);
    assert_eq!(h.deadline_ms(), Some(1_000));
    h.tick(999);
    assert!(h.frames().is_empty());
    h.tick(1_000);
    h.expect_ping();
    assert!(
        h.actions().is_empty(),
        "the ping reply at 510 kept the connection alive"
    );
}

#[test]
fn pings_keep_their_pace_whatever_else_is_sent() {
    let mut h = H::new(1, cfg(3_000));
    h.establish(3_000);
    assert_eq!(h.deadline_ms(), Some(500));
    h.at(400);
    h.submit(exists("/x", false), None);
    assert_eq!(h.sent().len(), 1);
    assert_eq!(
        h.deadline_ms(),
        Some(500),
        "a request does not put the ping off"
    );
    h.at(450);
    h.reply_ok(1, 5, Response::Stat(stat(1)));
    h.tick(500);
    h.expect_ping();
    // Traffic all along: still a ping every T/6.
    for at in [600, 700, 800, 900] {
        h.at(at);
        h.submit(exists("/x", false), None);
        assert_eq!(h.sent().len(), 1);
    }
    assert_eq!(h.deadline_ms(), Some(1_000));
    h.tick(1_000);
    h.expect_ping();
}

#[test]
fn read_timeout_drops_and_connects_to_the_next_host_with_the_same_session() {
    let mut h = H::new(3, cfg(3_000));
    let order: Vec<HostPort> = h.s.ring.hosts().to_vec();
    let first = h.establish(3_000);
    assert_eq!(first, order[0]);
    let id = h.submit(get_data("/slow", false), None);
    h.sent();
    h.tick(1_000);
    h.expect_ping();
    h.tick(1_999);
    assert!(h.actions().is_empty(), "not silent for 2T/3 yet");
    assert_eq!(h.deadline_ms(), Some(2_000));
    h.tick(2_000);
    assert_eq!(
        h.actions(),
        vec![
            Action::Disconnect,
            Action::StateChanged(SessionState::Disconnected { since: h.t(2_000) }),
            Action::Connect(order[1].clone()),
        ]
    );
    assert_eq!(h.results(), vec![(id, Err(Error::ConnectionLoss))]);
    h.at(2_010);
    let req = h.tcp_up();
    assert_eq!(req.session_id, SID);
    assert_eq!(&req.passwd[..], &PASSWD);
    h.connect_response(3_000, SID, &PASSWD, false);
    assert_eq!(
        h.actions(),
        vec![Action::StateChanged(SessionState::Connected)]
    );
    // The unanswered ping of the old connection is forgotten: a ping reply on the new one
    // does not confuse anything, and requests go on.
    h.submit(get_data("/a", false), None);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: 2,
            req: get_data("/a", false)
        }]
    );
}

#[test]
fn any_frame_counts_as_liveness() {
    let mut h = H::new(2, cfg(3_000));
    h.establish(3_000);
    // Answered at 1000: the session lives (on the client's clock) until 4000, past the read
    // timeout this test is about (see frames_without_answers_do_not_keep_...).
    h.at(1_000);
    h.submit(get_data("/w", true), Some(WatchKind::Data));
    h.sent();
    h.reply_ok(
        1,
        1,
        Response::GetData {
            data: Bytes::new(),
            stat: stat(1),
        },
    );
    h.at(1_900);
    h.notify(ev::NODE_CREATED, "/other");
    h.tick(2_000);
    assert!(h.actions().is_empty(), "a notification at 1900 is liveness");
    h.expect_ping();
    // Pings every T/6 (unanswered here) do not count as liveness; the read timeout comes 2T/3
    // after the last frame, the notification at 1900.
    for at in [2_500, 3_000, 3_500] {
        assert_eq!(h.deadline_ms(), Some(at), "next ping");
        h.tick(at);
        assert_eq!(h.sent().len(), 1, "a ping at {at}");
        assert!(h.actions().is_empty());
    }
    assert_eq!(h.deadline_ms(), Some(3_900));
    h.tick(3_899);
    assert!(h.actions().is_empty());
    h.tick(3_900);
    assert_eq!(h.actions()[0], Action::Disconnect);
}
