//! The observable state of a session.

use std::time::Instant;

/// Where a session stands, as published to the application.
///
/// `Expired`, `AuthFailed` and `Closed` are terminal: the client never leaves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// Establishing the first connection.
    Connecting,
    /// Connected to a server that accepts reads and writes.
    Connected,
    /// Connected to a read-only server (only when the client allowed it): writes fail.
    ConnectedReadOnly,
    /// The connection dropped at the given instant; the client is reconnecting and the session
    /// is still alive on the servers (until the session timeout runs out).
    Disconnected {
        /// When the connection was lost.
        since: Instant,
    },
    /// The session expired (said by a server, or judged by this client's own clock after being
    /// cut off for the whole session timeout). Ephemeral nodes are gone or about to be.
    Expired,
    /// Authentication failed and the server closed the session.
    AuthFailed,
    /// The application closed the client.
    Closed,
}

impl SessionState {
    /// True while connected to a server (read-only or not).
    pub fn is_connected(&self) -> bool {
        matches!(
            self,
            SessionState::Connected | SessionState::ConnectedReadOnly
        )
    }

    /// True for the states a session never leaves.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            SessionState::Expired | SessionState::AuthFailed | SessionState::Closed
        )
    }
}
