//! Reply coalescing for deep pipelines: fewer, larger wake-ups of the driver.
//!
//! Why: with hundreds of requests in flight the server answers in a steady trickle, a few replies
//! per TCP segment. Every segment wakes the driver's thread from `epoll_wait`, and on a small
//! (often virtualised) machine that sleep-and-wake costs several times more kernel time than the
//! read it serves. In a profile of the pipelined `get` benchmark the largest single item (a third
//! of all samples) was the scheduler switching the thread back in after `epoll_wait`, and kernel
//! time was four fifths of the client's CPU. A deep pipeline keeps the server busy however late
//! the client reads, so the driver may as well read many replies at once.
//!
//! How: the socket's receive low-water mark (`SO_RCVLOWAT`). While many requests are in flight,
//! the kernel signals readability only once a few kilobytes have queued; the mark is never above
//! a quarter of the smallest bytes those requests' replies must carry (20 bytes each), so it is
//! always reached if the server answers. A timer ([`FALLBACK`]) lowers the mark back to one byte
//! when a slow server has not reached it, which makes the kernel signal at once whatever is
//! queued; nothing waits longer than that, and the read timeout still sees every reply in time.
//! A shallow pipeline (a call, a lock, a barrier) never raises the mark and pays nothing.
//!
//! Linux 4.18 or later only (other systems read as before): from 4.18 on, lowering the mark wakes
//! a waiter at once if enough is queued; before, the queued bytes would wait for the next
//! segment. The option is set with one `setsockopt`, declared here rather than pulling in a
//! crate for it.

use std::time::Duration;
use tokio::net::TcpStream;

/// Requests in flight from which replies are coalesced.
pub(crate) const DEEP_PIPELINE: usize = 128;
/// Highest low-water mark: about 30 small replies, a fraction of a socket buffer.
const MAX_MARK: usize = 4096;
/// Bytes per in-flight request counted towards the mark: a quarter of the smallest reply
/// (a 16-byte reply header plus the 4-byte length prefix).
const BYTES_PER_REQUEST: usize = 5;
/// The longest replies wait in the socket before the mark is lowered (tokio's timer rounds it
/// up to its 1 ms tick): small next to the queueing delay of a deep pipeline.
pub(crate) const FALLBACK: Duration = Duration::from_millis(1);

/// The low-water mark of one connection, as last set.
#[derive(Debug)]
pub(crate) struct LowWater {
    mark: usize,
    /// False when coalescing is off (by option or kernel) or the option could not be set on
    /// this connection: the mark then stays at one byte.
    usable: bool,
}

/// The mark for `in_flight` outstanding requests: one byte for a shallow pipeline, else the
/// largest power of two within a quarter of the smallest bytes their replies carry, at most
/// [`MAX_MARK`].
fn mark_for(in_flight: usize) -> usize {
    if in_flight < DEEP_PIPELINE {
        return 1;
    }
    let bytes = (in_flight * BYTES_PER_REQUEST).min(MAX_MARK);
    1 << (usize::BITS - 1 - bytes.leading_zeros())
}

impl LowWater {
    /// A new connection's mark: one byte, the kernel default. `enabled` is the client's
    /// `coalesce_replies` option.
    pub(crate) fn new(enabled: bool) -> LowWater {
        LowWater {
            mark: 1,
            usable: enabled && sys::supported(),
        }
    }

    /// Whether replies are being held back (the fallback timer must run).
    pub(crate) fn raised(&self) -> bool {
        self.mark > 1
    }

    /// Sets the mark for `in_flight` outstanding requests, after a read drained the socket.
    /// Changes only at powers of two, so a steady pipeline makes no system call here.
    pub(crate) fn adjust(&mut self, stream: &TcpStream, in_flight: usize) {
        if self.usable {
            self.set(stream, mark_for(in_flight));
        }
    }

    /// Back to one byte: the kernel signals at once whatever has queued.
    pub(crate) fn lower(&mut self, stream: &TcpStream) {
        self.set(stream, 1);
    }

