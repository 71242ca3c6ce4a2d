//! The one error type of the crate, and the causes it keeps: why a connection ended
//! ([`ConnectionError`], with the operating system's `io::Error` inside) and what happened on
//! each server when none could be reached ([`Unreachable`]).

mod connection;
mod unreachable;

pub use connection::ConnectionError;
pub use unreachable::{HostAttempt, Unreachable};

use crate::proto::ErrorCode;

/// Everything a zksync call can fail with.
///
/// Server answers keep their typed [`ErrorCode`] in [`Error::Server`]; the conditions that change
/// what a caller should do next (the connection dropped, the session is gone, the client was
/// closed) have variants of their own so they can be matched without looking at codes.
///
/// `Display` is one line that says what happened and, where the crate knows, why (for
/// [`Error::Unreachable`]: each server and its last failure); `source()` leads to the cause
/// as a value ([`ConnectionError`], then the operating system's [`std::io::Error`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the operation with this code (no node, node exists, bad version, ...).
    #[error("server error: {0}")]
    Server(ErrorCode),
    /// A `multi` transaction was rejected: operation `index` failed with `code`, and nothing
    /// of the transaction was applied.
    #[error("transaction failed at operation {index}: {code}")]
    MultiFailed {
        /// Position of the failing operation.
        index: usize,
        /// Why it failed.
        code: ErrorCode,
    },
    /// A double barrier already has its full count of participants: this one was one too
    /// many, and its node was removed again.
    #[error("double barrier is full ({count} participants already entered)")]
    BarrierFull {
        /// The barrier's participant count.
        count: usize,
    },
    /// The connection dropped before the reply arrived. The operation may or may not have been
    /// applied; the session is still alive and the client reconnects on its own.
    #[error("connection lost before the reply arrived (the operation may have been applied)")]
    ConnectionLoss,
    /// The session expired: its ephemeral nodes are gone (or about to be) and its watches are
    /// void. The client is terminal; create a new one to go on.
    #[error("session expired")]
    SessionExpired,
    /// Authentication failed; the server closed the session. The client is terminal.
    #[error("authentication failed")]
    AuthFailed,
    /// The client was closed by the application.
    #[error("client closed")]
    Closed,
    /// A request waited longer than the configured request timeout for a connection.
    /// (`connect` failing to establish a session in time is [`Error::Unreachable`].)
    #[error("timed out")]
    Timeout,
    /// Too many requests are queued while disconnected.
    #[error("request queue is full ({0} requests waiting for a connection)")]
    QueueFull(usize),
    /// A frame was too large: a reply above the configured maximum frame size (the connection
    /// was dropped rather than buffering without bound; raise `max_frame_size` if such replies
    /// are expected), or a request above the server's `jute.maxbuffer` (refused before sending:
    /// the server would drop the connection).
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// The length announced by the server.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The server broke the protocol (bad frame, unexpected xid); the connection was dropped.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A path given by the caller is not a valid ZooKeeper path.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The offending path.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A semaphore's node records another number of permits than this process asked for.
    /// Processes that disagree on `max` would together let more holders in than some of them
    /// expect, so the first process to use the path fixes the number and every other value is
    /// refused: no permit is returned, and a queue node the attempt made meanwhile (the check
    /// and the queueing go out together) is removed by the client's driver. To change the
    /// number, delete the semaphore's node while it is idle.
    #[error(
        "semaphore {path} is set up for {stored} permits, not {requested}: every process must \
         use the same number (delete the idle semaphore node to change it)"
    )]
    SemaphoreMismatch {
        /// The semaphore's path.
        path: String,
        /// What the semaphore's node holds (a number, or whatever another program wrote).
        stored: String,
        /// The `max` this process asked for.
        requested: u32,
    },
    /// An argument given by the caller is invalid (bad host list, empty ACL, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// `connect` established no session within its establish timeout. The payload tells, per
    /// server, what happened last (refused, not resolved, timed out, closed, a protocol
    /// violation...); its `source()` is the most recent failure.
    #[error(transparent)]
    Unreachable(Unreachable),
}

impl Error {
    /// Maps a server error code to an error, giving the session-level codes their own variants.
    pub fn from_code(code: ErrorCode) -> Error {
        match code {
            ErrorCode::ConnectionLoss => Error::ConnectionLoss,
            ErrorCode::SessionExpired => Error::SessionExpired,
            ErrorCode::AuthFailed => Error::AuthFailed,
            other => Error::Server(other),
        }
    }

    /// The server error code, if this is a server refusal.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Server(c) => Some(*c),
            _ => None,
        }
    }

    /// True for errors after which the same call may succeed if retried on the same client
    /// (the connection dropped or a request waited too long); false when the session or client
    /// is gone or the server refused the operation.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::ConnectionLoss | Error::Timeout | Error::QueueFull(_)
        )
    }

    /// True when the session can no longer be used (expired, auth failed or closed).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Error::SessionExpired | Error::AuthFailed | Error::Closed
        )
    }

    /// True if the server said the node does not exist.
    pub fn is_no_node(&self) -> bool {
        self.code() == Some(ErrorCode::NoNode)
    }

    /// True if the server said the node already exists.
    pub fn is_node_exists(&self) -> bool {
        self.code() == Some(ErrorCode::NodeExists)
    }
}

/// Result type of the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
