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
//!
//! Where things are: this file holds the types and what can be observed; `handshake` the
//! ConnectRequest/ConnectResponse exchange, `connection` attempts, drops, timers and expiry,
//! `replies` frames from the server, `requests` what the user submits and the terminal state;
//! `hosts` the host list and back-off, `watches` the watch registry and SetWatches batches,
//! `read_only` the search for a read-write server, `chroot`, `event` and `state` the small
//! types their names say.

mod chroot;
mod connection;
mod event;
mod handshake;
mod hosts;
mod lease;
mod read_only;
mod replies;
mod requests;
// Without the `sasl` feature nothing outside the tests makes a mechanism.
#[cfg(feature = "sasl")]
mod digest_md5;
#[cfg(feature = "gssapi")]
mod gssapi;
#[cfg_attr(not(feature = "sasl"), allow(dead_code, unused_imports))]
mod sasl;
mod state;
mod watches;

#[cfg(test)]
mod tests;

pub use chroot::Chroot;
#[cfg(feature = "sasl")]
pub use digest_md5::DigestMd5;
pub use event::{EventType, WatchedEvent};
#[cfg(feature = "gssapi")]
pub use gssapi::{Gssapi, SERVICE as GSSAPI_SERVICE};
pub use hosts::{parse_connect_string, HostPort, HostRing, Rng};
#[cfg(test)]
pub use sasl::SaslStep;
#[cfg_attr(not(feature = "sasl"), allow(unused_imports))]
pub use sasl::{SaslConfig, SaslMechanism};
pub use state::SessionState;
#[cfg(test)]
pub use watches::SET_WATCHES_BATCH_BYTES;
pub use watches::{SetWatchesBatch, WatchKind, WatchRegistry, WatchSink};

use crate::error::{ConnectionError, Error, Unreachable};
use crate::proto::{
    decode_connect_reply, encode_connect_frame, encode_request_frame, xid, AuthPacket,
    ConnectReply, ConnectRequest, Decode, ErrorCode, OpCode, ReplyHeader, Request, Response,
    WatcherEvent,
};
use bytes::{Bytes, BytesMut};
use lease::Lease;
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
    /// A SASL exchange run after every ConnectResponse, before anything else (see `sasl`).
    pub sasl: Option<SaslConfig>,
    /// Client-side path prefix.
    pub chroot: Chroot,
    /// Seed for host shuffling and jitter.
    pub seed: u64,
    /// An existing session (id, password) to attach to instead of creating a new one.
    pub resume: Option<(i64, Bytes)>,
    /// The servers' `syncLimit × tickTime`, or zero: how long a server cut off from the leader
    /// (or with a stalled leader) may go on answering. A contact counts for the lease only once
    /// a request sent this much later than `forward_bound` after its answer was answered (see
    /// `lease`).
    pub server_sync_limit: Duration,
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
            sasl: None,
            chroot: Chroot::default(),
            seed: 1,
            resume: None,
            server_sync_limit: Duration::ZERO,
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
    /// Session accepted, SASL exchange under way (see `sasl`); still part of the attempt.
    Authenticating,
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
    /// When the last ping (or the handshake) was sent: pings keep a steady pace whatever else
    /// is sent (see `ping_interval`).
    last_ping: Instant,
    last_recv: Instant,
    /// Send instant of the latest request the server answered: the server's session clock was
    /// reset no earlier than this, so it cannot expire the session before `anchor + timeout`.
    alive_anchor: Option<Instant>,
    /// Contacts the leader must know of: the lease (see `lease`).
    lease: Lease,
    /// When the current connect attempt (TCP + handshake) started and when it times out.
    attempt_started: Instant,
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
    /// The SASL exchange of the current connection, while one runs.
    sasl: Option<sasl::SaslRun>,
}

/// How often the client pings: every sixth of the session timeout, whatever else it sends (the
/// reference client pings after a third of silence). The read timeout (2T/3 without a frame)
/// needs much less; the lease needs more: a contact counts for it only once a request sent a
/// quarter timeout after its answer was answered (see `lease`), so the steady pings keep the
/// lease about T/2 ahead on an idle connection, keep one slow answer (up to about T/2) from
/// letting it run out, and fill the gaps of one-at-a-time traffic over a slow link.
pub fn ping_interval(timeout: Duration) -> Duration {
    timeout / 6
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
            last_ping: now,
            last_recv: now,
            alive_anchor: None,
            lease: Lease::default(),
            attempt_started: now,
            attempt_deadline: None,
            retry_at: None,
            close_deadline: None,
            terminal_error: None,
            epoch: 0,
            host: None,
            seen_read_write,
            rw_seeker: RwSeeker::new(),
            sasl: None,
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

    /// The latest instant before which no server can have expired this session, judged from
    /// the contacts the servers answered (see `lease` for the derivation); `None` before the
    /// first handshake. It only moves forward while the session lives.
    pub fn valid_until(&self) -> Option<Instant> {
        self.lease.valid_until(self.negotiated?)
    }

    /// The highest zxid seen in a reply.
    #[cfg(test)]
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Requests waiting for a connection.
    #[cfg(test)]
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
            Phase::Connecting | Phase::Handshaking { .. } | Phase::Authenticating => {
                add(self.attempt_deadline)
            }
            Phase::Connected => {
                let t = self.timeout();
                add(Some(self.last_ping + ping_interval(t)));
                add(Some(self.last_recv + t * 2 / 3));
                add(self.answer_deadline());
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

    /// Whether the next handshake asks for this session again (see `read_only`: a session only
    /// a read-only server knows is replaced, not resumed).
    fn resumes_session(&self) -> bool {
        self.seen_read_write || !self.cfg.read_only
    }

    /// When the client must judge the session expired on its own clock. Never for a session
    /// that will not be resumed anyway: it owns no ephemeral nodes (a read-only server takes
    /// no writes), and its watches go over to the new session.
    fn expiry_deadline(&self) -> Option<Instant> {
        self.answer_deadline().filter(|_| self.resumes_session())
    }

    /// A session timeout after the send time of the latest request the server answered: a
    /// connection with no answer by then is dropped even if other frames keep arriving.
    fn answer_deadline(&self) -> Option<Instant> {
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
            crate::trace::debug!("session 0x{:x}: {:?} -> {s:?}", self.session_id, self.state);
            self.state = s;
            self.actions.push_back(Action::StateChanged(s));
        }
    }

    /// Sets the next user xid, so tests can reach the wrap at `i32::MAX` without billions of
    /// submits.
    #[cfg(test)]
    pub(crate) fn set_next_xid_for_test(&mut self, x: i32) {
        self.next_xid = x;
    }
}
