//! Deterministic tests of the session state machine: scripted server frames, a virtual clock
//! (a base `Instant` plus offsets; nothing sleeps) and recorders for results and watch events.
//! Every request the machine writes is decoded back (header + body) so the tests assert exact
//! wire contents.

use super::*;
use crate::proto::{
    add_watch_mode, take_frame, watcher_event_type as ev, watcher_type, AddWatchRequest,
    ConnectResponse, CreateRequest, DeleteRequest, Encode, PathWatchRequest, RequestHeader,
    SetWatches, SetWatches2, Stat, WatchesRequest, DEFAULT_MAX_BUFFER,
};
use bytes::BufMut;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

mod causes;

// ----- recorders -----

type Results = Rc<RefCell<Vec<(u32, Result<Response, Error>)>>>;
type Events = Rc<RefCell<Vec<(u32, Result<WatchedEvent, Error>)>>>;

/// Records the result of request `id`.
struct Done {
    id: u32,
    log: Results,
}

impl Completer for Done {
    fn complete(self, result: Result<Response, Error>) {
        self.log.borrow_mut().push((self.id, result));
    }
}

/// Records events for watch `id`; `gone` simulates a receiver that went away.
struct Rec {
    id: u32,
    log: Events,
    gone: Rc<Cell<bool>>,
}

impl WatchSink for Rec {
    fn deliver(&mut self, event: Result<WatchedEvent, Error>) -> bool {
        if self.gone.get() {
            return false;
        }
        self.log.borrow_mut().push((self.id, event));
        true
    }

    fn is_closed(&self) -> bool {
        self.gone.get()
    }
}

/// One request as the server would read it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    xid: i32,
    req: Request,
}

const SID: i64 = 0x0102_0304_0506_0708;
const PASSWD: [u8; 16] = [7; 16];

fn hosts(n: usize) -> Vec<HostPort> {
    (0..n)
        .map(|i| HostPort {
            host: format!("h{i}"),
            port: 2181 + i as u16,
        })
        .collect()
}

/// A refused TCP connect, as the driver reports it.
fn refused() -> ConnectionError {
    std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into()
}

fn cfg(timeout_ms: u64) -> SessionConfig {
    SessionConfig {
        session_timeout: Duration::from_millis(timeout_ms),
        ..Default::default()
    }
}

fn get_data(path: &str, watch: bool) -> Request {
    Request::GetData(PathWatchRequest {
        path: path.into(),
        watch,
    })
}

fn exists(path: &str, watch: bool) -> Request {
    Request::Exists(PathWatchRequest {
        path: path.into(),
        watch,
    })
}

fn get_children(path: &str, watch: bool) -> Request {
    Request::GetChildren(PathWatchRequest {
        path: path.into(),
        watch,
    })
}

fn create(path: &str) -> Request {
    Request::Create(CreateRequest {
        path: path.into(),
        data: Bytes::from_static(b"d"),
        acl: crate::proto::Acl::open_unsafe(),
        flags: 0,
    })
}

fn delete(path: &str) -> Request {
    Request::Delete(DeleteRequest {
        path: path.into(),
        version: -1,
    })
}

fn add_watch(path: &str, mode: i32) -> Request {
    Request::AddWatch(AddWatchRequest {
        path: path.into(),
        mode,
    })
}

fn stat(mzxid: i64) -> Stat {
    Stat {
        czxid: 1,
        mzxid,
        version: 1,
        data_length: 1,
        ..Default::default()
    }
}

fn event(event_type: EventType, path: &str) -> WatchedEvent {
    WatchedEvent {
        event_type,
        path: path.into(),
    }
}

/// Splits a write buffer into frame payloads.
fn split_frames(mut buf: BytesMut) -> Vec<Bytes> {
    let mut frames = Vec::new();
    while let Some(f) = take_frame(&mut buf, usize::MAX).expect("well-formed frame") {
        frames.push(f);
    }
    assert!(buf.is_empty(), "trailing partial frame: {buf:?}");
    frames
}

/// Decodes one request frame (header + body), insisting that the body is consumed exactly.
fn decode_request(mut f: Bytes) -> Sent {
    let h = RequestHeader::decode(&mut f).expect("request header");
    let req = Request::decode(h.op, &mut f).expect("request body");
    assert!(f.is_empty(), "{} bytes after a {:?} body", f.len(), h.op);
    assert_eq!(req.op_code(), h.op);
    Sent { xid: h.xid, req }
}

// ----- the harness -----

struct H {
    s: Session<Done, Rec>,
    t0: Instant,
    now: Instant,
    results: Results,
    events: Events,
    next_id: u32,
    sinks: Vec<Rc<Cell<bool>>>,
}

impl H {
    fn new(n_hosts: usize, cfg: SessionConfig) -> H {
        let t0 = Instant::now();
        H {
            s: Session::new(hosts(n_hosts), cfg, t0),
            t0,
            now: t0,
            results: Results::default(),
            events: Events::default(),
            next_id: 0,
            sinks: Vec::new(),
        }
    }

    fn t(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    /// Moves the virtual clock to `ms` after the start (never backwards).
    fn at(&mut self, ms: u64) {
        let t = self.t(ms);
        assert!(t >= self.now, "the virtual clock must not go back");
        self.now = t;
    }

    /// Moves the clock to `ms` and tells the machine the time.
    fn tick(&mut self, ms: u64) {
        self.at(ms);
        self.s.on_timeout(self.now);
    }

    /// Milliseconds since the start for an instant.
    fn ms(&self, t: Instant) -> u64 {
        (t - self.t0).as_millis() as u64
    }

    fn deadline_ms(&self) -> Option<u64> {
        self.s.next_deadline().map(|d| {
            assert_eq!(
                d,
                self.t(self.ms(d)),
                "deadlines land on whole milliseconds here"
            );
            self.ms(d)
        })
    }

    fn actions(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.s.poll_action()).collect()
    }

    fn frames(&mut self) -> Vec<Bytes> {
        self.s.take_output().map(split_frames).unwrap_or_default()
    }

    fn sent(&mut self) -> Vec<Sent> {
        self.frames().into_iter().map(decode_request).collect()
    }

    fn results(&mut self) -> Vec<(u32, Result<Response, Error>)> {
        std::mem::take(&mut *self.results.borrow_mut())
    }

