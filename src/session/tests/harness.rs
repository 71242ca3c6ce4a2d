//! The harness of the session tests: a [`Session`] on a virtual clock, recorders for results
//! and watch events, helpers that script the server's frames and decode what the machine wrote.

use super::*;

// ----- recorders -----

pub(super) type Results = Rc<RefCell<Vec<(u32, Result<Response, Error>)>>>;
pub(super) type Events = Rc<RefCell<Vec<(u32, Result<WatchedEvent, Error>)>>>;

/// Records the result of request `id`.
pub(super) struct Done {
    pub(super) id: u32,
    pub(super) log: Results,
}

impl Completer for Done {
    fn complete(self, result: Result<Response, Error>) {
        self.log.borrow_mut().push((self.id, result));
    }
}

/// Records events for watch `id`; `gone` simulates a receiver that went away.
pub(super) struct Rec {
    pub(super) id: u32,
    pub(super) log: Events,
    pub(super) gone: Rc<Cell<bool>>,
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
pub(super) struct Sent {
    pub(super) xid: i32,
    pub(super) req: Request,
}

pub(super) const SID: i64 = 0x0102_0304_0506_0708;
pub(super) const PASSWD: [u8; 16] = [7; 16];

pub(super) fn hosts(n: usize) -> Vec<HostPort> {
    (0..n)
        .map(|i| HostPort {
            host: format!("h{i}"),
            port: 2181 + i as u16,
        })
        .collect()
}

/// A refused TCP connect, as the driver reports it.
pub(super) fn refused() -> ConnectionError {
    std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into()
}

pub(super) fn cfg(timeout_ms: u64) -> SessionConfig {
    SessionConfig {
        session_timeout: Duration::from_millis(timeout_ms),
        ..Default::default()
    }
}

pub(super) fn get_data(path: &str, watch: bool) -> Request {
    Request::GetData(PathWatchRequest {
        path: path.into(),
        watch,
    })
}

pub(super) fn exists(path: &str, watch: bool) -> Request {
    Request::Exists(PathWatchRequest {
        path: path.into(),
        watch,
    })
}

pub(super) fn get_children(path: &str, watch: bool) -> Request {
    Request::GetChildren(PathWatchRequest {
        path: path.into(),
        watch,
    })
}

pub(super) fn create(path: &str) -> Request {
    Request::Create(CreateRequest {
        path: path.into(),
        data: Bytes::from_static(b"d"),
        acl: crate::proto::Acl::open_unsafe(),
        flags: 0,
    })
}

pub(super) fn delete(path: &str) -> Request {
    Request::Delete(DeleteRequest {
        path: path.into(),
        version: -1,
    })
}

pub(super) fn add_watch(path: &str, mode: i32) -> Request {
    Request::AddWatch(AddWatchRequest {
        path: path.into(),
        mode,
    })
}

pub(super) fn stat(mzxid: i64) -> Stat {
    Stat {
        czxid: 1,
        mzxid,
        version: 1,
        data_length: 1,
        ..Default::default()
    }
}

pub(super) fn event(event_type: EventType, path: &str) -> WatchedEvent {
    WatchedEvent {
        event_type,
        path: path.into(),
    }
}

/// Splits a write buffer into frame payloads.
pub(super) fn split_frames(mut buf: BytesMut) -> Vec<Bytes> {
    let mut frames = Vec::new();
    while let Some(f) = take_frame(&mut buf, usize::MAX).expect("well-formed frame") {
        frames.push(f);
    }
    assert!(buf.is_empty(), "trailing partial frame: {buf:?}");
    frames
}

/// Decodes one request frame (header + body), insisting that the body is consumed exactly.
pub(super) fn decode_request(mut f: Bytes) -> Sent {
    let h = RequestHeader::decode(&mut f).expect("request header");
    let req = Request::decode(h.op, &mut f).expect("request body");
    assert!(f.is_empty(), "{} bytes after a {:?} body", f.len(), h.op);
    assert_eq!(req.op_code(), h.op);
    Sent { xid: h.xid, req }
}

// ----- the harness -----

pub(super) struct H {
    pub(super) s: Session<Done, Rec>,
    pub(super) t0: Instant,
    pub(super) now: Instant,
    pub(super) results: Results,
    pub(super) events: Events,
    pub(super) next_id: u32,
    pub(super) sinks: Vec<Rc<Cell<bool>>>,
}

impl H {
    pub(super) fn new(n_hosts: usize, cfg: SessionConfig) -> H {
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

    pub(super) fn t(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    /// Moves the virtual clock to `ms` after the start (never backwards).
    pub(super) fn at(&mut self, ms: u64) {
        let t = self.t(ms);
        assert!(t >= self.now, "the virtual clock must not go back");
        self.now = t;
    }

    /// Moves the clock to `ms` and tells the machine the time.
    pub(super) fn tick(&mut self, ms: u64) {
        self.at(ms);
        self.s.on_timeout(self.now);
    }

    /// Milliseconds since the start for an instant.
    pub(super) fn ms(&self, t: Instant) -> u64 {
        (t - self.t0).as_millis() as u64
    }

    pub(super) fn deadline_ms(&self) -> Option<u64> {
        self.s.next_deadline().map(|d| {
            assert_eq!(
                d,
                self.t(self.ms(d)),
                "deadlines land on whole milliseconds here"
            );
            self.ms(d)
        })
    }

    pub(super) fn actions(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.s.poll_action()).collect()
    }

    pub(super) fn frames(&mut self) -> Vec<Bytes> {
        self.s.take_output().map(split_frames).unwrap_or_default()
    }

    pub(super) fn sent(&mut self) -> Vec<Sent> {
        self.frames().into_iter().map(decode_request).collect()
    }

    pub(super) fn results(&mut self) -> Vec<(u32, Result<Response, Error>)> {
        std::mem::take(&mut *self.results.borrow_mut())
    }

    pub(super) fn events(&mut self) -> Vec<(u32, Result<WatchedEvent, Error>)> {
        std::mem::take(&mut *self.events.borrow_mut())
    }

    /// Expects that exactly one ping was written since the last look.
    #[track_caller]
    pub(super) fn expect_ping(&mut self) {
        assert_eq!(
            self.sent(),
            vec![Sent {
                xid: xid::PING,
                req: Request::Ping
            }]
        );
    }

    /// Submits a request; the returned id names both its result and its watch events.
    pub(super) fn submit(&mut self, req: Request, watch: Option<WatchKind>) -> u32 {
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
    pub(super) fn drop_sink(&mut self, id: u32) {
        self.sinks[id as usize - 1].set(true);
    }

    pub(super) fn frame(&mut self, payload: impl AsRef<[u8]>) {
        self.s
            .on_frame(self.now, Bytes::copy_from_slice(payload.as_ref()));
    }

    pub(super) fn reply(&mut self, xid: i32, zxid: i64, err: ErrorCode, body: Option<Response>) {
        let mut b = BytesMut::new();
        ReplyHeader { xid, zxid, err }.encode(&mut b);
        if let Some(r) = body {
            r.encode_body(&mut b);
        }
        self.frame(b);
    }

    pub(super) fn reply_ok(&mut self, xid: i32, zxid: i64, body: Response) {
        self.reply(xid, zxid, ErrorCode::Ok, Some(body));
    }

    pub(super) fn notify(&mut self, type_: i32, path: &str) {
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

    pub(super) fn connect_response(
        &mut self,
        time_out: i32,
        session_id: i64,
        passwd: &[u8],
        ro: bool,
    ) {
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
    pub(super) fn tcp_up(&mut self) -> ConnectRequest {
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
    pub(super) fn expect_connect(&mut self) -> HostPort {
        let actions = self.actions();
        match actions.last() {
            Some(Action::Connect(h)) => h.clone(),
            _ => panic!("expected a Connect action last, got {actions:?}"),
        }
    }

    /// Starts and establishes a session with negotiated timeout `t_ms`; returns the host.
    pub(super) fn establish(&mut self, t_ms: i32) -> HostPort {
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
    pub(super) fn reconnect(&mut self, t_ms: i32) -> ConnectRequest {
        let _ = self.expect_connect();
        let req = self.tcp_up();
        self.connect_response(t_ms, SID, &PASSWD, false);
        req
    }
}

// ----- watches registered through scripted replies -----

/// Registers watches by scripted requests and replies; returns the ids in the given order.
pub(super) fn register(h: &mut H, watches: &[(WatchKind, &str)]) -> Vec<u32> {
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
                Some(Response::Children(crate::ChildNames::default())),
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
