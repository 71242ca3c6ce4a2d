//! The session state machine, without IO and without a clock of its own (sans-IO).
//!
//! The driver (see `client`) feeds it inputs: "the TCP connection is up", "this frame arrived",
//! "the connection dropped", "it is now T", "the user wants this request". The machine answers
//! with outputs: bytes to write ([`Session::take_output`]), actions ([`Action`]: connect to a
//! host, drop the connection, the state changed), completed requests (through the
//! [`Completer`] each request carries) and watch events (through [`WatchSink`]s), and the next
//! instant it wants to be woken at ([`Session::next_deadline`]). Every timing rule of the
//! reference client (pings, read timeout, connect timeout, back-off, client-side expiry) lives
//! here and is tested with a virtual clock.

mod chroot;
mod event;
mod hosts;
mod read_only;
mod state;
mod watches;

#[cfg(test)]
mod tests;

pub use chroot::Chroot;
pub use event::{EventType, WatchedEvent};
pub use hosts::{parse_connect_string, ConnectString, HostPort, HostRing, Rng};
pub use read_only::{FIRST_PROBE, MAX_PROBE_INTERVAL};
pub use state::SessionState;
pub use watches::{SetWatchesBatch, WatchKind, WatchRegistry, WatchSink, SET_WATCHES_BATCH_BYTES};

use crate::error::Error;
use crate::proto::{
    decode_connect_reply, encode_connect_frame, encode_request_frame, xid, AuthPacket,
    ConnectReply, ConnectRequest, Decode, ErrorCode, OpCode, ReplyHeader, Request, Response,
    WatcherEvent,
};
use bytes::{Bytes, BytesMut};
use read_only::RwSeeker;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Receives the result of one request. The client implements it with a oneshot channel.
pub trait Completer {
    /// Hands over the result; called exactly once per submitted request.
    fn complete(self, result: Result<Response, Error>);
}

/// Settings of a session that the state machine needs.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The session timeout asked of the server (it clamps it into its own bounds).
    pub session_timeout: Duration,
    /// Time allowed for one host's TCP connect plus handshake; `None` = session timeout divided
    /// by the number of hosts (at least 250 ms), as the reference client does.
    pub connect_timeout: Option<Duration>,
    /// Whether read-only servers may serve this session.
    pub read_only: bool,
    /// Requests that may wait for a connection at once; more fail with [`Error::QueueFull`].
    pub max_queued: usize,
    /// How long a request may wait for a connection before failing with [`Error::Timeout`].
    pub request_timeout: Option<Duration>,
    /// Credentials (scheme, auth bytes) sent after every (re)connect.
    pub auth: Vec<(String, Bytes)>,
    /// Client-side path prefix.
    pub chroot: Chroot,
    /// Seed for host shuffling and jitter.
    pub seed: u64,
    /// An existing session (id, password) to attach to instead of creating a new one.
    pub resume: Option<(i64, Bytes)>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            session_timeout: Duration::from_secs(10),
            connect_timeout: None,
            read_only: false,
            max_queued: 10_000,
            request_timeout: None,
            auth: Vec::new(),
            chroot: Chroot::default(),
            seed: 1,
            resume: None,
        }
    }
}

/// Something the driver must do on the machine's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a TCP connection to this host, then call [`Session::on_connected`] or
    /// [`Session::on_connect_failed`]. Any previous connection is already gone.
    Connect(HostPort),
    /// Close the current connection (or abandon the attempt in progress). Bytes not yet
    /// written are discarded.
    Disconnect,
    /// The observable state changed to this.
    StateChanged(SessionState),
    /// On a read-only server: ask `host` (on a separate short connection, within `timeout`)
    /// whether it serves read-write, then call [`Session::on_probe_result`] with `epoch`.
    ProbeReadWrite {
        /// The host to ask.
        host: HostPort,
        /// How long the probe may take; no answer counts as "not read-write".
        timeout: Duration,
        /// The connection this probe was started on; a result for an older one is ignored.
        epoch: u64,
    },
}

/// How to read a request's reply into a watch registration.
struct PendingWatch<W> {
    kind: WatchKind,
    path: String,
    sink: W,
}

