//! Framing: every message in both directions is a 4-byte big-endian signed length followed by
//! that many bytes of payload.
//!
//! The reader checks a declared length against the configured maximum before buffering a single
//! byte of it, so a hostile or corrupt length can neither make the client allocate gigabytes nor
//! make it wait forever for a frame it would refuse anyway.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::error::FrameError;

/// ZooKeeper's default `jute.maxbuffer`: the largest record a server accepts or sends.
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

/// Default limit for a received frame's payload: `jute.maxbuffer` plus room for headers.
pub const DEFAULT_MAX_FRAME: usize = DEFAULT_MAX_BUFFER + 1024;

/// Size of the length prefix in front of every frame.
pub const FRAME_HEADER_LEN: usize = 4;

/// Pops one complete frame from the front of `buf` and returns its payload (without the length
/// prefix), or `Ok(None)` if the frame is not complete yet.
///
/// `max_frame` limits the payload length. On `Err` the buffer is left untouched; the stream has
/// no recoverable frame boundary and the connection should be dropped. When a frame is
/// incomplete, `buf` reserves room for the rest of it (only after the length passed the check),
/// so the next read can fill it without further reallocation.
pub fn take_frame(buf: &mut BytesMut, max_frame: usize) -> Result<Option<Bytes>, FrameError> {
    let Some(prefix) = buf.get(..FRAME_HEADER_LEN) else {
        return Ok(None);
    };
    let declared = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    let len = usize::try_from(declared).map_err(|_| FrameError::NegativeLength(declared))?;
    if len > max_frame {
        return Err(FrameError::TooLarge {
            len,
            max: max_frame,
        });
    }
    let total = FRAME_HEADER_LEN + len;
    if buf.len() < total {
        buf.reserve(total - buf.len());
        return Ok(None);
    }
    buf.advance(FRAME_HEADER_LEN);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Appends one frame whose payload is written by `write`: a length placeholder first, the
/// payload straight into `buf`, then the length backfilled. One pass, no temporary buffer, so
/// thousands of frames can be batched into one write buffer cheaply.
///
/// A payload longer than `i32::MAX` cannot be framed; its length saturates (no server would
/// accept it anyway; senders should check against [`DEFAULT_MAX_BUFFER`] or their limit).
pub fn encode_frame_with(buf: &mut BytesMut, write: impl FnOnce(&mut BytesMut)) {
    let start = buf.len();
    buf.put_i32(0);
    write(buf);
    let len = buf.len() - start - FRAME_HEADER_LEN;
    let len = i32::try_from(len).unwrap_or(i32::MAX);
    buf[start..start + FRAME_HEADER_LEN].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_complete_length_and_payload() {
        let mut buf = BytesMut::new();
        assert!(take_frame(&mut buf, 100).unwrap().is_none());
        buf.extend_from_slice(&[0, 0, 0]);
        assert!(take_frame(&mut buf, 100).unwrap().is_none());
        buf.extend_from_slice(&[3, b'a', b'b']);
        assert!(take_frame(&mut buf, 100).unwrap().is_none());
        assert!(buf.capacity() >= 7);
        assert_eq!(buf.len(), 6);
        buf.extend_from_slice(&[b'c', 0, 0, 0, 0, 0]);
        assert_eq!(take_frame(&mut buf, 100).unwrap().unwrap(), &b"abc"[..]);
        assert_eq!(take_frame(&mut buf, 100).unwrap().unwrap(), &b""[..]);
        assert_eq!(&buf[..], [0]);
    }

    #[test]
    fn rejects_negative_and_oversized_lengths_without_consuming() {
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 1][..]);
        assert!(matches!(
            take_frame(&mut buf, 100),
            Err(FrameError::NegativeLength(-1))
        ));
        assert_eq!(buf.len(), 5);

        let mut buf = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff][..]);
        let cap = buf.capacity();
        assert!(matches!(
            take_frame(&mut buf, DEFAULT_MAX_FRAME),
            Err(FrameError::TooLarge { len, max }) if len == i32::MAX as usize && max == DEFAULT_MAX_FRAME
        ));
        assert_eq!(buf.capacity(), cap, "nothing reserved for a refused frame");

        let mut buf = BytesMut::from(&[0, 0, 0, 101][..]);
        assert!(matches!(
            take_frame(&mut buf, 100),
            Err(FrameError::TooLarge { len: 101, max: 100 })
        ));
        let mut buf = BytesMut::from(&[0, 0, 0, 100][..]);
        assert!(take_frame(&mut buf, 100).unwrap().is_none());
    }

    #[test]
    fn encode_frame_backfills_length() {
        let mut buf = BytesMut::from(&b"xx"[..]);
        encode_frame_with(&mut buf, |b| b.extend_from_slice(b"hello"));
        encode_frame_with(&mut buf, |_| {});
        assert_eq!(&buf[..], b"xx\0\0\0\x05hello\0\0\0\0");
        buf.advance(2);
        assert_eq!(take_frame(&mut buf, 10).unwrap().unwrap(), &b"hello"[..]);
        assert_eq!(take_frame(&mut buf, 10).unwrap().unwrap(), &b""[..]);
        assert!(buf.is_empty());
    }
}