    fn events(&mut self) -> Vec<(u32, Result<WatchedEvent, Error>)> {
        std::mem::take(&mut *self.events.borrow_mut())
    }

    /// Submits a request; the returned id names both its result and its watch events.
    fn submit(&mut self, req: Request, watch: Option<WatchKind>) -> u32 {
        self.next_id += 1;
        let id = self.next_id;
        let gone = Rc::new(Cell::new(false));
        self.sinks.push(gone.clone());
        let watch = watch.map(|k| {
            (
                k,
                Rec {
                    id,
                    log: self.events.clone(),
                    gone,
                },
            )
        });
        self.s.submit(
            self.now,
            req,
            watch,
            Done {
                id,
                log: self.results.clone(),
            },
        );
        id
    }

    /// Simulates the receiver of watch `id` going away.
    fn drop_sink(&mut self, id: u32) {
        self.sinks[id as usize - 1].set(true);
    }

    fn frame(&mut self, payload: impl AsRef<[u8]>) {
        self.s
            .on_frame(self.now, Bytes::copy_from_slice(payload.as_ref()));
    }

    fn reply(&mut self, xid: i32, zxid: i64, err: ErrorCode, body: Option<Response>) {
        let mut b = BytesMut::new();
        ReplyHeader { xid, zxid, err }.encode(&mut b);
        if let Some(r) = body {
            r.encode_body(&mut b);
        }
        self.frame(b);
    }

    fn reply_ok(&mut self, xid: i32, zxid: i64, body: Response) {
        self.reply(xid, zxid, ErrorCode::Ok, Some(body));
    }

    fn notify(&mut self, type_: i32, path: &str) {
        let mut b = BytesMut::new();
        ReplyHeader {
            xid: xid::NOTIFICATION,
            zxid: -1,
            err: ErrorCode::Ok,
        }
        .encode(&mut b);
        WatcherEvent {
            type_,
            state: 3,
            path: path.into(),
        }
        .encode(&mut b);
        self.frame(b);
    }

    fn connect_response(&mut self, time_out: i32, session_id: i64, passwd: &[u8], ro: bool) {
        let mut b = BytesMut::new();
        ConnectResponse {
            protocol_version: 0,
            time_out,
            session_id,
            passwd: Bytes::copy_from_slice(passwd),
            read_only: ro,
        }
        .encode(&mut b);
        self.frame(b);
    }

    /// TCP is up: returns the handshake the machine wrote (and checks it is the only frame,
    /// 45 bytes with the read-only flag).
    fn tcp_up(&mut self) -> ConnectRequest {
        self.s.on_connected(self.now);
        let frames = self.frames();
        assert_eq!(
            frames.len(),
            1,
            "only the ConnectRequest goes out before the response"
        );
        let mut f = frames[0].clone();
        assert_eq!(
            f.len(),
            45,
            "ConnectRequest with the trailing read-only byte"
        );
        let req = ConnectRequest::decode(&mut f).unwrap();
        assert!(f.is_empty());
        req
    }

    /// Expects exactly one Connect action (other actions are returned first) and its host.
    fn expect_connect(&mut self) -> HostPort {
        let actions = self.actions();
        match actions.last() {
            Some(Action::Connect(h)) => h.clone(),
            _ => panic!("expected a Connect action last, got {actions:?}"),
        }
    }

    /// Starts and establishes a session with negotiated timeout `t_ms`; returns the host.
    fn establish(&mut self, t_ms: i32) -> HostPort {
        self.s.start(self.now);
        let host = self.expect_connect();
        self.tcp_up();
        self.connect_response(t_ms, SID, &PASSWD, false);
        assert_eq!(
            self.actions(),
            vec![Action::StateChanged(SessionState::Connected)]
        );
        host
    }

    /// After a drop: connects to whatever host the machine asks for and resumes the session.
    fn reconnect(&mut self, t_ms: i32) -> ConnectRequest {
        let _ = self.expect_connect();
        let req = self.tcp_up();
        self.connect_response(t_ms, SID, &PASSWD, false);
        req
    }
}

// ----- handshake -----

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

// ----- read-only servers -----

fn read_only_cfg(timeout_ms: u64) -> SessionConfig {
    SessionConfig {
        read_only: true,
        ..cfg(timeout_ms)
    }
}

/// Expects exactly one probe among the actions; returns its host and epoch.
fn expect_probe(actions: Vec<Action>) -> (HostPort, u64) {
    match actions.as_slice() {
        [Action::ProbeReadWrite { host, epoch, .. }] => (host.clone(), *epoch),
        other => panic!("expected one probe, got {other:?}"),
    }
}

#[test]
fn read_only_session_probes_other_hosts_and_moves_to_a_read_write_one() {
    let mut h = H::new(3, read_only_cfg(30_000));
    h.s.start(h.now);
    let ro_host = h.expect_connect();
    assert_eq!(h.tcp_up().session_id, 0);
    h.connect_response(30_000, SID, &PASSWD, true);
    assert_eq!(
        h.actions(),
        vec![Action::StateChanged(SessionState::ConnectedReadOnly)]
    );
    // First probe after FIRST_PROBE, at a host other than the read-only one.
    assert_eq!(h.deadline_ms(), Some(100));
    h.tick(100);
    let (probed, epoch) = expect_probe(h.actions());
    assert_ne!(probed, ro_host);
    assert_eq!(
        h.deadline_ms(),
        Some(5_000),
        "no second probe while one runs (the ping is next)"
    );
    // "ro": the next probe comes after twice the interval.
    h.at(130);
    h.s.on_probe_result(h.now, epoch, &probed, false);
    assert!(h.actions().is_empty());
    assert_eq!(h.deadline_ms(), Some(330));
    h.tick(330);
    let (probed, epoch) = expect_probe(h.actions());
    assert_ne!(probed, ro_host);
    // An in-flight request fails like on any reconnect; the session moves to the "rw" host.
    let id = h.submit(get_data("/a", false), None);
    assert_eq!(h.sent().len(), 1);
    h.at(340);
    h.s.on_probe_result(h.now, epoch, &probed, true);
    let actions = h.actions();
    assert_eq!(
        actions,
        vec![
            Action::Disconnect,
            Action::StateChanged(SessionState::Disconnected { since: h.t(340) }),
            Action::Connect(probed.clone()),
        ]
    );
    assert_eq!(h.results(), vec![(id, Err(Error::ConnectionLoss))]);
    // The read-only session is unknown to read-write servers: ask for a new one.
    let req = h.tcp_up();
    assert_eq!(req.session_id, 0, "a new session, not the read-only one");
    assert_eq!(&req.passwd[..], &[0u8; 16]);
    const SID2: i64 = 0x0a0b_0c0d;
    h.connect_response(30_000, SID2, &[3; 16], false);
    assert_eq!(
        h.actions(),
        vec![Action::StateChanged(SessionState::Connected)]
    );
    assert_eq!(h.s.session_id(), SID2);
    // From now on the session is resumed by id, and nothing probes any more.
    assert_eq!(h.deadline_ms(), Some(340 + 5_000), "only the ping is due");
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    h.expect_connect();
    assert_eq!(h.tcp_up().session_id, SID2);
}

