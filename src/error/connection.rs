//! Why a connection to one server, or an attempt to open one, ended: the cause kept for
//! [`Unreachable`](super::Unreachable) and for the driver's reconnect log.
//!
//! The operating system's own [`io::Error`] is kept as it is (shared in an `Arc`, so that the
//! error stays `Clone`): `source()` reaches it, and `downcast_ref::<io::Error>()` finds it.

use crate::proto::ErrorCode;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Why a connection to a server, or an attempt to open one, ended.
///
/// The requests in flight on such a connection fail with
/// [`Error::ConnectionLoss`](crate::Error::ConnectionLoss) (or, for an oversized reply,
/// [`Error::FrameTooLarge`](crate::Error::FrameTooLarge)) whatever the cause; the cause itself
/// shows in [`Error::Unreachable`](crate::Error::Unreachable), per host, and in the debug log of
/// the `tracing` feature.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The operating system reported an error: connection refused, host name not resolved,
    /// network unreachable, connection reset.
    Io(Arc<io::Error>),
    /// The TCP connection was not established within the connect timeout (a firewall that
    /// drops packets, a host that is down).
    ConnectTimeout(Duration),
    /// The TCP connection was established but the server did not answer the handshake within
    /// the connect timeout.
    HandshakeTimeout(Duration),
    /// The server closed the connection (a server that is not serving yet, e.g. without a
    /// quorum, closes every new connection at once).
    Closed,
    /// The server answered the handshake with an error instead of a session (a read-only
    /// server refusing a client that does not allow read-only sessions).
    Refused(ErrorCode),
    /// The server broke the protocol; the reason says how. The connection was dropped since the
    /// stream could no longer be trusted.
    Protocol(String),
    /// A reply frame was larger than the client's maximum frame size.
    FrameTooLarge {
        /// The length the server announced.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// Nothing arrived from the server for this long (two thirds of the session timeout).
    ReadTimeout(Duration),
    /// Frames arrived, but no request sent within the session timeout was answered.
    Unanswered(Duration),
    /// TLS failed (feature `tls`): the handshake (the server's certificate is not signed by a
    /// trusted CA or not valid for the server's name, the server requires a client certificate
    /// it did not get or does not trust) or a record afterwards. `why` says what it most likely
    /// means, with the TLS library's own message; `source()` is that library's error (a
    /// `rustls::Error`, or the `io::Error` of a connection closed during the handshake).
    Tls {
        /// What went wrong, for people.
        why: String,
        /// The TLS library's error.
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
}

impl ConnectionError {
    /// The error of the request that was waiting for a reply when the connection ended: an
    /// oversized reply is its own error, anything else a connection loss.
    pub(crate) fn request_error(&self) -> crate::Error {
        match *self {
            ConnectionError::FrameTooLarge { len, max } => crate::Error::FrameTooLarge { len, max },
            _ => crate::Error::ConnectionLoss,
        }
    }
}

impl From<io::Error> for ConnectionError {
    fn from(e: io::Error) -> Self {
        ConnectionError::Io(Arc::new(e))
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::Io(e) => write!(f, "{e}"),
            ConnectionError::ConnectTimeout(d) => {
                write!(f, "no TCP connection within {}", Show(*d))
            }
            ConnectionError::HandshakeTimeout(d) => {
                write!(
                    f,
                    "connected, but no answer to the handshake within {}",
                    Show(*d)
                )
            }
            ConnectionError::Closed => f.write_str("the server closed the connection"),
            ConnectionError::Refused(code) => write!(f, "the server refused the session: {code}"),
            ConnectionError::Protocol(why) => write!(f, "protocol violation: {why}"),
            ConnectionError::FrameTooLarge { len, max } => {
                write!(f, "frame of {len} bytes exceeds the limit of {max} bytes")
            }
            ConnectionError::ReadTimeout(d) => {
                write!(f, "nothing heard from the server for {}", Show(*d))
            }
            ConnectionError::Unanswered(d) => {
                write!(f, "no request answered for {}", Show(*d))
            }
            ConnectionError::Tls { why, .. } => write!(f, "TLS: {why}"),
        }
    }
}

impl std::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // The `io::Error` itself, not the `Arc`: a caller can downcast to it.
            ConnectionError::Io(e) => Some(&**e),
            ConnectionError::Tls { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

/// Equal when of the same kind with the same details; two I/O errors are equal when their kind
/// and message are (an `io::Error` has no equality of its own).
impl PartialEq for ConnectionError {
    fn eq(&self, other: &Self) -> bool {
        use ConnectionError as C;
        match (self, other) {
            (C::Io(a), C::Io(b)) => a.kind() == b.kind() && a.to_string() == b.to_string(),
            (C::ConnectTimeout(a), C::ConnectTimeout(b))
            | (C::HandshakeTimeout(a), C::HandshakeTimeout(b))
            | (C::ReadTimeout(a), C::ReadTimeout(b))
            | (C::Unanswered(a), C::Unanswered(b)) => a == b,
            (C::Closed, C::Closed) => true,
            (C::Refused(a), C::Refused(b)) => a == b,
            (C::Protocol(a), C::Protocol(b)) => a == b,
            (C::Tls { why: a, .. }, C::Tls { why: b, .. }) => a == b,
            (C::FrameTooLarge { len: a, max: m }, C::FrameTooLarge { len: b, max: n }) => {
                (a, m) == (b, n)
            }
            _ => false,
        }
    }
}

impl Eq for ConnectionError {}

/// A duration for people: `250ms`, `3.3s`.
pub(crate) struct Show(pub(crate) Duration);

impl fmt::Display for Show {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms < 1000 {
            write!(f, "{ms}ms")
        } else if ms % 1000 == 0 {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{:.1}s", self.0.as_secs_f64())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn io_errors_keep_the_os_error_in_the_chain() {
        let e = ConnectionError::from(io::Error::from(io::ErrorKind::ConnectionRefused));
        let io = e.source().and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(
            io.map(io::Error::kind),
            Some(io::ErrorKind::ConnectionRefused)
        );
        assert_eq!(e.to_string(), "connection refused");
        assert_eq!(e.clone(), e);
        assert_ne!(e, ConnectionError::Closed);
    }

    #[test]
    fn durations_read_well() {
        let show = |ms| Show(Duration::from_millis(ms)).to_string();
        assert_eq!(show(250), "250ms");
        assert_eq!(show(2000), "2s");
        assert_eq!(show(3333), "3.3s");
        let e = ConnectionError::ConnectTimeout(Duration::from_millis(1500));
        assert_eq!(e.to_string(), "no TCP connection within 1.5s");
    }
}
