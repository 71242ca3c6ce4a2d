//! The driver task: owns the TCP stream and the timer, feeds the session state machine, and
//! carries its outputs out (bytes to the socket, results to oneshot channels, events to watch
//! channels).
//!
//! One task per client, no locks shared with callers: commands arrive over an unbounded mpsc
//! channel; all commands waiting at a wake-up are encoded into one buffer and flushed together.

use super::coalesce::{self, LowWater};
use super::lease::LeaseCell;
use super::sink::{Reply, Sink};
use crate::error::Error;
use crate::proto::{take_frame, FrameError, Request};
use crate::session::{Action, HostPort, Session, SessionState, WatchKind};
use bytes::{Buf, BytesMut};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};

/// A message from a `Client` handle to its driver.
pub(crate) enum Command {
    /// Send a request; the result goes to `reply`. The request is boxed so that a command
    /// (a channel slot) stays small when thousands are queued at once.
    Request {
        request: Box<Request>,
        watch: Option<(WatchKind, Sink)>,
        reply: Reply,
    },
    /// Subscribe to every state transition.
    SubscribeStates(mpsc::UnboundedSender<SessionState>),
    /// Run this future on the driver's runtime (a clean-up handed over from a `Drop` that may
    /// have no runtime of its own); a close waits for it (see [`BACKGROUND_CLOSE_WAIT`]).
    Background(BackgroundTask),
    /// Report how many watch registrations the session holds.
    WatchCount(oneshot::Sender<usize>),
    /// Close the session (closeSession, then drop the connection).
    Close,
}

/// A future handed to the driver by [`Command::Background`].
pub(crate) type BackgroundTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How long a close waits for background tasks (queued clean-up deletes) to finish before it
/// closes the session anyway (closing removes the session's ephemeral nodes in any case).
pub(crate) const BACKGROUND_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Tells the driver that a background task ended, also if it panicked or its runtime dropped it.
struct BackgroundDone(mpsc::UnboundedSender<()>);

impl Drop for BackgroundDone {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

type ConnectFuture = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>;

/// Commands handled per wake-up before flushing: bounds latency under a flood of requests.
const MAX_COMMANDS_PER_WAKE: usize = 4096;
/// Read size: many replies per read; small enough that an idle client holds little memory.
const READ_CHUNK: usize = 16 * 1024;
/// Timer setting when the session has nothing to time (terminal).
const IDLE: std::time::Duration = std::time::Duration::from_secs(3600);

pub(crate) struct Driver {
    pub(crate) session: Session<Reply, Sink>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) state: watch::Sender<SessionState>,
    /// Session id, password and negotiated timeout, published at every (re)connect.
    pub(crate) session_info: watch::Sender<Option<(i64, bytes::Bytes, std::time::Duration)>>,
    pub(crate) max_frame: usize,
    /// Whether deep pipelines read their replies in batches (see `coalesce`).
    pub(crate) coalesce_replies: bool,
    /// Where the session's lease is published for the handles.
    pub(crate) lease: Arc<LeaseCell>,
}

/// Background tasks in flight and a close that waits for them.
struct Background {
    running: usize,
    done_tx: mpsc::UnboundedSender<()>,
    /// A close was asked for while tasks ran: it happens when they are done or at this instant.
    close_at: Option<Instant>,
}

fn connect(host: HostPort) -> ConnectFuture {
    Box::pin(open(host))
}