#[test]
fn probe_results_of_an_old_connection_are_ignored() {
    let mut h = H::new(2, read_only_cfg(30_000));
    h.s.start(h.now);
    h.expect_connect();
    h.tcp_up();
    h.connect_response(30_000, SID, &PASSWD, true);
    h.actions();
    h.tick(100);
    let (probed, epoch) = expect_probe(h.actions());
    h.at(110);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    h.actions();
    h.s.on_probe_result(h.now, epoch, &probed, true);
    assert!(h.actions().is_empty(), "a stale probe moves nothing");
    // Back on a read-only server: probing starts over from the first interval.
    h.tcp_up();
    h.connect_response(30_000, SID, &PASSWD, true);
    h.actions();
    assert_eq!(h.deadline_ms(), Some(210));
    h.tick(210);
    let (probed, new_epoch) = expect_probe(h.actions());
    assert_ne!(new_epoch, epoch);
    h.s.on_probe_result(h.now, epoch, &probed, true);
    assert!(
        h.actions().is_empty(),
        "the old epoch's answer is not this probe's"
    );
}

#[test]
fn a_session_only_a_read_only_server_knows_does_not_expire_on_the_client_clock() {
    let mut h = H::new(2, read_only_cfg(3_000));
    h.s.start(h.now);
    h.expect_connect();
    h.tcp_up();
    h.connect_response(3_000, SID, &PASSWD, true);
    h.actions();
    h.at(50);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    // No server for far longer than the session timeout: attempts fail, nothing expires.
    for t in (100..20_000).step_by(100) {
        h.tick(t);
        for a in h.actions() {
            if let Action::Connect(_) = a {
                h.s.on_connect_failed(h.now, refused());
            }
        }
        assert!(
            !h.s.state().is_terminal(),
            "expired at {t} ms: {:?}",
            h.s.state()
        );
    }
    // The next server to answer grants a new session: the client goes on with it.
    let mut t = 20_000;
    while !h.actions().iter().any(|a| matches!(a, Action::Connect(_))) {
        h.tick(t);
        t += 100;
        assert!(t < 40_000, "no further attempt");
    }
    assert_eq!(h.tcp_up().session_id, 0);
    h.connect_response(3_000, 0x77, &PASSWD, false);
    assert_eq!(h.s.state(), SessionState::Connected);
    assert_eq!(h.s.session_id(), 0x77);
}

#[test]
fn read_write_sessions_and_single_hosts_never_probe() {
    // A session that allows read-only servers but is on a read-write one.
    let mut h = H::new(3, read_only_cfg(30_000));
    h.establish(30_000);
    assert_eq!(h.deadline_ms(), Some(5_000), "only the ping");
    // A read-only server but nowhere else to go.
    let mut h = H::new(1, read_only_cfg(30_000));
    h.s.start(h.now);
    h.expect_connect();
    h.tcp_up();
    h.connect_response(30_000, SID, &PASSWD, true);
    h.actions();
    assert_eq!(h.deadline_ms(), Some(5_000), "only the ping");
}

#[test]
fn a_resumed_session_is_asked_for_by_id_even_when_read_only_is_allowed() {
    let mut h = H::new(
        2,
        SessionConfig {
            resume: Some((SID, Bytes::from_static(&PASSWD))),
            server_sync_limit: Duration::ZERO,
            ..read_only_cfg(30_000)
        },
    );
    h.s.start(h.now);
    h.expect_connect();
    let req = h.tcp_up();
    assert_eq!((req.session_id, &req.passwd[..]), (SID, &PASSWD[..]));
}

// ----- lastZxid -----

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
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::PING,
            req: Request::Ping
        }]
    );
    h.reply(xid::PING, 0x0f, ErrorCode::Ok, None);
    assert_eq!(h.s.last_zxid(), 0x11);
    h.tick(2_000);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::PING,
            req: Request::Ping
        }]
    );
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

// ----- pings and the read timeout -----

#[test]
fn ping_after_a_sixth_of_the_timeout_idle_not_before() {
    let mut h = H::new(1, cfg(30_000));
    h.establish(3_000); // T = 3 s: ping after 0.5 s idle, read timeout after 2 s silent.
    assert_eq!(h.deadline_ms(), Some(500));
    h.tick(499);
    assert!(h.frames().is_empty(), "no ping before T/6");
    h.tick(500);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::PING,
            req: Request::Ping
        }]
    );
    // Next ping T/6 after this one; read timeout 2T/3 after the last frame (the handshake).
    assert_eq!(h.deadline_ms(), Some(1_000));
    h.at(510);
    h.reply(xid::PING, 0, ErrorCode::Ok, None);
    assert_eq!(h.deadline_ms(), Some(1_000));
    h.tick(999);
    assert!(h.frames().is_empty());
    h.tick(1_000);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::PING,
            req: Request::Ping
        }]
    );
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
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::PING,
            req: Request::Ping
        }]
    );
    // Traffic all along: still a ping every T/6.
    for at in [600, 700, 800, 900] {
        h.at(at);
        h.submit(exists("/x", false), None);
        assert_eq!(h.sent().len(), 1);
    }
    assert_eq!(h.deadline_ms(), Some(1_000));
    h.tick(1_000);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::PING,
            req: Request::Ping
        }]
    );
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
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::PING,
            req: Request::Ping
        }]
    );
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
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::PING,
            req: Request::Ping
        }]
    );
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

// ----- hosts: round-robin, back-off, connect timeout -----

