//! The connection to one server, for the driver and for the read-write probe: TCP, and with the
//! `tls` feature and [`ConnectOptions::tls`](crate::ConnectOptions) TLS over it (the handshake
//! happens here, before the driver sees the connection). The error is the operating system's
//! or the TLS library's, kept as the cause of a failed attempt.

use super::options::ConnectOptions;
use crate::error::{ConnectionError, Result};
use crate::session::HostPort;
use std::future::Future;
use std::io;
use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A connect under way (see [`Connector::open`]).
pub(crate) type ConnectFuture =
    Pin<Box<dyn Future<Output = Result<Opened, ConnectionError>> + Send>>;

/// An open connection: the socket, and what runs over it.
pub(crate) struct Opened {
    pub(crate) tcp: TcpStream,
    pub(crate) link: Link,
}

/// What runs over a connection's socket.
#[derive(Default)]
pub(crate) enum Link {
    /// ZooKeeper's frames as they are.
    #[default]
    Plain,
    /// TLS records (feature `tls`): rustls' state of the connection, past the handshake.
    #[cfg(feature = "tls")]
    Tls(super::tls::TlsConn),
}

impl Link {
    /// Whether there is something to send besides the write buffer (TLS: records rustls holds).
    pub(crate) fn wants_write(&self) -> bool {
        match self {
            Link::Plain => false,
            #[cfg(feature = "tls")]
            Link::Tls(c) => c.wants_write(),
        }
    }
}

/// A byte stream to a server for the read-write probe (TCP or TLS).
pub(crate) trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByteStream for T {}

/// How to open a connection to a server: TCP, or TLS over it. Cheap to clone (the TLS
/// configuration is shared).
#[derive(Clone, Default)]
pub(crate) struct Connector {
    #[cfg(feature = "tls")]
    tls: Option<super::tls::TlsConnector>,
}

impl Connector {
    /// The connector `options` ask for (TLS files are read here: a bad one fails `connect`).
    pub(crate) fn new(options: &ConnectOptions) -> Result<Connector> {
        #[cfg(feature = "tls")]
        {
            let tls = match &options.tls {
                Some(t) => Some(t.connector()?),
                None => None,
            };
            Ok(Connector { tls })
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = options;
            Ok(Connector {})
        }
    }

    /// Opens a connection to `host` for the driver (TLS: the handshake done).
    pub(crate) fn open(&self, host: HostPort) -> ConnectFuture {
        let this = self.clone();
        Box::pin(async move {
            let tcp = tcp(&host).await?;
            #[cfg(feature = "tls")]
            if let Some(tls) = &this.tls {
                let (tcp, conn) = super::tls::into_parts(tls.handshake(&host, tcp).await?);
                return Ok(Opened {
                    tcp,
                    link: Link::Tls(conn),
                });
            }
            let _ = &this;
            Ok(Opened {
                tcp,
                link: Link::Plain,
            })
        })
    }

    /// A connection to `host` as a byte stream (for the read-write probe).
    pub(crate) async fn stream(
        &self,
        host: &HostPort,
    ) -> Result<Box<dyn ByteStream>, ConnectionError> {
        let tcp = tcp(host).await?;
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            return Ok(Box::new(tls.handshake(host, tcp).await?));
        }
        Ok(Box::new(tcp))
    }
}

/// A TCP connection to `host`, without Nagle's delay. The error is the operating system's
/// (refused, unreachable, name not resolved), kept as the cause of the failed attempt.
async fn tcp(host: &HostPort) -> io::Result<TcpStream> {
    // An IP literal needs no resolver: connecting directly avoids tokio's blocking pool
    // (a thread) for the common `127.0.0.1:2181` style of host list.
    let stream = match host.host.parse::<std::net::IpAddr>() {
        Ok(ip) => TcpStream::connect((ip, host.port)).await?,
        Err(_) => TcpStream::connect((host.host.as_str(), host.port)).await?,
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}
