//! The driver task, in the manner of tokio-postgres' `Connection`: a [`Driver`] owns the
//! session state machine, the socket ([`Transport`]) and the timers. Its loop carries out what
//! the session asked for, flushes, waits for the next [`Event`] and hands it to one small
//! method: an action of the session, a socket that became readable or writable, a command of
//! a handle, a timer.
//!
//! One task per client, no locks shared with callers: commands arrive over an unbounded mpsc
//! channel; all commands waiting at a wake-up are encoded into one buffer and flushed together.

use super::command::{Background, Command};
use super::options::ConnectOptions;
use super::probe::{self, ProbeResult};
use super::publish::Publisher;
use super::sink::{Reply, Sink};
use super::socket::{Connector, Opened};
use super::transport::Transport;
use crate::error::ConnectionError;
use crate::session::{Action, Session};
use std::io;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::time::Sleep;

/// Commands handled per wake-up before flushing: bounds latency under a flood of requests.
const MAX_COMMANDS_PER_WAKE: usize = 4096;
/// Timer setting when nothing is to be timed (a terminal session, no close waiting).
const IDLE: Duration = Duration::from_secs(3600);

/// One client's connection task: everything the loop needs between wake-ups.
pub(crate) struct Driver {
    session: Session<Reply, Sink>,
    commands: mpsc::UnboundedReceiver<Command>,
    /// False once every handle is gone.
    commands_open: bool,
    transport: Transport,
    /// Opens connections (TCP, or TLS over it) for the session and for probes.
    connector: Connector,
    publisher: Publisher,
    background: Background,
    /// Answers of read-write probes (see `probe`).
    probe_tx: mpsc::UnboundedSender<ProbeResult>,
    probe_rx: mpsc::UnboundedReceiver<ProbeResult>,
    /// The session's next deadline.
    timer: Pin<Box<Sleep>>,
    /// When a close stops waiting for background tasks.
    close_wait: Pin<Box<Sleep>>,
}

/// What woke the driver.
enum Event {
    Connected(Result<Opened, ConnectionError>),
    Readable(io::Result<()>),
    /// Held-back replies have waited long enough (see `coalesce`).
    CoalesceFallback,
    Writable(io::Result<()>),
    /// A command, or `None` when every handle is gone.
    Command(Option<Command>),
    BackgroundDone,
    CloseWait,
    Probe(ProbeResult),
    Timer,
}

/// A timer that does not fire for a long while (re-armed when there is something to time).
fn idle() -> Sleep {
    tokio::time::sleep(IDLE)
}

impl Driver {
    /// A driver for `session`, taking commands from `commands` and publishing through
    /// `publisher`; nothing happens until [`Driver::run`].
    pub(crate) fn new(
        session: Session<Reply, Sink>,
        commands: mpsc::UnboundedReceiver<Command>,
        publisher: Publisher,
        options: &ConnectOptions,
        connector: Connector,
    ) -> Driver {
        let (probe_tx, probe_rx) = mpsc::unbounded_channel();
        Driver {
            session,
            commands,
            commands_open: true,
            transport: Transport::new(options.coalesce_replies, options.max_frame, idle()),
            connector,
            publisher,
            background: Background::new(),
            probe_tx,
            probe_rx,
            timer: Box::pin(idle()),
            close_wait: Box::pin(idle()),
        }
    }

    /// Runs until the session is over and every handle is gone.
    pub(crate) async fn run(mut self) {
        self.session.start(Instant::now());
        loop {
            self.publisher.lease(&self.session);
            while let Some(action) = self.session.poll_action() {
                self.on_action(action);
            }
            if self.session.state().is_terminal() && !self.commands_open {
                return;
            }
            if let Err(reason) = self.write() {
                // Drop the socket here, like the other failure paths: the session may ask for
                // no Disconnect (a failed handshake that backs off), and a socket left in place
                // would fail this write again at once, forever.
                self.lose_connection(reason);
                continue;
            }
            self.arm_timer();
            let event = self.next_event().await;
            self.on_event(event);
        }
    }

    /// Moves newly encoded requests to the write buffer and writes what the socket takes.
    fn write(&mut self) -> Result<(), ConnectionError> {
        if let Some(out) = self.session.take_output() {
            self.transport.queue(out);
        }
        self.transport.flush()
    }

    /// Re-arms the timer only when the session wants to be woken earlier than it is set for:
    /// the ping deadline moves later with every send, and resetting the timer on every request
    /// would cost a timer-wheel update each. Waking early is harmless (`on_timeout` checks the
    /// clock and the timer is re-armed then).
    fn arm_timer(&mut self) {
        let wanted = self
            .session
            .next_deadline()
            .unwrap_or_else(|| Instant::now() + IDLE);
        if wanted < self.timer.deadline().into_std() || self.timer.is_elapsed() {
            self.timer.as_mut().reset(wanted.into());
        }
    }