    fn set(&mut self, stream: &TcpStream, mark: usize) {
        if mark != self.mark {
            // If the option cannot be set the socket keeps its old mark; one byte is always
            // safe, so give up coalescing on this connection rather than guess.
            self.mark = match sys::set_rcvlowat(stream, mark) {
                Ok(()) => mark,
                Err(_) => {
                    self.usable = false;
                    let _ = sys::set_rcvlowat(stream, 1);
                    1
                }
            };
        }
    }
}

#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64"
    )
))]
mod sys {
    use std::ffi::{c_int, c_void};
    use std::io;
    use std::os::fd::AsRawFd;
    use tokio::net::TcpStream;

    /// Whether the running kernel signals readability when the mark is lowered (4.18+,
    /// `tcp_set_rcvlowat`). Read once from /proc; unknown means no.
    pub(super) fn supported() -> bool {
        static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *SUPPORTED.get_or_init(|| {
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .ok()
                .and_then(|r| super::kernel_version(&r))
                .is_some_and(|v| v >= (4, 18))
        })
    }

    // <asm-generic/socket.h>, the same on every architecture listed above.
    const SOL_SOCKET: c_int = 1;
    const SO_RCVLOWAT: c_int = 18;

    extern "C" {
        fn setsockopt(
            fd: c_int,
            level: c_int,
            name: c_int,
            value: *const c_void,
            len: u32,
        ) -> c_int;
    }

    pub(super) fn set_rcvlowat(stream: &TcpStream, bytes: usize) -> io::Result<()> {
        let value = c_int::try_from(bytes).unwrap_or(c_int::MAX);
        // SAFETY: the descriptor is open for as long as `stream` is borrowed, and the option
        // value is a live c_int whose size is the length passed.
        let rc = unsafe {
            setsockopt(
                stream.as_raw_fd(),
                SOL_SOCKET,
                SO_RCVLOWAT,
                (&value as *const c_int).cast(),
                std::mem::size_of::<c_int>() as u32,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64"
    )
)))]
mod sys {
    use std::io;
    use tokio::net::TcpStream;

    pub(super) fn supported() -> bool {
        false
    }

    pub(super) fn set_rcvlowat(_: &TcpStream, bytes: usize) -> io::Result<()> {
        if bytes == 1 {
            Ok(())
        } else {
            Err(io::ErrorKind::Unsupported.into())
        }
    }
}

/// `(major, minor)` of a kernel release string such as `6.1.0-18-amd64`.
#[allow(dead_code)] // used only where the `sys` module can coalesce (and by the tests)
fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions_parse() {
        assert_eq!(kernel_version("6.18.44-fc-v669\n"), Some((6, 18)));
        assert_eq!(kernel_version("4.18.0-553.el8_10.x86_64"), Some((4, 18)));
        assert_eq!(kernel_version("3.10.0-1160.el7.x86_64"), Some((3, 10)));
        assert_eq!(kernel_version("garbage"), None);
        assert_eq!(kernel_version(""), None);
        assert!(kernel_version("4.17.9").unwrap() < (4, 18));
    }

    #[test]
    fn marks_are_powers_of_two_within_bounds() {
        assert_eq!(mark_for(0), 1);
        assert_eq!(
            mark_for(DEEP_PIPELINE - 1),
            1,
            "a shallow pipeline is never held"
        );
        assert_eq!(mark_for(DEEP_PIPELINE), 512);
        assert_eq!(mark_for(1000), MAX_MARK);
        for in_flight in [DEEP_PIPELINE, 200, 500, 1000, 100_000] {
            let mark = mark_for(in_flight);
            assert!(mark.is_power_of_two() && mark <= MAX_MARK);
            // Reachable: the replies of the requests in flight carry at least 20 bytes each,
            // and the mark stays within a quarter of that.
            assert!(mark * 4 <= in_flight * 20);
        }
    }
}
