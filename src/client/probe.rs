//! The read-write probe: does a server serve read-write? (See `session::read_only`.)
//!
//! The reference client asks with the `isro` four-letter word on a separate short connection:
//! the server answers "rw" or "ro" and closes. Servers that run read-only mode allow `isro`
//! whatever their four-letter-word whitelist says.

use super::socket::Connector;
use crate::session::HostPort;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// A probe's answer for the driver: (epoch it was started at, host, serves read-write).
pub(crate) type ProbeResult = (u64, HostPort, bool);

/// Probes `host` on its own task, within `timeout`, and sends the answer to `tx`.
pub(crate) fn spawn(
    host: HostPort,
    timeout: Duration,
    epoch: u64,
    tx: mpsc::UnboundedSender<ProbeResult>,
    connector: Connector,
) {
    tokio::spawn(async move {
        let probe = serves_read_write(connector, host.clone());
        let rw = tokio::time::timeout(timeout, probe).await.unwrap_or(false);
        let _ = tx.send((epoch, host, rw));
    });
}

/// Whether `host` answers `isro` with "rw". Anything else (refused, closed, "ro", garbage)
/// is a no; the caller bounds the time.
async fn serves_read_write(connector: Connector, host: HostPort) -> bool {
    let Ok(mut stream) = connector.stream(&host).await else {
        return false;
    };
    if stream.write_all(b"isro").await.is_err() {
        return false;
    }
    let mut answer = Vec::with_capacity(4);
    // "rw" or "ro"; read a little more so a longer (wrong) answer is not taken for "rw".
    let _ = (&mut stream).take(16).read_to_end(&mut answer).await;
    answer == b"rw"
}