/// A TCP connection to `host`, without Nagle's delay.
pub(crate) async fn open(host: HostPort) -> io::Result<TcpStream> {
    // An IP literal needs no resolver: connecting directly avoids tokio's blocking pool
    // (a thread) for the common `127.0.0.1:2181` style of host list.
    let stream = match host.host.parse::<std::net::IpAddr>() {
        Ok(ip) => TcpStream::connect((ip, host.port)).await?,
        Err(_) => TcpStream::connect((host.host.as_str(), host.port)).await?,
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl Driver {
    pub(crate) async fn run(mut self) {
        let mut stream: Option<TcpStream> = None;
        let mut connecting: Option<ConnectFuture> = None;
        let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
        let mut wbuf = BytesMut::new();
        let mut subscribers: Vec<mpsc::UnboundedSender<SessionState>> = Vec::new();
        let mut commands_open = true;
        // Answers of read-write probes (see `probe`): (epoch, host, serves read-write).
        let (probe_tx, mut probe_rx) = mpsc::unbounded_channel::<(u64, HostPort, bool)>();
        let sleep = tokio::time::sleep(IDLE);
        tokio::pin!(sleep);
        // Reply coalescing (see `coalesce`): the connection's low-water mark and its fallback.
        let mut low_water = LowWater::new(self.coalesce_replies);
        let fallback = tokio::time::sleep(IDLE);
        tokio::pin!(fallback);
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        let mut background = Background {
            running: 0,
            done_tx,
            close_at: None,
        };
        let close_wait = tokio::time::sleep(IDLE);
        tokio::pin!(close_wait);
        let mut published = None;
        self.session.start(Instant::now());

        loop {
            let lease = self.session.valid_until();
            if lease != published {
                self.lease.publish(lease);
                published = lease;
            }
            // Carry out what the session asked for.
            while let Some(action) = self.session.poll_action() {
                match action {
                    Action::Connect(host) => {
                        stream = None;
                        rbuf.clear();
                        wbuf.clear();
                        connecting = Some(connect(host));
                    }
                    Action::Disconnect => {
                        stream = None;
                        connecting = None;
                        rbuf.clear();
                        wbuf.clear();
                    }
                    Action::ProbeReadWrite {
                        host,
                        timeout,
                        epoch,
                    } => {
                        let tx = probe_tx.clone();
                        tokio::spawn(async move {
                            let probe = super::probe::serves_read_write(host.clone());
                            let rw = tokio::time::timeout(timeout, probe).await.unwrap_or(false);
                            let _ = tx.send((epoch, host, rw));
                        });
                    }
                    Action::StateChanged(s) => {
                        if s.is_connected() {
                            let info = (
                                self.session.session_id(),
                                self.session.session_passwd().clone(),
                                self.session.negotiated_timeout().unwrap_or_default(),
                            );
                            self.session_info.send_replace(Some(info));
                        }
                        self.state.send_replace(s);
                        subscribers.retain(|tx| tx.send(s).is_ok());
                    }
                }
            }
            if self.session.state().is_terminal() && !commands_open {
                return;
            }
            // Move newly encoded requests to the write buffer and try to write at once.
            if let Some(out) = self.session.take_output() {
                if wbuf.is_empty() {
                    wbuf = out;
                } else {
                    wbuf.extend_from_slice(&out);
                }
            }
            if let Some(s) = &stream {
                if !wbuf.is_empty() && try_write(s, &mut wbuf).is_err() {
                    // Drop the socket here, like the other failure paths: the session may ask
                    // for no Disconnect (a failed handshake that backs off), and a socket left
                    // in place would fail this write again at once, forever.
                    stream = None;
                    wbuf.clear();
                    self.session
                        .on_connection_lost(Instant::now(), Error::ConnectionLoss);
                    continue;
                }
            }
            // Re-arm the timer only when the session wants to be woken earlier than it is set
            // for: the ping deadline moves later with every send, and resetting the timer on
            // every request would cost a timer-wheel update each. Waking early is harmless
            // (on_timeout checks the clock and the timer is re-armed then).
            let wanted = self
                .session
                .next_deadline()
                .unwrap_or_else(|| Instant::now() + IDLE);
            if wanted < sleep.deadline().into_std() || sleep.is_elapsed() {
                sleep.as_mut().reset(tokio::time::Instant::from_std(wanted));
            }
            let want_write = !wbuf.is_empty();

            tokio::select! {
                biased;
                res = async { connecting.as_mut().expect("guarded").await }, if connecting.is_some() => {
                    connecting = None;
                    let now = Instant::now();
                    match res {
                        Ok(s) => {
                            stream = Some(s);
                            low_water = LowWater::new(self.coalesce_replies);
                            self.session.on_connected(now);
                        }
                        Err(_) => self.session.on_connect_failed(now),
                    }
                }
                ready = async { stream.as_ref().expect("guarded").readable().await }, if stream.is_some() => {
                    if ready.is_err() {
                        stream = None;
                        self.session.on_connection_lost(Instant::now(), Error::ConnectionLoss);
                        continue;
                    }
                    let s = stream.as_ref().expect("guarded");
                    let epoch = self.session.epoch();
                    if let Err(cause) = self.read_frames(s, &mut rbuf) {
                        stream = None;
                        rbuf.clear();
                        self.session.on_connection_lost(Instant::now(), cause);
                    } else if self.session.epoch() == epoch {
                        // (Not for a connection the session dropped while reading.)
                        low_water.adjust(s, self.session.in_flight());
                        if low_water.raised() {
                            fallback.as_mut().reset(tokio::time::Instant::now() + coalesce::FALLBACK);
                        }
                    }
                }
                () = &mut fallback, if low_water.raised() && stream.is_some() => {
                    // Replies have waited long enough: the kernel signals what has queued.
                    low_water.lower(stream.as_ref().expect("guarded"));
                }
                ready = async { stream.as_ref().expect("guarded").writable().await }, if stream.is_some() && want_write => {
                    let s = stream.as_ref().expect("guarded");
                    if ready.is_err() || try_write(s, &mut wbuf).is_err() {
                        stream = None;
                        self.session.on_connection_lost(Instant::now(), Error::ConnectionLoss);
                    }
                }
                cmd = self.commands.recv(), if commands_open => {
                    let now = Instant::now();
                    match cmd {
                        Some(c) => {
                            self.handle(now, c, &mut subscribers, &mut background);
                            // Drain what else is waiting: one flush for all of it.
                            for _ in 0..MAX_COMMANDS_PER_WAKE {
                                match self.commands.try_recv() {
                                    Ok(c) => self.handle(now, c, &mut subscribers, &mut background),
                                    Err(_) => break,
                                }
                            }
                            if let Some(at) = background.close_at {
                                close_wait.as_mut().reset(tokio::time::Instant::from_std(at));
                            }
                        }
                        None => {
                            // Every handle is gone (so no background task is left either: each
                            // holds one): close the session so its ephemerals go.
                            commands_open = false;
                            self.session.close(now);
                        }
                    }
                }
                Some(()) = done_rx.recv() => {
                    background.running -= 1;
                    if background.running == 0 && background.close_at.take().is_some() {
                        self.session.close(Instant::now());
                    }
                }
                () = &mut close_wait, if background.close_at.is_some() => {
                    background.close_at = None;
                    self.session.close(Instant::now());
                }
                Some((epoch, host, rw)) = probe_rx.recv() => {
                    self.session.on_probe_result(Instant::now(), epoch, &host, rw);
                }
                () = &mut sleep => {
                    self.session.on_timeout(Instant::now());
                }
            }
        }
    }

    fn handle(
        &mut self,
        now: Instant,
        cmd: Command,
        subs: &mut Vec<mpsc::UnboundedSender<SessionState>>,
        background: &mut Background,
    ) {
        match cmd {
            Command::Request {
                request,
                watch,
                reply,
            } => self.session.submit(now, *request, watch, reply),
            Command::SubscribeStates(tx) => {
                if tx.send(self.session.state()).is_ok() {
                    subs.push(tx);
                }
            }
            Command::Background(task) => {
                background.running += 1;
                let done = BackgroundDone(background.done_tx.clone());
                tokio::spawn(async move {
                    let _done = done;
                    task.await;
                });
            }
            Command::WatchCount(tx) => {
                let _ = tx.send(self.session.watches().len());
            }
            // Queued clean-up first: its deletes go out before closeSession.
            Command::Close if background.running > 0 => {
                background
                    .close_at
                    .get_or_insert(now + BACKGROUND_CLOSE_WAIT);
            }
            Command::Close => self.session.close(now),
        }
    }

    /// Reads what is available and hands each complete frame to the session, chunk by chunk
    /// (so a flooding peer cannot make the buffer grow before anything is parsed).
    ///
    /// Frames that arrived just before an EOF or a read error are handed over before the loss
    /// is reported: a server often answers and then closes (auth failure, expired session,
    /// closeSession), and that last answer is the one that matters.
    fn read_frames(&mut self, s: &TcpStream, rbuf: &mut BytesMut) -> Result<(), Error> {
        let epoch = self.session.epoch();
        loop {
            if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
                rbuf.reserve(READ_CHUNK);
            }
            let lost = match s.try_read_buf(rbuf) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => true,
            };
            let now = Instant::now();
            loop {
                match take_frame(rbuf, self.max_frame) {
                    Ok(Some(frame)) => {
                        self.session.on_frame(now, frame);
                        if self.session.epoch() != epoch {
                            // The session dropped this connection (protocol violation, expiry):
                            // what is left in the buffer belongs to a stream we no longer trust.
                            rbuf.clear();
                            return Ok(());
                        }
                    }
                    Ok(None) => break,
                    Err(FrameError::TooLarge { len, max }) => {
                        return Err(Error::FrameTooLarge { len, max })
                    }
                    Err(_) => return Err(Error::ConnectionLoss),
                }
            }
            if lost {
                return Err(Error::ConnectionLoss);
            }
        }
    }
}

fn try_write(s: &TcpStream, wbuf: &mut BytesMut) -> io::Result<()> {
    while !wbuf.is_empty() {
        match s.try_write(wbuf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => wbuf.advance(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
