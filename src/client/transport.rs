//! The socket side of the driver: the TCP connection (or the attempt to open one), its read
//! and write buffers and its reply-coalescing mark. Reads frames into the session (cut by a
//! [`FrameDecoder`]); writes what the session encoded; reports why a connection failed as a
//! [`ConnectionError`]. Over TLS ([`Link::Tls`]) the same, with rustls between the buffers and
//! the socket (see `tls`); the coalescing mark stays on the socket, where ciphertext is never
//! shorter than the replies it carries, so the mark is reached as surely as without TLS.

use super::coalesce::{self, LowWater};
use super::sink::{Reply, Sink};
use super::socket::{ConnectFuture, Link, Opened};
use crate::error::ConnectionError;
use crate::proto::{take_frame, FrameError};
use crate::session::Session;
use bytes::{Buf, Bytes, BytesMut};
use std::io;
use std::pin::Pin;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tokio_util::codec::Decoder;

/// Read size: many replies per read. The buffer is only held while answers are awaited (see
/// `read_frames`), so an idle session, or one waiting on a watch, holds none.
const READ_CHUNK: usize = 16 * 1024;

/// First read size of a session that holds no read buffer (it had nothing left to read and
/// nothing awaited): what comes then is mostly one small frame (a watch event, a ping's answer,
/// the answer to a lone request). A buffer this small comes from the allocator's per-thread
/// cache, so 5,000 sessions woken by one event cost no 16 KB allocation each; if more is
/// there, the next read of the same call takes a full chunk.
const FIRST_READ: usize = 512;

/// ZooKeeper's framing ([`take_frame`]: a 4-byte signed length, then the payload) as a
/// tokio-util [`Decoder`] whose errors are the driver's: a frame above the limit is
/// [`ConnectionError::FrameTooLarge`] (so its requests fail with `FrameTooLarge`), any other
/// framing error a protocol violation.
///
/// Not `LengthDelimitedCodec`: ZooKeeper's length is signed, and a negative one must be
/// reported as such, not as a huge unsigned frame.
#[derive(Debug, Clone)]
pub(crate) struct FrameDecoder {
    max_frame: usize,
}

impl FrameDecoder {
    /// A decoder refusing payloads longer than `max_frame` bytes.
    pub(crate) fn new(max_frame: usize) -> FrameDecoder {
        FrameDecoder { max_frame }
    }
}

impl Decoder for FrameDecoder {
    type Item = Bytes;
    type Error = ConnectionError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, ConnectionError> {
        take_frame(src, self.max_frame).map_err(|e| match e {
            FrameError::TooLarge { len, max } => ConnectionError::FrameTooLarge { len, max },
            e => ConnectionError::Protocol(e.to_string()),
        })
    }
}

/// One connection's socket and buffers.
pub(crate) struct Transport {
    pub(crate) stream: Option<TcpStream>,
    /// What runs over `stream`: plain frames, or TLS.
    link: Link,
    pub(crate) connecting: Option<ConnectFuture>,
    rbuf: BytesMut,
    pub(crate) wbuf: BytesMut,
    /// Reply coalescing (see `coalesce`): the connection's low-water mark and its fallback.
    pub(crate) low_water: LowWater,
    pub(crate) fallback: Pin<Box<Sleep>>,
    coalesce_replies: bool,
    frames: FrameDecoder,
}

impl Transport {
    /// No connection yet. `idle` is the coalescing fallback timer, unarmed.
    pub(crate) fn new(coalesce_replies: bool, max_frame: usize, idle: Sleep) -> Transport {
        Transport {
            stream: None,
            link: Link::Plain,
            connecting: None,
            rbuf: BytesMut::new(),
            wbuf: BytesMut::new(),
            low_water: LowWater::new(coalesce_replies),
            fallback: Box::pin(idle),
            coalesce_replies,
            frames: FrameDecoder::new(max_frame),
        }
    }

    /// Drops the connection (or the attempt) and whatever its buffers hold.
    pub(crate) fn close(&mut self) {
        self.stream = None;
        self.link = Link::Plain;
        self.connecting = None;
        self.rbuf.clear();
        self.wbuf.clear();
    }

    /// Starts opening a connection, dropping the current one.
    pub(crate) fn open(&mut self, connecting: ConnectFuture) {
        self.close();
        self.connecting = Some(connecting);
    }

    /// The connection asked for is up.
    /// (TLS: no plaintext can be waiting in rustls yet, so readiness of the socket is enough:
    /// the server sends nothing before the client's ConnectRequest.)
    pub(crate) fn opened(&mut self, opened: Opened) {
        self.stream = Some(opened.tcp);
        self.link = opened.link;
        self.low_water = LowWater::new(self.coalesce_replies);
    }

