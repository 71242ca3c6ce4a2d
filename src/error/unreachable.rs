//! The payload of [`Error::Unreachable`](crate::Error::Unreachable): what happened last on each
//! server while `connect` waited for a session, so that one line tells an operator what to fix
//! (a wrong port, a name that does not resolve, a firewall, a server without a quorum).

use super::connection::{ConnectionError, Show};
use std::fmt;
use std::time::Duration;

/// What happened on one server while `connect` waited for a session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostAttempt {
    /// The server, as `host:port`.
    pub host: String,
    /// What ended the last attempt on this server; for an attempt still under way when
    /// `connect` gave up, how far it had got (a connect or handshake timeout of the time it had
    /// run). `None` if the server was never tried.
    pub error: Option<ConnectionError>,
}

impl fmt::Display for HostAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            Some(e) => write!(f, "{}: {e}", self.host),
            None => write!(f, "{}: not tried", self.host),
        }
    }
}

/// No server established a session within the establish timeout: what happened on each.
///
/// Its `Display` is one line naming every server and its last failure; `source()` is the most
/// recent failure (a [`ConnectionError`]), whose own `source()` is the operating system's
/// [`std::io::Error`] when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    waited: Duration,
    hosts: Vec<HostAttempt>,
    latest: Option<usize>,
}

impl Unreachable {
    /// `hosts` in the order they were tried; `latest` indexes the one tried last.
    pub(crate) fn new(waited: Duration, hosts: Vec<HostAttempt>, latest: Option<usize>) -> Self {
        Unreachable {
            waited,
            hosts,
            latest,
        }
    }

    /// How long `connect` waited for a session (the establish timeout).
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// Every server of the connect string, in the order the client tries them, with what
    /// happened last on it.
    pub fn hosts(&self) -> &[HostAttempt] {
        &self.hosts
    }

    /// The server tried last and what happened there.
    pub fn latest(&self) -> Option<&HostAttempt> {
        self.hosts.get(self.latest?)
    }
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no session established within {}", Show(self.waited))?;
        for host in &self.hosts {
            write!(f, "; {host}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Unreachable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let error = self.latest()?.error.as_ref()?;
        Some(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;
    use std::io;

    #[test]
    fn one_line_per_host_and_the_latest_failure_as_source() {
        let refused = ConnectionError::from(io::Error::from(io::ErrorKind::ConnectionRefused));
        let u = Unreachable::new(
            Duration::from_secs(2),
            vec![
                HostAttempt {
                    host: "127.0.0.1:1".into(),
                    error: Some(ConnectionError::Closed),
                },
                HostAttempt {
                    host: "127.0.0.1:2".into(),
                    error: Some(refused.clone()),
                },
                HostAttempt {
                    host: "[::1]:3".into(),
                    error: None,
                },
            ],
            Some(1),
        );
        assert_eq!(
            u.to_string(),
            "no session established within 2s; 127.0.0.1:1: the server closed the connection; \
             127.0.0.1:2: connection refused; [::1]:3: not tried"
        );
        let source = u.source().expect("the latest failure");
        assert_eq!(source.to_string(), refused.to_string());
        let io = source.source().and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(
            io.map(io::Error::kind),
            Some(io::ErrorKind::ConnectionRefused)
        );
    }
}
