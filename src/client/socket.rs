//! The TCP connection to one server, for the driver and for the read-write probe. The error is
//! the operating system's, kept as the cause of a failed attempt.

use crate::session::HostPort;
use std::future::Future;
use std::io;
use std::pin::Pin;
use tokio::net::TcpStream;

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