#[test]
fn reconnect_order_is_round_robin_over_a_shuffled_list_with_backoff_after_a_lap() {
    let n = 5;
    let seed = 42;
    let mut h = H::new(
        n,
        SessionConfig {
            seed,
            ..cfg(10_000)
        },
    );
    let expected = HostRing::new(hosts(n), &mut Rng::new(seed))
        .hosts()
        .to_vec();
    h.s.start(h.now);
    let mut lap = Vec::new();
    for i in 0..n {
        let host = h.expect_connect();
        lap.push(host);
        h.at(i as u64);
        h.s.on_connect_failed(h.now, refused());
    }
    assert_eq!(lap, expected, "the once-shuffled order");
    let mut sorted = lap.clone();
    sorted.sort_by_key(|h| h.port);
    assert_eq!(sorted, hosts(n), "a lap visits every host once");
    // A full lap failed: no immediate attempt, a back-off of 25..=50 ms from the last failure.
    assert!(h.actions().is_empty());
    let retry = h.deadline_ms().expect("a retry deadline");
    assert!(
        (4 + 25..=4 + 50).contains(&retry),
        "back-off deadline {retry}"
    );
    h.tick(retry - 1);
    assert!(
        h.actions().is_empty(),
        "no attempt before the back-off ends"
    );
    h.tick(retry);
    assert_eq!(h.actions(), vec![Action::Connect(lap[0].clone())]);
    // Second lap, same order; the next back-off is longer (50..=100 ms).
    let mut lap2 = vec![lap[0].clone()];
    h.s.on_connect_failed(h.now, refused());
    for _ in 1..n {
        lap2.push(h.expect_connect());
        h.s.on_connect_failed(h.now, refused());
    }
    assert_eq!(lap2, lap);
    assert!(h.actions().is_empty());
    let retry2 = h.deadline_ms().unwrap() - retry;
    assert!((50..=100).contains(&retry2), "second back-off {retry2}");
    // Success resets the lap: a later drop reconnects at once.
    h.tick(retry + retry2);
    let host = h.expect_connect();
    assert_eq!(host, lap[0]);
    h.tcp_up();
    h.connect_response(10_000, SID, &PASSWD, false);
    h.actions();
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    assert_eq!(h.expect_connect(), lap[1]);
}

#[test]
fn hosts_are_shuffled() {
    let n = 5;
    let orders: Vec<Vec<HostPort>> = (1..=20)
        .map(|seed| {
            let mut h = H::new(
                n,
                SessionConfig {
                    seed,
                    ..cfg(10_000)
                },
            );
            h.s.start(h.now);
            (0..n)
                .map(|_| {
                    let host = h.expect_connect();
                    h.s.on_connect_failed(h.now, refused());
                    host
                })
                .collect()
        })
        .collect();
    assert!(
        orders.iter().any(|o| o != &hosts(n)),
        "some seed must reorder the list"
    );
    assert!(
        orders.iter().any(|o| o != &orders[0]),
        "different seeds, different orders"
    );
}

#[test]
fn per_host_connect_timeout_moves_to_the_next_host() {
    // Default: session timeout / number of hosts.
    let mut h = H::new(2, cfg(4_000));
    h.s.start(h.now);
    let a = h.expect_connect();
    assert_eq!(h.deadline_ms(), Some(2_000));
    h.tick(1_999);
    assert!(h.actions().is_empty());
    h.tick(2_000);
    let actions = h.actions();
    assert_eq!(
        actions[0],
        Action::Disconnect,
        "abandon the hanging attempt"
    );
    let Some(Action::Connect(b)) = actions.get(1) else {
        panic!("{actions:?}")
    };
    assert_ne!(b, &a);
    // The TCP connect succeeds but the handshake hangs: same deadline rule.
    h.at(2_100);
    h.tcp_up();
    assert_eq!(h.deadline_ms(), Some(4_000));
    h.tick(4_000);
    let actions = h.actions();
    assert_eq!(actions[0], Action::Disconnect);
    // That completed a lap: back-off before trying `a` again.
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert!(
        h.frames().is_empty(),
        "an abandoned handshake's bytes are not kept"
    );
    let retry = h.deadline_ms().unwrap();
    h.tick(retry);
    assert_eq!(h.actions(), vec![Action::Connect(a)]);
    // An on_connected or frame arriving for a stale attempt would be ignored; a fresh one works.
    h.tcp_up();
    h.connect_response(4_000, SID, &PASSWD, false);
    assert_eq!(h.s.state(), SessionState::Connected);
}

#[test]
fn connect_timeout_floor_and_explicit_value() {
    let mut h = H::new(8, cfg(1_000));
    h.s.start(h.now);
    h.expect_connect();
    assert_eq!(
        h.deadline_ms(),
        Some(250),
        "1000 ms / 8 hosts, but at least 250 ms"
    );

    let mut h = H::new(
        2,
        SessionConfig {
            connect_timeout: Some(Duration::from_millis(700)),
            ..cfg(10_000)
        },
    );
    h.s.start(h.now);
    h.expect_connect();
    assert_eq!(h.deadline_ms(), Some(700));
}

// ----- requests: pipelining, protocol errors -----

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

// ----- disconnects, queueing, timeouts -----

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

// ----- watches -----

