//! SASL in the handshake, with a scripted mechanism (no feature needed): user requests queued
//! before the exchange is done go out only after it, on every connection; refusals are terminal;
//! a connection lost or a deadline missed mid-exchange moves on to the next host.

use super::*;

/// A two-round mechanism: sends "hello", answers "challenge" with "response", is done on "ok".
struct Scripted;

impl SaslMechanism for Scripted {
    fn name(&self) -> &'static str {
        "SCRIPTED"
    }
    fn initial_response(&mut self) -> Result<Bytes, String> {
        Ok(Bytes::from_static(b"hello"))
    }
    fn step(&mut self, token: &[u8]) -> Result<SaslStep, String> {
        match token {
            b"challenge" => Ok(SaslStep::Send(Bytes::from_static(b"response"))),
            b"ok" => Ok(SaslStep::Done),
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

fn sasl_cfg() -> SessionConfig {
    SessionConfig {
        sasl: Some(SaslConfig::new("scripted", |_| Box::new(Scripted))),
        auth: vec![("digest".into(), Bytes::from_static(b"u:p"))],
        ..cfg(10_000)
    }
}

fn sasl(xid: i32, token: &'static [u8]) -> Sent {
    Sent {
        xid,
        req: Request::Sasl(crate::proto::GetSaslRequest {
            token: Bytes::from_static(token),
        }),
    }
}

fn server_token(h: &mut H, xid: i32, token: &'static [u8]) {
    h.reply_ok(
        xid,
        0,
        Response::Sasl {
            token: Bytes::from_static(token),
        },
    );
}

/// Connects and answers the handshake; returns nothing published yet.
fn handshake(h: &mut H) {
    h.tcp_up();
    h.connect_response(10_000, SID, &PASSWD, false);
}

#[test]
fn requests_queued_before_sasl_go_out_after_it() {
    let mut h = H::new(2, sasl_cfg());
    let early = h.submit(get_data("/early", false), None);
    h.s.start(h.now);
    h.expect_connect();
    handshake(&mut h);
    // The session exists, but is not published as connected, and only SASL goes out.
    assert_eq!(h.actions(), vec![]);
    assert_eq!(h.sent(), vec![sasl(1, b"hello")]);
    h.at(5);
    let during = h.submit(get_data("/during", false), None);
    assert_eq!(h.sent(), vec![], "nothing but SASL while authenticating");
    assert_eq!(h.s.queued(), 2);
    server_token(&mut h, 1, b"challenge");
    assert_eq!(h.sent(), vec![sasl(2, b"response")]);
    assert_eq!(h.actions(), vec![]);
    server_token(&mut h, 2, b"ok");
    assert_eq!(
        h.actions(),
        vec![Action::StateChanged(SessionState::Connected)]
    );
    // Then, in the usual order: credentials, then the queued requests in submit order.
    let sent = h.sent();
    assert_eq!(sent[0].xid, xid::AUTH);
    assert_eq!(
        sent[1..],
        [
            Sent {
                xid: 3,
                req: get_data("/early", false)
            },
            Sent {
                xid: 4,
                req: get_data("/during", false)
            }
        ]
    );
    assert_eq!((early, during), (1, 2));
    assert!(h.results().is_empty());
}

#[test]
fn every_reconnect_authenticates_again_before_watches_and_requests() {
    let mut h = H::new(2, sasl_cfg());
    h.s.start(h.now);
    h.expect_connect();
    handshake(&mut h);
    h.sent();
    server_token(&mut h, 1, b"challenge");
    h.sent();
    server_token(&mut h, 2, b"ok");
    h.actions();
    h.sent();
    h.reply(xid::AUTH, 0, ErrorCode::Ok, None);
    let w = register(&mut h, &[(WatchKind::Data, "/w")]);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    let q = h.submit(get_data("/q", false), None);
    h.reconnect(10_000);
    // Same session resumed; only SASL before the exchange is done.
    assert_eq!(h.actions(), vec![], "still Disconnected until SASL is done");
    assert_eq!(h.sent(), vec![sasl(4, b"hello")]);
    server_token(&mut h, 4, b"challenge");
    assert_eq!(h.sent(), vec![sasl(5, b"response")]);
    server_token(&mut h, 5, b"ok");
    assert_eq!(
        h.actions(),
        vec![Action::StateChanged(SessionState::Connected)]
    );
    let sent = h.sent();
    let order: Vec<i32> = sent.iter().map(|s| s.xid).collect();
    assert_eq!(order, vec![xid::AUTH, xid::SET_WATCHES, 6]);
    assert_eq!(sent[2].req, get_data("/q", false));
    assert_eq!(h.s.session_id(), SID);
    assert!(h.results().is_empty() && h.events().is_empty(), "{w:?} {q}");
}

#[test]
fn refusal_is_terminal_and_fails_what_waits() {
    for code in [
        ErrorCode::AuthFailed,
        ErrorCode::SessionClosedRequireSaslAuth,
    ] {
        let mut h = H::new(2, sasl_cfg());
        let q = h.submit(get_data("/q", false), None);
        h.s.start(h.now);
        h.expect_connect();
        handshake(&mut h);
        h.sent();
        server_token(&mut h, 1, b"challenge");
        h.sent();
        h.reply(2, 0, code, None);
        assert_eq!(
            h.actions(),
            vec![
                Action::Disconnect,
                Action::StateChanged(SessionState::AuthFailed)
            ]
        );
        assert_eq!(h.results(), vec![(q, Err(Error::AuthFailed))]);
        assert_eq!(h.s.terminal_error(), Some(&Error::AuthFailed));
        assert_eq!(h.s.next_deadline(), None, "nothing more happens");
        assert!(h.sent().is_empty());
    }
}

#[test]
fn a_mechanism_that_gives_up_is_terminal() {
    let mut h = H::new(2, sasl_cfg());
    h.s.start(h.now);
    h.expect_connect();
    handshake(&mut h);
    h.sent();
    server_token(&mut h, 1, b"garbage");
    assert_eq!(
        h.actions(),
        vec![
            Action::Disconnect,
            Action::StateChanged(SessionState::AuthFailed)
        ]
    );
    assert_eq!(h.s.terminal_error(), Some(&Error::AuthFailed));
}

#[test]
fn lost_or_silent_mid_exchange_moves_on() {
    let mut h = H::new(2, sasl_cfg());
    let q = h.submit(get_data("/q", false), None);
    h.s.start(h.now);
    let first = h.expect_connect();
    handshake(&mut h);
    h.sent();
    // The connection drops mid-exchange: the next host, and the request still waits.
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    let second = h.expect_connect();
    assert_ne!(first, second);
    handshake(&mut h);
    assert_eq!(h.sent(), vec![sasl(2, b"hello")]);
    // This one never answers: the attempt's connect timeout (10 s / 2 hosts) still runs.
    assert_eq!(h.deadline_ms(), Some(5_000));
    h.tick(5_000);
    let actions = h.actions();
    assert_eq!(actions[0], Action::Disconnect, "{actions:?}");
    assert!(
        matches!(actions.last(), Some(Action::Connect(_))),
        "{actions:?}"
    );
    assert!(h.results().is_empty(), "request {q} still queued");
    assert_eq!(h.s.queued(), 1);
}

#[test]
fn a_reply_out_of_turn_drops_the_connection() {
    let mut h = H::new(2, sasl_cfg());
    h.s.start(h.now);
    h.expect_connect();
    handshake(&mut h);
    h.sent();
    server_token(&mut h, 7, b"challenge");
    let actions = h.actions();
    assert_eq!(actions[0], Action::Disconnect, "{actions:?}");
    assert!(
        matches!(actions.last(), Some(Action::Connect(_))),
        "{actions:?}"
    );
}

/// A client without SASL on a server that requires it: the server answers the first request
/// (or ping) with SESSIONCLOSEDREQUIRESASLAUTH and closes; the session is terminal.
#[test]
fn server_requiring_sasl_is_terminal_for_a_client_without() {
    let mut h = H::new(2, cfg(10_000));
    h.establish(10_000);
    let q = h.submit(get_data("/q", false), None);
    let x = h.sent()[0].xid;
    h.reply(x, 0, ErrorCode::SessionClosedRequireSaslAuth, None);
    assert_eq!(
        h.actions(),
        vec![
            Action::Disconnect,
            Action::StateChanged(SessionState::AuthFailed)
        ]
    );
    assert_eq!(h.results(), vec![(q, Err(Error::AuthFailed))]);
}

/// Each connection's mechanism is made for the host of that connection (GSSAPI's service
/// principal names it): a reconnect to another host makes a new one for that host.
#[test]
fn each_exchange_gets_the_host_of_its_connection() {
    let hosts = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = hosts.clone();
    let cfg = SessionConfig {
        sasl: Some(SaslConfig::new("scripted", move |host| {
            seen.lock().unwrap().push(host.to_string());
            Box::new(Scripted)
        })),
        ..cfg(10_000)
    };
    let mut h = H::new(2, cfg);
    h.s.start(h.now);
    let first = h.expect_connect();
    handshake(&mut h);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    let second = h.expect_connect();
    handshake(&mut h);
    assert_ne!(first, second);
    assert_eq!(*hosts.lock().unwrap(), vec![first.host, second.host]);
}
