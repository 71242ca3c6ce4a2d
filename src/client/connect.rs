//! Opening connections: the TCP connect to one server (for the driver and the read-write
//! probe), and `Client::connect`'s set-up: the session from the options, the driver task, and
//! the wait for the first session, or the report of what happened on each server instead.

use super::command::Command;
use super::driver::Driver;
use super::handle::{terminal_error, Client, Inner};
use super::lease::LeaseCell;
use super::options::ConnectOptions;
use super::publish::Publisher;
use crate::error::{Error, HostAttempt, Result, Unreachable};
use crate::path::validate_path;
use crate::session::{parse_connect_string, Chroot, HostPort, Rng, Session, SessionState};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};

/// A TCP connect under way (see [`open`]).
pub(crate) type ConnectFuture = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>;

/// A TCP connection to `host`, without Nagle's delay. The error is the operating system's
/// (refused, unreachable, name not resolved), kept as the cause of the failed attempt.
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

/// `Client::connect_with`: starts the driver and waits for the first session.
pub(super) async fn connect(hosts: &str, options: ConnectOptions) -> Result<Client> {
    let cs = parse_connect_string(hosts)?;
    let chroot = match (&options.chroot, &cs.chroot) {
        (Some(c), _) => {
            validate_path(c)?;
            Some(c.clone())
        }
        (None, c) => c.clone(),
    };
    if options.default_acl.is_empty() {
        return Err(Error::InvalidArgument(
            "default ACL must not be empty".into(),
        ));
    }
    let chroot = Chroot::new(chroot);
    let mut cfg = options.session.clone();
    cfg.chroot = chroot.clone();
    cfg.seed = Rng::os_seed();
    let now = Instant::now();
    let session = Session::new(cs.hosts.clone(), cfg, now);
    let (tx, rx) = mpsc::unbounded_channel();
    let (state_tx, state_rx) = watch::channel(SessionState::Connecting);
    let (session_tx, session_rx) = watch::channel(None);
    let lease = Arc::new(LeaseCell::new(now));
    let publisher = Publisher::new(state_tx, session_tx, lease.clone());
    tokio::spawn(Driver::new(session, rx, publisher, &options).run());
    let client = Client {
        inner: Arc::new(Inner {
            tx,
            state: state_rx,
            chroot,
            default_acl: options.default_acl.clone(),
            session_rx,
            lease,
        }),
    };
    let wait = options
        .establish_timeout
        .unwrap_or(options.session.session_timeout);
    match tokio::time::timeout(wait, established(client.state_watch())).await {
        Ok(Ok(())) => Ok(client),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(Error::Unreachable(
            unreachable(&client, wait, &cs.hosts).await,
        )),
    }
}

/// Waits until the session is connected, or ends.
async fn established(mut state: watch::Receiver<SessionState>) -> Result<()> {
    loop {
        let s = *state.borrow_and_update();
        if s.is_connected() {
            return Ok(());
        }
        if let Some(e) = terminal_error(s) {
            return Err(e);
        }
        if state.changed().await.is_err() {
            return Err(Error::Closed);
        }
    }
}

/// What happened on each host, as the driver's session saw it (if the driver is gone: only
/// the hosts).
async fn unreachable(client: &Client, waited: Duration, hosts: &[HostPort]) -> Unreachable {
    let (tx, rx) = oneshot::channel();
    let _ = client.inner.tx.send(Command::Unreachable(waited, tx));
    rx.await.unwrap_or_else(|_| {
        let hosts = hosts.iter().map(|h| HostAttempt {
            host: h.to_string(),
            error: None,
        });
        Unreachable::new(waited, hosts.collect(), None)
    })
}