#[test]
fn watch_registration_follows_the_reply() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    // exists on a missing node: an exist watch.
    h.submit(exists("/missing", true), Some(WatchKind::Data));
    h.reply(1, 1, ErrorCode::NoNode, None);
    assert_eq!(h.s.watches().count(WatchKind::Exist, "/missing"), 1);
    assert_eq!(h.s.watches().count(WatchKind::Data, "/missing"), 0);
    // exists on an existing node: a data watch.
    h.submit(exists("/there", true), Some(WatchKind::Data));
    h.reply_ok(2, 2, Response::Stat(stat(1)));
    assert_eq!(h.s.watches().count(WatchKind::Data, "/there"), 1);
    assert_eq!(h.s.watches().count(WatchKind::Exist, "/there"), 0);
    // getData: a data watch; on a missing node, none.
    h.submit(get_data("/d", true), Some(WatchKind::Data));
    h.reply_ok(
        3,
        3,
        Response::GetData {
            data: Bytes::new(),
            stat: stat(1),
        },
    );
    assert_eq!(h.s.watches().count(WatchKind::Data, "/d"), 1);
    h.submit(get_data("/nod", true), Some(WatchKind::Data));
    h.reply(4, 4, ErrorCode::NoNode, None);
    assert_eq!(h.s.watches().count(WatchKind::Data, "/nod"), 0);
    assert_eq!(h.s.watches().count(WatchKind::Exist, "/nod"), 0);
    // getChildren: a child watch; on a missing node, none.
    h.submit(get_children("/p", true), Some(WatchKind::Child));
    h.reply_ok(5, 5, Response::Children(vec!["c".into()]));
    assert_eq!(h.s.watches().count(WatchKind::Child, "/p"), 1);
    h.submit(get_children("/nop", true), Some(WatchKind::Child));
    h.reply(6, 6, ErrorCode::NoNode, None);
    assert_eq!(h.s.watches().count(WatchKind::Child, "/nop"), 0);
    // Other errors register nothing.
    h.submit(exists("/denied", true), Some(WatchKind::Data));
    h.reply(7, 7, ErrorCode::NoAuth, None);
    assert_eq!(h.s.watches().count(WatchKind::Exist, "/denied"), 0);
    assert_eq!(h.s.watches().count(WatchKind::Data, "/denied"), 0);
    // A request that fails with the connection registers nothing either.
    h.submit(get_data("/lost", true), Some(WatchKind::Data));
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    assert_eq!(h.s.watches().count(WatchKind::Data, "/lost"), 0);
    assert!(h.events().is_empty());
}

/// Registers watches by scripted requests and replies; returns the ids in the given order.
fn register(h: &mut H, watches: &[(WatchKind, &str)]) -> Vec<u32> {
    let mut ids = Vec::new();
    for &(kind, path) in watches {
        let (req, resp, err) = match kind {
            WatchKind::Data => (
                get_data(path, true),
                Some(Response::GetData {
                    data: Bytes::new(),
                    stat: stat(1),
                }),
                ErrorCode::Ok,
            ),
            WatchKind::Exist => (exists(path, true), None, ErrorCode::NoNode),
            WatchKind::Child => (
                get_children(path, true),
                Some(Response::Children(vec![])),
                ErrorCode::Ok,
            ),
            WatchKind::Persistent => (
                add_watch(path, add_watch_mode::PERSISTENT),
                Some(Response::AddWatch),
                ErrorCode::Ok,
            ),
            WatchKind::PersistentRecursive => (
                add_watch(path, add_watch_mode::PERSISTENT_RECURSIVE),
                Some(Response::AddWatch),
                ErrorCode::Ok,
            ),
        };
        let id = h.submit(req, Some(kind));
        let x = h.sent().last().expect("sent").xid;
        h.reply(x, 0, err, resp);
        ids.push(id);
    }
    let _ = h.results();
    for (&(kind, path), _) in watches.iter().zip(&ids) {
        assert!(h.s.watches().count(kind, path) >= 1, "{kind:?} {path}");
    }
    ids
}

#[test]
fn dispatch_fires_the_right_one_shot_watches_once() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    use WatchKind::*;
    let ids = register(
        &mut h,
        &[
            (Data, "/a"),
            (Exist, "/b"),
            (Child, "/a"),
            (Data, "/c"),
            (Child, "/c"),
            (Exist, "/d"),
            (Child, "/d"),
        ],
    );
    let [da, eb, ca, dc, cc, ed, cd] = ids[..] else {
        unreachable!()
    };
    // NodeDeleted fires data, exist and child watches on the path.
    h.notify(ev::NODE_DELETED, "/a");
    assert_eq!(
        h.events(),
        vec![
            (da, Ok(event(EventType::NodeDeleted, "/a"))),
            (ca, Ok(event(EventType::NodeDeleted, "/a")))
        ]
    );
    h.notify(ev::NODE_DELETED, "/d");
    assert_eq!(
        h.events(),
        vec![
            (ed, Ok(event(EventType::NodeDeleted, "/d"))),
            (cd, Ok(event(EventType::NodeDeleted, "/d")))
        ]
    );
    // NodeCreated fires the exist watch, once.
    h.notify(ev::NODE_CREATED, "/b");
    h.notify(ev::NODE_CREATED, "/b");
    assert_eq!(
        h.events(),
        vec![(eb, Ok(event(EventType::NodeCreated, "/b")))]
    );
    // NodeChildrenChanged fires only child watches; NodeDataChanged only data (and exist).
    h.notify(ev::NODE_CHILDREN_CHANGED, "/c");
    assert_eq!(
        h.events(),
        vec![(cc, Ok(event(EventType::NodeChildrenChanged, "/c")))]
    );
    assert_eq!(h.s.watches().count(Data, "/c"), 1);
    h.notify(ev::NODE_DATA_CHANGED, "/c");
    h.notify(ev::NODE_DATA_CHANGED, "/c");
    assert_eq!(
        h.events(),
        vec![(dc, Ok(event(EventType::NodeDataChanged, "/c")))]
    );
    assert!(
        h.s.watches().is_empty(),
        "every one-shot watch fired and is gone"
    );
    // Events of type None (session events) and for unwatched paths are ignored.
    h.notify(ev::NONE, "");
    h.notify(ev::NODE_CREATED, "/zzz");
    assert!(h.events().is_empty());
    assert!(!h.actions().contains(&Action::Disconnect));
}

#[test]
fn two_watchers_on_one_path_both_fire() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    let ids = register(&mut h, &[(WatchKind::Data, "/a"), (WatchKind::Data, "/a")]);
    assert_eq!(h.s.watches().count(WatchKind::Data, "/a"), 2);
    h.notify(ev::NODE_DATA_CHANGED, "/a");
    let got: Vec<u32> = h.events().into_iter().map(|(id, _)| id).collect();
    assert_eq!(got, ids);
}