    /// Whether there is anything to write: requests, or (TLS) records of rustls' own.
    pub(crate) fn wants_write(&self) -> bool {
        !self.wbuf.is_empty() || self.link.wants_write()
    }

    /// Appends newly encoded requests to the write buffer.
    pub(crate) fn queue(&mut self, out: BytesMut) {
        if self.wbuf.is_empty() {
            self.wbuf = out;
        } else {
            self.wbuf.extend_from_slice(&out);
        }
    }

    /// Writes what the socket takes now; the rest waits for writability.
    pub(crate) fn flush(&mut self) -> Result<(), ConnectionError> {
        let Some(s) = &self.stream else {
            return Ok(());
        };
        #[cfg(feature = "tls")]
        if let Link::Tls(conn) = &mut self.link {
            return super::tls::flush(s, conn, &mut self.wbuf);
        }
        while !self.wbuf.is_empty() {
            match s.try_write(&self.wbuf) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(n) => self.wbuf.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Reads what is available and hands each complete frame to the session, chunk by chunk
    /// (so a flooding peer cannot make the buffer grow before anything is parsed), then sets
    /// the coalescing mark for what is still in flight.
    ///
    /// Frames that arrived just before an EOF or a read error are handed over before the loss
    /// is reported: a server often answers and then closes (auth failure, expired session,
    /// closeSession), and that last answer is the one that matters.
    pub(crate) fn read_frames(
        &mut self,
        session: &mut Session<Reply, Sink>,
    ) -> Result<(), ConnectionError> {
        let epoch = session.epoch();
        let s = self
            .stream
            .as_ref()
            .expect("read_frames needs a connection");
        loop {
            if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 4 {
                let first = self.rbuf.capacity() == 0;
                self.rbuf
                    .reserve(if first { FIRST_READ } else { READ_CHUNK });
            }
            let lost = match &mut self.link {
                Link::Plain => match s.try_read_buf(&mut self.rbuf) {
                    Ok(0) => Some(ConnectionError::Closed),
                    Ok(_) => None,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Some(e.into()),
                },
                #[cfg(feature = "tls")]
                Link::Tls(conn) => {
                    use super::tls::Got;
                    match super::tls::read(s, conn, &mut self.rbuf, READ_CHUNK) {
                        Ok(Got::Data) => None,
                        Ok(Got::Eof) => Some(ConnectionError::Closed),
                        Ok(Got::WouldBlock) => break,
                        Err(e) => Some(e),
                    }
                }
            };
            let now = Instant::now();
            while let Some(frame) = self.frames.decode(&mut self.rbuf)? {
                session.on_frame(now, frame);
                if session.epoch() != epoch {
                    // The session dropped this connection (protocol violation, expiry): what
                    // is left in the buffer belongs to a stream we no longer trust.
                    self.rbuf.clear();
                    return Ok(());
                }
            }
            if let Some(reason) = lost {
                return Err(reason);
            }
        }
        // Nothing left to read and nothing awaited: hand the buffer back (the next read takes a
        // fresh one). A session waiting on a watch, like each of 1,000 lock contenders, then
        // holds no read buffer (16 KB each); a pipelining one always has replies in flight
        // and keeps its buffer. A large frame (a long listing) that grew the buffer is handed
        // back too once consumed, or every session that ever read one keeps it (1,000 lock
        // contenders: 94 MB).
        if self.rbuf.is_empty()
            && (session.in_flight() == 0 || self.rbuf.capacity() > 2 * READ_CHUNK)
        {
            self.rbuf = BytesMut::new();
        }
        // Not for a connection the session dropped while reading (returned above).
        self.low_water.adjust(s, session.in_flight());
        if self.low_water.raised() {
            let at = tokio::time::Instant::now() + coalesce::FALLBACK;
            self.fallback.as_mut().reset(at);
        }
        Ok(())
    }

    /// Replies have waited long enough: the kernel signals what has queued.
    pub(crate) fn lower_mark(&mut self) {
        if let Some(s) = &self.stream {
            self.low_water.lower(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoder_cuts_frames_by_take_frame_and_reports_the_drivers_errors() {
        let mut d = FrameDecoder::new(4);
        let mut buf = BytesMut::from(&[0, 0, 0, 1, 9, 0, 0][..]);
        assert_eq!(d.decode(&mut buf).unwrap().unwrap(), &[9][..]);
        assert!(d.decode(&mut buf).unwrap().is_none(), "incomplete length");
        buf.extend_from_slice(&[0, 5]);
        assert!(matches!(
            d.decode(&mut buf),
            Err(ConnectionError::FrameTooLarge { len: 5, max: 4 })
        ));
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xfe][..]);
        match d.decode(&mut buf) {
            Err(ConnectionError::Protocol(reason)) => assert!(reason.contains("-2"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert!(d.decode_eof(&mut BytesMut::new()).unwrap().is_none());
    }
}