    /// Waits for the next thing to handle, polled in the order written (`biased`): a finished
    /// connect, the socket, commands, background and probe answers, the session's timer last.
    async fn next_event(&mut self) -> Event {
        let want_write = self.transport.wants_write();
        let Transport {
            stream,
            connecting,
            low_water,
            fallback,
            ..
        } = &mut self.transport;
        let (stream, raised) = (&*stream, low_water.raised());
        tokio::select! {
            biased;
            res = async { connecting.as_mut().expect("guarded").await }, if connecting.is_some() => {
                Event::Connected(res)
            }
            ready = async { stream.as_ref().expect("guarded").readable().await }, if stream.is_some() => {
                Event::Readable(ready)
            }
            () = fallback.as_mut(), if raised && stream.is_some() => Event::CoalesceFallback,
            ready = async { stream.as_ref().expect("guarded").writable().await }, if stream.is_some() && want_write => {
                Event::Writable(ready)
            }
            cmd = self.commands.recv(), if self.commands_open => Event::Command(cmd),
            Some(()) = self.background.done_rx.recv() => Event::BackgroundDone,
            () = self.close_wait.as_mut(), if self.background.close_at.is_some() => Event::CloseWait,
            Some(answer) = self.probe_rx.recv() => Event::Probe(answer),
            () = self.timer.as_mut() => Event::Timer,
        }
    }

    /// Hands `event` to its handler.
    fn on_event(&mut self, event: Event) {
        let now = Instant::now();
        match event {
            Event::Connected(res) => self.on_connected(now, res),
            Event::Readable(ready) => self.on_readable(ready),
            Event::CoalesceFallback => self.transport.lower_mark(),
            Event::Writable(ready) => self.on_writable(ready),
            Event::Command(Some(cmd)) => self.on_commands(now, cmd),
            Event::Command(None) => {
                // Every handle is gone (so no background task is left either: each holds
                // one): close the session so its ephemerals go.
                self.commands_open = false;
                self.session.close(now);
            }
            Event::BackgroundDone => {
                if self.background.task_done() {
                    self.session.close(now);
                }
            }
            Event::CloseWait => {
                self.background.close_at = None;
                self.session.close(now);
            }
            Event::Probe((epoch, host, rw)) => self.session.on_probe_result(now, epoch, &host, rw),
            Event::Timer => self.session.on_timeout(now),
        }
    }

    /// Carries out what the session asked for.
    fn on_action(&mut self, action: Action) {
        match action {
            Action::Connect(host) => self.transport.open(self.connector.open(host)),
            Action::Disconnect => self.transport.close(),
            Action::ProbeReadWrite {
                host,
                timeout,
                epoch,
            } => probe::spawn(
                host,
                timeout,
                epoch,
                self.probe_tx.clone(),
                self.connector.clone(),
            ),
            Action::StateChanged(s) => self.publisher.state(&self.session, s),
        }
    }

    /// The connect (TCP, and TLS's handshake) finished: the session sends its handshake, or
    /// learns why it failed.
    fn on_connected(&mut self, now: Instant, res: Result<Opened, ConnectionError>) {
        self.transport.connecting = None;
        match res {
            Ok(opened) => {
                self.transport.opened(opened);
                self.session.on_connected(now);
            }
            Err(e) => self.session.on_connect_failed(now, e),
        }
    }

    /// The socket has something to read: frames go to the session.
    fn on_readable(&mut self, ready: io::Result<()>) {
        let read = match ready {
            Ok(()) => self.transport.read_frames(&mut self.session),
            Err(e) => Err(e.into()),
        };
        if let Err(reason) = read {
            self.lose_connection(reason);
        }
    }

    /// The socket takes more of the write buffer.
    fn on_writable(&mut self, ready: io::Result<()>) {
        let written = match ready {
            Ok(()) => self.transport.flush(),
            Err(e) => Err(e.into()),
        };
        if let Err(reason) = written {
            self.lose_connection(reason);
        }
    }

    /// The socket failed: drop it, and tell the session why.
    fn lose_connection(&mut self, reason: ConnectionError) {
        self.transport.close();
        self.session.on_connection_lost(Instant::now(), reason);
    }

    /// Handles `first` and whatever else is waiting (one flush for all of it).
    fn on_commands(&mut self, now: Instant, first: Command) {
        self.on_command(now, first);
        for _ in 0..MAX_COMMANDS_PER_WAKE {
            match self.commands.try_recv() {
                Ok(cmd) => self.on_command(now, cmd),
                Err(_) => break,
            }
        }
        if let Some(at) = self.background.close_at {
            self.close_wait.as_mut().reset(at.into());
        }
    }

    /// One command of a handle.
    fn on_command(&mut self, now: Instant, cmd: Command) {
        match cmd {
            Command::Request {
                request,
                watch,
                reply,
            } => self.session.submit(now, *request, watch, reply),
            Command::SubscribeStates(tx) => self.publisher.subscribe(tx, self.session.state()),
            Command::Background(task) => self.background.spawn(task),
            Command::WatchCount(tx) => {
                let _ = tx.send(self.session.watches().len());
            }
            Command::Unreachable(waited, tx) => {
                let _ = tx.send(self.session.unreachable(now, waited));
            }
            // Queued clean-up first: its deletes go out before closeSession.
            Command::Close => {
                if self.background.close_now(now) {
                    self.session.close(now);
                }
            }
        }
    }
}
