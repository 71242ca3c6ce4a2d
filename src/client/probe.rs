//! The read-write probe: does a server serve read-write? (See `session::read_only`.)
//!
//! The reference client asks with the `isro` four-letter word on a separate short connection:
//! the server answers "rw" or "ro" and closes. Servers that run read-only mode allow `isro`
//! whatever their four-letter-word whitelist says.

use crate::session::HostPort;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Whether `host` answers `isro` with "rw". Anything else (refused, closed, "ro", garbage)
/// is a no; the caller bounds the time.
pub(crate) async fn serves_read_write(host: HostPort) -> bool {
    let Ok(mut stream) = super::driver::open(host).await else {
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