struct InFlight<C, W> {
    xid: i32,
    op: OpCode,
    sent_at: Instant,
    /// Boxed, like `remove`: rare, and an in-flight entry should stay small (thousands of
    /// them may be pipelined).
    watch: Option<Box<PendingWatch<W>>>,
    /// For removeWatches: (server path, watcher type) to drop locally on success; for
    /// checkWatches: what must also be registered locally.
    remove: Option<Box<(String, i32)>>,
    completer: Option<C>,
}

struct Queued<C, W> {
    request: Request,
    watch: Option<(WatchKind, W)>,
    completer: C,
    queued_at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No connection; the next attempt starts at `retry_at` (or as soon as asked).
    Idle,
    /// TCP connect in progress.
    Connecting,
    /// ConnectRequest written, waiting for the ConnectResponse.
    Handshaking { sent_at: Instant },
    /// Session established on this connection.
    Connected,
    /// closeSession written, waiting for its reply.
    Closing,
    /// Expired, auth failed or closed: nothing more happens.
    Terminal,
}

/// The session state machine. `C` receives request results, `W` watch events.
pub struct Session<C, W> {
    cfg: SessionConfig,
    ring: HostRing,
    rng: Rng,
    phase: Phase,
    state: SessionState,
    session_id: i64,
    passwd: Bytes,
    negotiated: Option<Duration>,
    last_zxid: i64,
    next_xid: i32,
    out: BytesMut,
    inflight: VecDeque<InFlight<C, W>>,
    queued: VecDeque<Queued<C, W>>,
    /// Send instants of unanswered pings (their replies come in order with the others).
    pings: VecDeque<Instant>,
    /// Send instants and completers of auth packets, in send order; `None` for re-sent
    /// credentials.
    auth_waiters: VecDeque<(Instant, Option<C>)>,
    /// Send instants of unanswered SetWatches(2) packets.
    set_watches_sent: VecDeque<Instant>,
    watches: WatchRegistry<W>,
    actions: VecDeque<Action>,
    last_send: Instant,
    last_recv: Instant,
    /// Send instant of the latest request the server answered: the server's session clock was
    /// reset no earlier than this, so it cannot expire the session before `anchor + timeout`.
    alive_anchor: Option<Instant>,
    /// When the current connect attempt (TCP + handshake) times out.
    attempt_deadline: Option<Instant>,
    /// When the next connect attempt may start (back-off), while Idle.
    retry_at: Option<Instant>,
    /// When a graceful close gives up waiting for the server.
    close_deadline: Option<Instant>,
    /// The error that ended the session, once terminal.
    terminal_error: Option<Error>,
    /// Counts connections given up: lets the driver tell that bytes it still holds belong to
    /// a connection the machine has already dropped.
    epoch: u64,
    /// The host of the current connection or attempt.
    host: Option<HostPort>,
    /// Whether a read-write server has ever served this session: until then a read-only
    /// session is asked for afresh at each handshake (see `read_only`).
    seen_read_write: bool,
    /// Probes for a read-write server while a read-only one serves the session.
    rw_seeker: RwSeeker,
}

fn ms(d: Duration) -> i32 {
    d.as_millis().min(i32::MAX as u128) as i32
}