#[test]
fn persistent_and_recursive_watches() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    let ids = register(
        &mut h,
        &[
            (WatchKind::Persistent, "/p"),
            (WatchKind::PersistentRecursive, "/r"),
        ],
    );
    let [p, r] = ids[..] else { unreachable!() };
    assert_eq!(
        h.sent(),
        vec![],
        "registration replies consumed, nothing else written"
    );
    // Persistent: every event on the node itself (children changes included), repeatedly.
    h.notify(ev::NODE_DATA_CHANGED, "/p");
    h.notify(ev::NODE_DATA_CHANGED, "/p");
    h.notify(ev::NODE_CHILDREN_CHANGED, "/p");
    h.notify(ev::NODE_CREATED, "/p/child"); // not the node itself
    assert_eq!(
        h.events(),
        vec![
            (p, Ok(event(EventType::NodeDataChanged, "/p"))),
            (p, Ok(event(EventType::NodeDataChanged, "/p"))),
            (p, Ok(event(EventType::NodeChildrenChanged, "/p"))),
        ]
    );
    // Recursive: the node and its whole subtree, but never NodeChildrenChanged.
    h.notify(ev::NODE_CREATED, "/r/x/y");
    h.notify(ev::NODE_CHILDREN_CHANGED, "/r");
    h.notify(ev::NODE_CHILDREN_CHANGED, "/r/x");
    h.notify(ev::NODE_DATA_CHANGED, "/r");
    h.notify(ev::NODE_DELETED, "/r/x/y");
    h.notify(ev::NODE_CREATED, "/rr"); // a sibling with a common prefix is not a descendant
    assert_eq!(
        h.events(),
        vec![
            (r, Ok(event(EventType::NodeCreated, "/r/x/y"))),
            (r, Ok(event(EventType::NodeDataChanged, "/r"))),
            (r, Ok(event(EventType::NodeDeleted, "/r/x/y"))),
        ]
    );
    h.notify(ev::NODE_DELETED, "/p");
    assert_eq!(
        h.events(),
        vec![(p, Ok(event(EventType::NodeDeleted, "/p")))]
    );
    assert_eq!(
        h.s.watches().count(WatchKind::Persistent, "/p"),
        1,
        "still armed after delete"
    );
    // A receiver that went away is dropped at the next delivery.
    h.drop_sink(p);
    h.notify(ev::NODE_DATA_CHANGED, "/p");
    assert!(h.events().is_empty());
    assert_eq!(h.s.watches().count(WatchKind::Persistent, "/p"), 0);
}

#[test]
fn root_recursive_watch_sees_everything_but_children_changes() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    let ids = register(&mut h, &[(WatchKind::PersistentRecursive, "/")]);
    h.notify(ev::NODE_CREATED, "/a");
    h.notify(ev::NODE_CHILDREN_CHANGED, "/");
    h.notify(ev::NODE_DATA_CHANGED, "/");
    assert_eq!(
        h.events(),
        vec![
            (ids[0], Ok(event(EventType::NodeCreated, "/a"))),
            (ids[0], Ok(event(EventType::NodeDataChanged, "/")))
        ]
    );
}

#[test]
fn remove_watches_drops_local_registrations_and_tells_them() {
    let mut h = H::new(
        1,
        SessionConfig {
            chroot: Chroot::new(Some("/app".into())),
            ..cfg(10_000)
        },
    );
    h.establish(10_000);
    let ids = register(
        &mut h,
        &[(WatchKind::Data, "/app/a"), (WatchKind::Child, "/app/a")],
    );
    h.submit(
        Request::RemoveWatches(WatchesRequest {
            path: "/app/a".into(),
            type_: watcher_type::DATA,
        }),
        None,
    );
    // A notification before the reply still reaches the watch.
    h.notify(ev::NODE_DATA_CHANGED, "/app/a");
    let x = h.sent().last().unwrap().xid;
    h.reply(x, 1, ErrorCode::Ok, Some(Response::Empty));
    assert_eq!(
        h.events(),
        vec![(ids[0], Ok(event(EventType::NodeDataChanged, "/a")))]
    );
    assert_eq!(h.results()[0].1, Ok(Response::Empty));
    h.submit(
        Request::RemoveWatches(WatchesRequest {
            path: "/app/a".into(),
            type_: watcher_type::CHILDREN,
        }),
        None,
    );
    let x = h.sent().last().unwrap().xid;
    h.reply(x, 1, ErrorCode::Ok, Some(Response::Empty));
    assert_eq!(
        h.events(),
        vec![(ids[1], Ok(event(EventType::ChildWatchRemoved, "/a")))]
    );
    assert!(h.s.watches().is_empty());
}

#[test]
fn set_watches_after_reconnect_with_chroot_and_relative_zxid() {
    let chroot = Chroot::new(Some("/app".into()));
    let mut h = H::new(
        2,
        SessionConfig {
            chroot,
            ..cfg(10_000)
        },
    );
    h.establish(10_000);
    use WatchKind::*;
    let ids = register(
        &mut h,
        &[
            (Data, "/app/b"),
            (Data, "/app/a"),
            (Exist, "/app/e"),
            (Child, "/app"),
            (Child, "/app/a"),
            (Data, "/app/gone"),
        ],
    );
    h.submit(create("/app/z"), None);
    let x = h.sent()[0].xid;
    h.reply_ok(
        x,
        0x77,
        Response::Create {
            path: "/app/z".into(),
        },
    );
    h.results();
    // A watch whose receiver went away is not re-registered.
    h.drop_sink(ids[5]);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    let _ = h.reconnect(10_000);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::SET_WATCHES,
            req: Request::SetWatches(SetWatches {
                relative_zxid: 0x77,
                data_watches: vec!["/app/a".into(), "/app/b".into()],
                exist_watches: vec!["/app/e".into()],
                child_watches: vec!["/app".into(), "/app/a".into()],
            }),
        }]
    );
    // The server fires re-registered watches as needed; events come back with the chroot
    // stripped (the chroot root itself is "/").
    h.notify(ev::NODE_DELETED, "/app/a");
    h.notify(ev::NODE_CHILDREN_CHANGED, "/app");
    h.notify(ev::NODE_CREATED, "/app/e");
    assert_eq!(
        h.events(),
        vec![
            (ids[1], Ok(event(EventType::NodeDeleted, "/a"))),
            (ids[4], Ok(event(EventType::NodeDeleted, "/a"))),
            (ids[3], Ok(event(EventType::NodeChildrenChanged, "/"))),
            (ids[2], Ok(event(EventType::NodeCreated, "/e"))),
        ]
    );
}

