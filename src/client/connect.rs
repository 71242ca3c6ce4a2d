//! `Client::connect`: the session from the options, the driver task, and the wait for the
//! first session, or the report of what happened on each server instead. (The TCP connect to
//! one server is `socket`'s.)

use super::command::Command;
use super::driver::Driver;
use super::handle::{terminal_error, Client, Inner};
use super::lease::LeaseCell;
use super::options::ConnectOptions;
use super::publish::Publisher;
use super::socket::Connector;
use crate::error::{Error, HostAttempt, Result, Unreachable};
use crate::path::validate_path;
use crate::session::{parse_connect_string, Chroot, HostPort, Rng, Session, SessionState};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

impl Client {
    /// Connects with default options to `hosts` (`host:port,host:port[/chroot]`); returns once
    /// a session is established, or fails ([`Error::Unreachable`] when no session was
    /// established within the establish timeout, by default the session timeout, naming each
    /// server and what happened there last; [`Error::InvalidArgument`] for a bad connect
    /// string).
    ///
    /// **Cancel-safety:** a dropped call drops the client it was building: the driver closes
    /// the session, if one was established, and stops.
    pub async fn connect(hosts: &str) -> Result<Client> {
        Self::connect_with(hosts, ConnectOptions::default()).await
    }

    /// Connects with `options`; see [`ConnectOptions`].
    ///
    /// **Cancel-safety:** as for [`Client::connect`].
    pub async fn connect_with(hosts: &str, options: ConnectOptions) -> Result<Client> {
        connect(hosts, options).await
    }
}

/// Starts the driver and waits for the first session.
async fn connect(hosts: &str, options: ConnectOptions) -> Result<Client> {
    let cs = parse_connect_string(hosts)?;
    let chroot = match (&options.chroot, &cs.chroot) {
        (Some(c), _) => {
            validate_path(c)?;
            Some(c.clone())
        }
        (None, c) => c.clone(),
    };
    let (sync_limit, timeout) = (
        options.session.server_sync_limit,
        options.session.session_timeout,
    );
    if sync_limit >= timeout / 2 {
        return Err(Error::InvalidArgument(format!(
            "server sync limit {sync_limit:?} must be below half the session timeout \
             ({timeout:?}): the lease would be too short to hold a lock"
        )));
    }
    if options.default_acl.is_empty() {
        return Err(Error::InvalidArgument(
            "default ACL must not be empty".into(),
        ));
    }
    let connector = Connector::new(&options)?;
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
    tokio::spawn(Driver::new(session, rx, publisher, &options, connector).run());
    let client = Client {
        inner: Arc::new(Inner {
            tx,
            state: state_rx,
            chroot,
            default_acl: options.default_acl.clone(),
            session_rx,
            lease,
            closing: Default::default(),
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