impl<C: Completer, W: WatchSink> Session<C, W> {
    /// A session over `hosts` (shuffled once). Nothing happens until [`Session::start`].
    pub fn new(hosts: Vec<HostPort>, cfg: SessionConfig, now: Instant) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let ring = HostRing::new(hosts, &mut rng);
        let (session_id, passwd) = cfg
            .resume
            .clone()
            .unwrap_or((0, Bytes::from_static(&[0u8; 16])));
        // A session to resume exists in the ensemble: a read-write server has seen it.
        let seen_read_write = cfg.resume.is_some();
        Session {
            cfg,
            ring,
            rng,
            phase: Phase::Idle,
            state: SessionState::Connecting,
            session_id,
            passwd,
            negotiated: None,
            last_zxid: 0,
            next_xid: 1,
            out: BytesMut::with_capacity(4 * 1024),
            inflight: VecDeque::new(),
            queued: VecDeque::new(),
            pings: VecDeque::new(),
            auth_waiters: VecDeque::new(),
            set_watches_sent: VecDeque::new(),
            watches: WatchRegistry::default(),
            actions: VecDeque::new(),
            last_send: now,
            last_recv: now,
            alive_anchor: None,
            attempt_deadline: None,
            retry_at: None,
            close_deadline: None,
            terminal_error: None,
            epoch: 0,
            host: None,
            seen_read_write,
            rw_seeker: RwSeeker::new(),
        }
    }

    // ----- observation -----

    /// The current observable state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The session id (0 before the first handshake).
    pub fn session_id(&self) -> i64 {
        self.session_id
    }

    /// The session password, needed to resume the session from another client.
    pub fn session_passwd(&self) -> &Bytes {
        &self.passwd
    }

    /// The timeout the server granted, once known.
    pub fn negotiated_timeout(&self) -> Option<Duration> {
        self.negotiated
    }

    /// The highest zxid seen in a reply.
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// The chroot of this session.
    pub fn chroot(&self) -> &Chroot {
        &self.cfg.chroot
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Requests waiting for a connection.
    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    /// The watch registry (read-only), for diagnostics and tests.
    pub fn watches(&self) -> &WatchRegistry<W> {
        &self.watches
    }

    /// Changes whenever the machine gives up a connection or an attempt.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The next action for the driver, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The bytes to write, if any, as one buffer (all requests encoded since the last call:
    /// the driver flushes them with one write).
    pub fn take_output(&mut self) -> Option<BytesMut> {
        if self.out.is_empty() {
            None
        } else {
            Some(self.out.split())
        }
    }

    /// The instant at which [`Session::on_timeout`] must be called next, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut d: Option<Instant> = None;
        let mut add = |t: Option<Instant>| {
            if let Some(t) = t {
                d = Some(d.map_or(t, |x| x.min(t)));
            }
        };
        match self.phase {
            Phase::Terminal => return None,
            Phase::Idle => add(self.retry_at),
            Phase::Connecting | Phase::Handshaking { .. } => add(self.attempt_deadline),
            Phase::Connected => {
                let t = self.timeout();
                add(Some(self.last_send + t / 3));
                add(Some(self.last_recv + t * 2 / 3));
                add(self.rw_seeker.deadline());
            }
            Phase::Closing => add(self.close_deadline),
        }
        if self.phase != Phase::Closing {
            // Also while connected: frames that are not answers (watch events) keep a
            // connection looking alive while the server may no longer hear us.
            add(self.expiry_deadline());
        }
        if let (Some(rt), Some(q)) = (self.cfg.request_timeout, self.queued.front()) {
            add(Some(q.queued_at + rt));
        }
        d
    }

    fn timeout(&self) -> Duration {
        self.negotiated.unwrap_or(self.cfg.session_timeout)
    }

    fn expiry_deadline(&self) -> Option<Instant> {
        match (self.session_id, self.alive_anchor, self.negotiated) {
            (id, Some(a), Some(t)) if id != 0 => Some(a + t),
            _ => None,
        }
    }

    fn connect_timeout(&self) -> Duration {
        self.cfg.connect_timeout.unwrap_or_else(|| {
            (self.timeout() / self.ring.len().max(1) as u32).max(Duration::from_millis(250))
        })
    }

    fn set_state(&mut self, s: SessionState) {
        if self.state != s {
            self.state = s;
            self.actions.push_back(Action::StateChanged(s));
        }
    }

    // ----- inputs: connection lifecycle -----

    /// Starts the first connection attempt.
    pub fn start(&mut self, now: Instant) {
        if self.phase == Phase::Idle {
            self.begin_attempt(now);
        }
    }

    fn begin_attempt(&mut self, now: Instant) {
        self.epoch += 1;
        self.retry_at = None;
        self.phase = Phase::Connecting;
        self.attempt_deadline = Some(now + self.connect_timeout());
        let host = self.ring.next_host();
        self.host = Some(host.clone());
        self.actions.push_back(Action::Connect(host));
    }

    /// The TCP connection asked for by [`Action::Connect`] is up: send the handshake.
    pub fn on_connected(&mut self, now: Instant) {
        if self.phase != Phase::Connecting {
            return;
        }
        self.out.clear();
        let (session_id, passwd) = self.handshake_session();
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: self.last_zxid,
            time_out: ms(self.cfg.session_timeout),
            session_id,
            passwd,
            read_only: self.cfg.read_only,
        };
        encode_connect_frame(&mut self.out, &req);
        self.phase = Phase::Handshaking { sent_at: now };
        self.last_send = now;
        self.last_recv = now;
    }

    /// The session id and password a handshake asks for: none (a new session) until a
    /// read-write server has seen this one, since only read-write servers know sessions beyond
    /// their own (see `read_only`).
    fn handshake_session(&self) -> (i64, Bytes) {
        if self.seen_read_write || !self.cfg.read_only {
            (self.session_id, self.passwd.clone())
        } else {
            (0, Bytes::from_static(&[0u8; 16]))
        }
    }

    /// The connection attempt failed (refused, unreachable, name not resolved).
    pub fn on_connect_failed(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Connecting | Phase::Handshaking { .. }) {
            self.attempt_failed(now);
        }
    }

    fn attempt_failed(&mut self, now: Instant) {
        self.out.clear();
        self.attempt_deadline = None;
        self.phase = Phase::Idle;
        self.schedule_next_attempt(now);
    }

    /// After a failed attempt or a dropped connection: expire if the session is past saving,
    /// else try the next host at once, or after a back-off once a whole lap has failed.
    fn schedule_next_attempt(&mut self, now: Instant) {
        if self.check_client_expiry(now) {
            return;
        }
        let backoff = self.ring.failed(&mut self.rng);
        if backoff.is_zero() {
            self.begin_attempt(now);
        } else {
            self.retry_at = Some(now + backoff);
        }
    }

    /// The connection dropped (EOF, IO error, or the driver gave up on a frame). `cause` is
    /// given to the oldest in-flight request when it explains its failure (an oversized reply);
    /// everything else in flight fails with [`Error::ConnectionLoss`].
    pub fn on_connection_lost(&mut self, now: Instant, cause: Error) {
        match self.phase {
            Phase::Connecting | Phase::Handshaking { .. } => self.attempt_failed(now),
            Phase::Connected => self.drop_connection(now, cause),
            Phase::Closing => self.finish_close(),
            Phase::Idle | Phase::Terminal => {}
        }
    }

    /// Drops an established connection: fails what is in flight, reconnects to the next host.
    fn drop_connection(&mut self, now: Instant, cause: Error) {
        self.abandon_connection(now, cause);
        self.schedule_next_attempt(now);
    }

    /// Drops an established connection and fails what is in flight; the caller decides where
    /// to connect next.
    fn abandon_connection(&mut self, now: Instant, cause: Error) {
        self.epoch += 1;
        self.rw_seeker.stop();
        self.actions.push_back(Action::Disconnect);
        self.out.clear();
        self.pings.clear();
        self.set_watches_sent.clear();
        let mut first = Some(cause);
        while let Some(p) = self.inflight.pop_front() {
            let err = match first.take() {
                Some(e @ Error::FrameTooLarge { .. }) => e,
                _ => Error::ConnectionLoss,
            };
            if let Some(c) = p.completer {
                c.complete(Err(err));
            }
        }
        for w in self.auth_waiters.drain(..).filter_map(|(_, w)| w) {
            w.complete(Err(Error::ConnectionLoss));
        }
        self.phase = Phase::Idle;
        self.set_state(SessionState::Disconnected { since: now });
    }

    /// Declares the session expired when this client has not heard an answer for a request it
    /// sent within the whole negotiated timeout: by then the server may have expired it.
    fn check_client_expiry(&mut self, now: Instant) -> bool {
        match self.expiry_deadline() {
            Some(d) if now >= d => {
                self.terminate(Error::SessionExpired, SessionState::Expired);
                true
            }
            _ => false,
        }
    }

    /// Time passed: ping, time out reads and attempts, retry, expire.
    pub fn on_timeout(&mut self, now: Instant) {
        self.expire_queued(now);
        match self.phase {
            Phase::Terminal => {}
            Phase::Idle => {
                if self.check_client_expiry(now) {
                    return;
                }
                if self.retry_at.is_some_and(|t| now >= t) {
                    self.begin_attempt(now);
                }
            }
            Phase::Connecting | Phase::Handshaking { .. } => {
                if self.attempt_deadline.is_some_and(|t| now >= t) {
                    self.actions.push_back(Action::Disconnect);
                    self.attempt_failed(now);
                } else if self.expiry_deadline().is_some_and(|d| now >= d) {
                    // Abandon the attempt in progress: its socket must not outlive the session.
                    self.actions.push_back(Action::Disconnect);
                    self.check_client_expiry(now);
                }
            }
            Phase::Connected => {
                let t = self.timeout();
                // No answer to anything sent in the last session timeout: the server may have
                // expired us even if other frames kept arriving (a one-way partition with watch
                // events flowing). drop_connection declares the expiry.
                let expired = self.expiry_deadline().is_some_and(|d| now >= d);
                if expired || now >= self.last_recv + t * 2 / 3 {
                    self.drop_connection(now, Error::ConnectionLoss);
                } else {
                    if now >= self.last_send + t / 3 {
                        encode_request_frame(&mut self.out, xid::PING, &Request::Ping);
                        self.pings.push_back(now);
                        self.last_send = now;
                    }
                    if self.rw_seeker.due(now) {
                        self.probe_for_read_write();
                    }
                }
            }
            Phase::Closing => {
                if self.close_deadline.is_some_and(|t| now >= t) {
                    self.finish_close();
                }
            }
        }
    }

    /// Asks the driver to probe the next host other than the current one.
    fn probe_for_read_write(&mut self) {
        let mut host = self.ring.next_host();
        if Some(&host) == self.host.as_ref() {
            host = self.ring.next_host();
        }
        self.rw_seeker.probe_started(self.epoch);
        self.actions.push_back(Action::ProbeReadWrite {
            host,
            timeout: self.connect_timeout(),
            epoch: self.epoch,
        });
    }

    /// The answer to [`Action::ProbeReadWrite`] taken at `epoch`: whether `host` serves
    /// read-write. If it does, the session leaves its read-only server for it (requests in
    /// flight fail with [`Error::ConnectionLoss`], as on any reconnect); if not, the next probe
    /// comes later.
    pub fn on_probe_result(&mut self, now: Instant, epoch: u64, host: &HostPort, read_write: bool) {
        let on_read_only = self.phase == Phase::Connected
            && self.state == SessionState::ConnectedReadOnly
            && epoch == self.epoch
            && self.rw_seeker.awaits(epoch);
        if !on_read_only {
            return;
        }
        if !read_write {
            self.rw_seeker.probe_failed(now);
            return;
        }
        self.abandon_connection(now, Error::ConnectionLoss);
        self.ring.point_at(host);
        self.begin_attempt(now);
    }

    fn expire_queued(&mut self, now: Instant) {
        let Some(rt) = self.cfg.request_timeout else {
            return;
        };
        while self.queued.front().is_some_and(|q| now >= q.queued_at + rt) {
            let q = self.queued.pop_front().expect("front checked");
            q.completer.complete(Err(Error::Timeout));
        }
    }

    // ----- inputs: frames -----

    /// One complete frame (without its length prefix) arrived.
    pub fn on_frame(&mut self, now: Instant, mut frame: Bytes) {
        self.last_recv = now;
        match self.phase {
            Phase::Handshaking { sent_at } => self.on_handshake(now, sent_at, &mut frame),
            Phase::Connected | Phase::Closing => self.on_reply(now, &mut frame),
            _ => {}
        }
    }

    fn on_handshake(&mut self, now: Instant, sent_at: Instant, frame: &mut Bytes) {
        let resp = match decode_connect_reply(frame) {
            Ok(ConnectReply::Accepted(r)) => r,
            // A read-only server refusing us, or garbage: try the next host.
            Ok(ConnectReply::Rejected(_)) | Err(_) => {
                self.actions.push_back(Action::Disconnect);
                self.attempt_failed(now);
                return;
            }
        };
        let (asked, _) = self.handshake_session();
        let resumed_other = asked != 0 && resp.session_id != asked;
        if resp.time_out <= 0 || resp.session_id == 0 || resumed_other {
            self.actions.push_back(Action::Disconnect);
            self.terminate(Error::SessionExpired, SessionState::Expired);
            return;
        }
        if asked == 0 && self.session_id != 0 && resp.session_id != self.session_id {
            // A new session replaces a read-only one: the old one's liveness says nothing.
            self.alive_anchor = None;
        }
        self.session_id = resp.session_id;
        self.passwd = resp.passwd;
        self.negotiated = Some(Duration::from_millis(resp.time_out as u64));
        self.alive_anchor = Some(self.alive_anchor.map_or(sent_at, |a| a.max(sent_at)));
        self.attempt_deadline = None;
        self.ring.succeeded();
        self.phase = Phase::Connected;
        if resp.read_only {
            self.set_state(SessionState::ConnectedReadOnly);
            if self.ring.len() > 1 {
                self.rw_seeker.start(now);
            }
        } else {
            self.seen_read_write = true;
            self.rw_seeker.stop();
            self.set_state(SessionState::Connected);
        }
        // Order matters: credentials first (so re-registered watches pass ACL checks), then
        // watches (so no event between the two is missed), then queued requests.
        for (scheme, auth) in self.cfg.auth.clone() {
            self.write_auth(now, scheme, auth);
            self.auth_waiters.push_back((now, None));
        }
        for batch in self.watches.set_watches_batches(self.last_zxid) {
            let req = match batch {
                SetWatchesBatch::V1(b) => Request::SetWatches(b),
                SetWatchesBatch::V2(b) => Request::SetWatches2(b),
            };
            encode_request_frame(&mut self.out, xid::SET_WATCHES, &req);
            self.set_watches_sent.push_back(now);
        }
        while let Some(q) = self.queued.pop_front() {
            self.send(now, q.request, q.watch, q.completer);
        }
        self.last_send = now;
    }

    fn write_auth(&mut self, now: Instant, scheme: String, auth: Bytes) {
        let req = Request::Auth(AuthPacket {
            type_: 0,
            scheme,
            auth,
        });
        encode_request_frame(&mut self.out, xid::AUTH, &req);
        self.last_send = now;
    }

    fn on_reply(&mut self, now: Instant, frame: &mut Bytes) {
        let header = match ReplyHeader::decode(frame) {
            Ok(h) => h,
            Err(e) => return self.protocol_violation(now, format!("bad reply header: {e}")),
        };
        // Only a reply that fits the stream may move lastZxid: the zxid of an out-of-sync frame
        // is noise, and a too-high one would make every server refuse this client.
        let in_sync = match header.xid {
            xid::NOTIFICATION => true,
            // Replies to our own pings, credentials and watch re-registrations: only as many
            // as we sent. One more means the stream is not what we think it is.
            xid::PING => !self.pings.is_empty(),
            xid::AUTH => !self.auth_waiters.is_empty(),
            xid::SET_WATCHES => !self.set_watches_sent.is_empty(),
            x => self.inflight.front().is_some_and(|p| p.xid == x),
        };
        if in_sync && header.zxid > self.last_zxid {
            self.last_zxid = header.zxid;
        }
        if !in_sync && matches!(header.xid, xid::PING | xid::AUTH | xid::SET_WATCHES) {
            let msg = format!("unsolicited reply with xid {}", header.xid);
            return self.protocol_violation(now, msg);
        }
        match header.xid {
            xid::NOTIFICATION => match WatcherEvent::decode(frame) {
                Ok(ev) if ev.type_ == crate::proto::watcher_event_type::NONE => {}
                Ok(ev) => self.watches.dispatch(&ev, &self.cfg.chroot),
                Err(e) => self.protocol_violation(now, format!("bad notification: {e}")),
            },
            xid::PING => {
                if let Some(sent) = self.pings.pop_front() {
                    self.anchor(sent);
                }
            }
            xid::AUTH => {
                let (sent, waiter) = self.auth_waiters.pop_front().unzip();
                let waiter = waiter.flatten();
                if header.err == ErrorCode::AuthFailed {
                    if let Some(w) = waiter {
                        w.complete(Err(Error::AuthFailed));
                    }
                    self.actions.push_back(Action::Disconnect);
                    self.terminate(Error::AuthFailed, SessionState::AuthFailed);
                } else {
                    if let Some(sent) = sent {
                        self.anchor(sent);
                    }
                    if let Some(w) = waiter {
                        w.complete(if header.err == ErrorCode::Ok {
                            Ok(Response::Empty)
                        } else {
                            Err(Error::from_code(header.err))
                        });
                    }
                }
            }
            xid::SET_WATCHES => {
                if let Some(sent) = self.set_watches_sent.pop_front() {
                    self.anchor(sent);
                }
            }
            x => self.on_user_reply(now, x, header.err, frame),
        }
    }

    fn anchor(&mut self, sent: Instant) {
        self.alive_anchor = Some(self.alive_anchor.map_or(sent, |a| a.max(sent)));
    }

    fn on_user_reply(&mut self, now: Instant, x: i32, err: ErrorCode, body: &mut Bytes) {
        if self.inflight.front().map(|p| p.xid) != Some(x) {
            let expected = self.inflight.front().map(|p| p.xid);
            return self.protocol_violation(now, format!("reply xid {x}, expected {expected:?}"));
        }
        let p = self.inflight.pop_front().expect("front checked");
        self.anchor(p.sent_at);
        if p.op == OpCode::CloseSession {
            return self.finish_close();
        }
        let result = if err != ErrorCode::Ok {
            if let (ErrorCode::NoNode, Some(w)) = (err, p.watch) {
                if p.op == OpCode::Exists {
                    self.watches.add(WatchKind::Exist, w.path, w.sink);
                }
            }
            Err(Error::from_code(err))
        } else {
            match Response::decode(p.op, body) {
                Ok(resp) => {
                    if let Some(w) = p.watch {
                        self.watches.add(w.kind, w.path, w.sink);
                    }
                    match p.remove.map(|b| *b) {
                        // A 3.8.0 server answers checkWatches with OK when any connection of
                        // that server watches the path: only this session's registry knows.
                        Some((path, t)) if p.op == OpCode::CheckWatches => {
                            if self.watches.contains(&path, t) {
                                Ok(resp)
                            } else {
                                Err(Error::Server(ErrorCode::NoWatcher))
                            }
                        }
                        Some((path, t)) => {
                            self.watches.remove(&path, t, &self.cfg.chroot);
                            Ok(resp)
                        }
                        None => Ok(resp),
                    }
                }
                Err(e) => {
                    let msg = format!("undecodable {:?} reply: {e}", p.op);
                    if let Some(c) = p.completer {
                        c.complete(Err(Error::Protocol(msg.clone())));
                    }
                    return self.protocol_violation(now, msg);
                }
            }
        };
        if let Some(c) = p.completer {
            c.complete(result);
        }
    }

    fn protocol_violation(&mut self, now: Instant, _why: String) {
        // The stream can no longer be trusted: drop it; the session itself may be fine.
        self.drop_connection(now, Error::ConnectionLoss);
    }

    // ----- inputs: user requests -----

    /// Submits a request with client-visible paths already mapped to server paths (see
    /// [`Chroot::apply`]). `watch` asks for a registration if the reply allows it: `Data` for
    /// `getData` (and `exists`, which registers `Exist` instead on NoNode), `Child` for
    /// `getChildren`, the persistent kinds for `addWatch`.
    pub fn submit(
        &mut self,
        now: Instant,
        request: Request,
        watch: Option<(WatchKind, W)>,
        completer: C,
    ) {
        if let Some(err) = &self.terminal_error {
            return completer.complete(Err(err.clone()));
        }
        if self.phase == Phase::Closing {
            return completer.complete(Err(Error::Closed));
        }
        if let Request::Auth(a) = &request {
            // Remembered so it is re-sent after every reconnect.
            self.cfg.auth.push((a.scheme.clone(), a.auth.clone()));
            if self.phase == Phase::Connected {
                let Request::Auth(a) = request else {
                    unreachable!()
                };
                self.write_auth(now, a.scheme, a.auth);
                self.auth_waiters.push_back((now, Some(completer)));
            } else {
                // Sent with the other credentials once connected.
                completer.complete(Ok(Response::Empty));
            }
            return;
        }
        match self.phase {
            Phase::Connected => self.send(now, request, watch, completer),
            Phase::Closing => completer.complete(Err(Error::Closed)),
            _ => {
                if self.queued.len() >= self.cfg.max_queued {
                    return completer.complete(Err(Error::QueueFull(self.queued.len())));
                }
                self.queued.push_back(Queued {
                    request,
                    watch,
                    completer,
                    queued_at: now,
                });
            }
        }
    }

    /// Sets the next user xid, so tests can reach the wrap at `i32::MAX` without billions of
    /// submits.
    #[cfg(test)]
    pub(crate) fn set_next_xid_for_test(&mut self, x: i32) {
        self.next_xid = x;
    }

    fn next_xid(&mut self) -> i32 {
        let x = self.next_xid;
        self.next_xid = if x == i32::MAX { 1 } else { x + 1 };
        x
    }

    fn send(
        &mut self,
        now: Instant,
        request: Request,
        watch: Option<(WatchKind, W)>,
        completer: C,
    ) {
        let x = self.next_xid();
        let start = self.out.len();
        encode_request_frame(&mut self.out, x, &request);
        // The server drops the connection, without a word, on a frame above jute.maxbuffer:
        // refuse such a request here, with an error that says why, and keep the connection.
        let len = self.out.len() - start - 4;
        if len > crate::proto::DEFAULT_MAX_BUFFER {
            self.out.truncate(start);
            return completer.complete(Err(Error::FrameTooLarge {
                len,
                max: crate::proto::DEFAULT_MAX_BUFFER,
            }));
        }
        let path = || request.path().unwrap_or("/").to_string();
        let watch = watch.map(|(kind, sink)| {
            Box::new(PendingWatch {
                kind,
                path: path(),
                sink,
            })
        });
        let remove = match &request {
            Request::RemoveWatches(r) | Request::CheckWatches(r) => {
                Some(Box::new((r.path.clone(), r.type_)))
            }
            _ => None,
        };
        self.inflight.push_back(InFlight {
            xid: x,
            op: request.op_code(),
            sent_at: now,
            watch,
            remove,
            completer: Some(completer),
        });
        self.last_send = now;
    }

    /// Closes the session: sends closeSession if connected (so the server removes ephemeral
    /// nodes at once) and waits for its reply up to a short deadline; fails queued requests
    /// with [`Error::Closed`].
    pub fn close(&mut self, now: Instant) {
        for q in self.queued.drain(..) {
            q.completer.complete(Err(Error::Closed));
        }
        match self.phase {
            Phase::Connected => {
                let x = self.next_xid();
                encode_request_frame(&mut self.out, x, &Request::CloseSession);
                self.inflight.push_back(InFlight {
                    xid: x,
                    op: OpCode::CloseSession,
                    sent_at: now,
                    watch: None,
                    remove: None,
                    completer: None,
                });
                self.phase = Phase::Closing;
                self.close_deadline = Some(now + (self.timeout() / 3).min(Duration::from_secs(2)));
            }
            Phase::Closing | Phase::Terminal => {}
            _ => {
                self.actions.push_back(Action::Disconnect);
                self.terminate(Error::Closed, SessionState::Closed);
            }
        }
    }

    fn finish_close(&mut self) {
        self.actions.push_back(Action::Disconnect);
        self.terminate(Error::Closed, SessionState::Closed);
    }

    /// Enters a terminal state: fails everything pending and every watch with `err`.
    fn terminate(&mut self, err: Error, state: SessionState) {
        self.epoch += 1;
        self.rw_seeker.stop();
        self.phase = Phase::Terminal;
        self.out.clear();
        self.attempt_deadline = None;
        self.retry_at = None;
        self.close_deadline = None;
        self.pings.clear();
        self.set_watches_sent.clear();
        for p in self.inflight.drain(..) {
            if let Some(c) = p.completer {
                c.complete(Err(err.clone()));
            }
        }
        for q in self.queued.drain(..) {
            q.completer.complete(Err(err.clone()));
        }
        for w in self.auth_waiters.drain(..).filter_map(|(_, w)| w) {
            w.complete(Err(err.clone()));
        }
        self.watches.fail_all(&err);
        self.terminal_error = Some(err);
        self.set_state(state);
    }

    /// The error every call fails with once the session is terminal.
    pub fn terminal_error(&self) -> Option<&Error> {
        self.terminal_error.as_ref()
    }
}