#[test]
fn set_watches2_when_persistent_watches_exist() {
    let mut h = H::new(2, cfg(10_000));
    h.establish(10_000);
    use WatchKind::*;
    register(
        &mut h,
        &[
            (Data, "/d"),
            (Persistent, "/p2"),
            (Persistent, "/p1"),
            (PersistentRecursive, "/r"),
        ],
    );
    h.tick(4_000); // a ping goes out after T/3 idle; its reply carries the zxid
    assert_eq!(h.sent().len(), 1);
    h.reply(xid::PING, 0x99, ErrorCode::Ok, None);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    h.reconnect(10_000);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::SET_WATCHES,
            req: Request::SetWatches2(SetWatches2 {
                relative_zxid: 0x99,
                data_watches: vec!["/d".into()],
                exist_watches: vec![],
                child_watches: vec![],
                persistent_watches: vec!["/p1".into(), "/p2".into()],
                persistent_recursive_watches: vec!["/r".into()],
            }),
        }]
    );
}

#[test]
fn set_watches_is_batched_below_the_limit() {
    let mut h = H::new(2, cfg(10_000));
    h.establish(10_000);
    let long = "x".repeat(900);
    let n = 400; // about 360 KB of paths per kind
    let mut want_data = Vec::new();
    let mut want_child = Vec::new();
    for i in 0..n {
        let p = format!("/{long}{i:04}");
        h.submit(get_data(&p, true), Some(WatchKind::Data));
        h.submit(get_children(&p, true), Some(WatchKind::Child));
        want_data.push(p.clone());
        want_child.push(p);
    }
    for s in h.sent() {
        let resp = match s.req {
            Request::GetData(_) => Response::GetData {
                data: Bytes::new(),
                stat: stat(1),
            },
            _ => Response::Children(vec![]),
        };
        h.reply_ok(s.xid, 0x500, resp);
    }
    h.results();
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    h.reconnect(10_000);
    let frames = h.frames();
    assert!(
        frames.len() >= 6,
        "{} packets for ~720 KB of paths",
        frames.len()
    );
    let (mut got_data, mut got_child) = (Vec::new(), Vec::new());
    for f in frames {
        let len = f.len();
        let Sent {
            xid: x,
            req: Request::SetWatches(sw),
        } = decode_request(f)
        else {
            panic!("not SetWatches")
        };
        assert_eq!(x, xid::SET_WATCHES);
        assert_eq!(sw.relative_zxid, 0x500);
        assert!(sw.exist_watches.is_empty());
        let path_bytes: usize = sw
            .data_watches
            .iter()
            .chain(&sw.child_watches)
            .map(|p| p.len() + 4)
            .sum();
        assert!(
            path_bytes <= SET_WATCHES_BATCH_BYTES,
            "{path_bytes} bytes of paths in one packet"
        );
        // Header (8) + zxid (8) + three vector counts (12) on top of the paths.
        assert_eq!(len, path_bytes + 28);
        assert!(len < DEFAULT_MAX_BUFFER / 4);
        got_data.extend(sw.data_watches);
        got_child.extend(sw.child_watches);
    }
    assert_eq!(
        got_data, want_data,
        "every data watch exactly once, in order"
    );
    assert_eq!(got_child, want_child);
}

// ----- expiry -----

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

// ----- auth -----

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

// ----- close -----

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

// ----- xids -----

#[test]
fn xids_wrap_from_max_to_one() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    h.s.set_next_xid_for_test(i32::MAX - 1);
    let ids: Vec<u32> = ["/a", "/b", "/c"]
        .iter()
        .map(|p| h.submit(get_data(p, false), None))
        .collect();
    let xids: Vec<i32> = h.sent().iter().map(|s| s.xid).collect();
    assert_eq!(xids, vec![i32::MAX - 1, i32::MAX, 1]);
    for x in xids {
        h.reply_ok(
            x,
            1,
            Response::GetData {
                data: Bytes::new(),
                stat: stat(1),
            },
        );
    }
    let got: Vec<u32> = h
        .results()
        .into_iter()
        .filter(|r| r.1.is_ok())
        .map(|r| r.0)
        .collect();
    assert_eq!(got, ids);
    assert!(!h.actions().contains(&Action::Disconnect));
    h.submit(delete("/d"), None);
    assert_eq!(h.sent()[0].xid, 2);
}

// ----- chroot -----

#[test]
fn chroot_is_stripped_from_delivered_events() {
    let mut h = H::new(
        1,
        SessionConfig {
            chroot: Chroot::new(Some("/app/x".into())),
            ..cfg(10_000)
        },
    );
    h.establish(10_000);
    use WatchKind::*;
    let ids = register(
        &mut h,
        &[
            (Exist, "/app/x/n"),
            (Child, "/app/x"),
            (PersistentRecursive, "/app/x"),
        ],
    );
    h.notify(ev::NODE_CREATED, "/app/x/n");
    h.notify(ev::NODE_CHILDREN_CHANGED, "/app/x");
    h.notify(ev::NODE_DATA_CHANGED, "/app/x");
    assert_eq!(
        h.events(),
        vec![
            (ids[0], Ok(event(EventType::NodeCreated, "/n"))),
            (ids[2], Ok(event(EventType::NodeCreated, "/n"))),
            (ids[1], Ok(event(EventType::NodeChildrenChanged, "/"))),
            (ids[2], Ok(event(EventType::NodeDataChanged, "/"))),
        ]
    );
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

// ----- the lease -----

/// Runs a session for `until_ms` of virtual time in 10 ms steps, answering each request after
/// `rtt(n)` ms (n counts requests and pings from 0; replies keep their order); with `busy`, one
/// request at a time is always in flight besides the pings (one-at-a-time traffic). Returns the
/// smallest headroom (lease end minus now) seen, in ms (negative: the lease ran out while the
/// connection was fine).
fn lease_headroom(t_ms: i32, until_ms: u64, busy: bool, rtt: impl Fn(usize) -> u64) -> i64 {
    let mut h = H::new(1, cfg(t_ms as u64));
    h.establish(t_ms);
    let mut due: std::collections::VecDeque<(u64, i32)> = Default::default();
    let (mut n, mut zxid, mut worst, mut now) = (0, 0, i64::MAX, 0);
    let mut request_in_flight = false;
    while now < until_ms {
        now += 10;
        h.tick(now);
        if busy && !request_in_flight {
            h.submit(exists("/x", false), None);
            request_in_flight = true;
        }
        for s in h.sent() {
            // In order: a reply never overtakes an earlier one.
            let at = (now + rtt(n)).max(due.back().map_or(0, |d| d.0));
            due.push_back((at, s.xid));
            n += 1;
        }
        while let Some(&(at, x)) = due.front() {
            if at > now {
                break;
            }
            due.pop_front();
            zxid += 1;
            if x == xid::PING {
                h.reply(xid::PING, 0, ErrorCode::Ok, None);
            } else {
                h.reply_ok(x, zxid, Response::Stat(stat(1)));
                request_in_flight = false;
            }
        }
        h.results();
        assert!(h.actions().is_empty(), "the connection stays up");
        let until = h.s.valid_until().expect("established");
        worst = worst.min(h.ms(until) as i64 - now as i64);
    }
    worst
}

#[test]
fn the_lease_starts_at_the_handshake_and_never_reaches_past_one_timeout() {
    let mut h = H::new(1, cfg(3_000));
    assert_eq!(h.s.valid_until(), None);
    h.establish(3_000); // the handshake was sent at 0
    assert_eq!(h.s.valid_until(), Some(h.t(3_000 - 30)));
    // A ping at 500 answered at 510 does not count yet: the follower may not have passed it on.
    h.tick(500);
    h.at(510);
    h.reply(xid::PING, 0, ErrorCode::Ok, None);
    assert_eq!(h.s.valid_until(), Some(h.t(2_970)));
    // Still not after the ping at 1000 (sent less than T/4 = 750 ms after 510)...
    h.tick(1_000);
    h.at(1_010);
    h.reply(xid::PING, 0, ErrorCode::Ok, None);
    assert_eq!(h.s.valid_until(), Some(h.t(2_970)));
    // ...but the ping sent at 1500 proves the server was alive 990 ms after answering the one
    // sent at 500: that contact counts now.
    h.tick(1_500);
    h.at(1_510);
    h.reply(xid::PING, 0, ErrorCode::Ok, None);
    assert_eq!(h.s.valid_until(), Some(h.t(500 + 2_970)));
}

#[test]
fn the_lease_stays_ahead_on_an_idle_connection_even_with_one_slow_answer() {
    // Prompt answers: the lease rests on a contact T/3 to T/2 old, so stays about T/2 ahead.
    let prompt = lease_headroom(3_000, 20_000, false, |_| 5);
    assert!(prompt >= 1_400, "headroom {prompt} ms");
    // Round trips of 400 ms (beyond T/12, where pings every T/3 would let it lapse).
    let slow = lease_headroom(3_000, 20_000, false, |_| 400);
    assert!(slow > 500, "headroom {slow} ms");
    // One answer delayed by a third of the timeout (a server's GC pause).
    let hiccup = lease_headroom(3_000, 20_000, false, |n| if n == 10 { 1_000 } else { 5 });
    assert!(hiccup > 0, "headroom {hiccup} ms");
}

#[test]
fn the_lease_survives_one_at_a_time_traffic_over_a_slow_link() {
    // A 4 s session over a link with 800 ms round trips, one request after another: the steady
    // pings fill the gaps between them, so contacts keep being confirmed.
    let headroom = lease_headroom(4_000, 30_000, true, |_| 800);
    assert!(headroom > 200, "headroom {headroom} ms");
}

#[test]
fn the_lease_is_not_renewed_by_a_lost_connection_nor_by_a_dead_server() {
    let mut h = H::new(2, cfg(3_000));
    h.establish(3_000);
    h.tick(500);
    h.at(505);
    h.reply(xid::PING, 0, ErrorCode::Ok, None);
    // The connection drops: the ping answered at 505 can never be vouched for by that server.
    h.at(600);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    assert_eq!(h.s.valid_until(), Some(h.t(2_970)));
    // A reconnect: the new handshake (sent at 700) counts at once.
    h.at(700);
    h.reconnect(3_000);
    assert_eq!(h.s.valid_until(), Some(h.t(700 + 2_970)));
}

/// A follower cut off from the leader at `cut_ms` (silently: it goes on answering pings for
/// `sync_ms`, the servers' `syncLimit × tickTime`, then stops). Returns the lease's end (ms of
/// virtual time) once that follower has gone quiet, for a client told `told_ms` of the sync
/// limit.
fn lease_after_silent_cut(t_ms: u64, cut_ms: u64, sync_ms: u64, told_ms: u64) -> u64 {
    let mut c = cfg(t_ms);
    c.server_sync_limit = Duration::from_millis(told_ms);
    let mut h = H::new(1, c);
    h.establish(t_ms as i32);
    let mut now = 0;
    while now < cut_ms + sync_ms {
        now += 10;
        h.tick(now);
        for s in h.sent() {
            assert_eq!(s.xid, xid::PING, "an idle session only pings");
            h.reply(xid::PING, 0, ErrorCode::Ok, None);
        }
    }
    h.ms(h.s.valid_until().expect("established"))
}

#[test]
fn given_the_servers_sync_limit_a_silently_cut_follower_cannot_stretch_the_lease() {
    let (t, cut, sync) = (4_000, 10_000, 1_500);
    // What the leader knows: touches the follower passed on before the cut, i.e. of contacts
    // answered up to T/4 (half a tick at most) before it. It expires the session T after the
    // latest of them, so no lease may end later than cut - T/4 + T.
    let safe = cut - t / 4 + t - t / 100;
    let told = lease_after_silent_cut(t, cut, sync, sync);
    assert!(told <= safe, "lease to {told} ms, beyond {safe} ms");
    // Not told: the follower's answers during the sync limit stretch the lease past the
    // leader's expiry (why the README asks for syncLimit × tickTime + tick/2 <= T/4 then).
    let untold = lease_after_silent_cut(t, cut, sync, 0);
    assert!(
        untold > safe,
        "lease to {untold} ms (the unsafe case did not show)"
    );
}

#[test]
fn given_the_servers_sync_limit_the_lease_still_stays_ahead_when_idle() {
    let mut c = cfg(4_000);
    c.server_sync_limit = Duration::from_millis(1_000);
    let mut h = H::new(1, c);
    h.establish(4_000);
    let mut worst = i64::MAX;
    for now in (10..20_000).step_by(10) {
        h.tick(now);
        for _ in h.sent() {
            h.reply(xid::PING, 0, ErrorCode::Ok, None);
        }
        let until = h.ms(h.s.valid_until().expect("established")) as i64;
        worst = worst.min(until - now as i64);
    }
    // About 7T/12 - S = 1333 ms less a ping interval's worth of sampling.
    assert!(worst >= 600, "headroom {worst} ms");
}
