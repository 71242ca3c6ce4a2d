//! The handshake: `ConnectRequest`, `ConnectResponse`, and the first reply frame, which a
//! read-only server may replace with a bare rejection header.

use bytes::{Buf, Bytes, BytesMut};

use super::header::ReplyHeader;
use crate::proto::error::DecodeError;
use crate::proto::jute::{Decode, Encode};

/// The first frame a client sends; it has no request header.
///
/// `Default` is a fresh-session request: protocol 0, nothing seen, session 0 and the 16 zero
/// bytes of password the reference client sends (so the encoding is the usual 45 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    /// Always 0.
    pub protocol_version: i32,
    /// Highest zxid this client has seen; a server that is behind it refuses the connection.
    pub last_zxid_seen: i64,
    /// Requested session timeout in ms (the server clamps it).
    pub time_out: i32,
    /// 0 for a new session, else the session to resume.
    pub session_id: i64,
    /// The session password (16 zero bytes for a new session).
    pub passwd: Bytes,
    /// Whether the client accepts a read-only server.
    pub read_only: bool,
}

impl ConnectRequest {
    /// Length of a session password.
    pub const PASSWD_LEN: usize = 16;
}

impl Default for ConnectRequest {
    fn default() -> Self {
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: 0,
            session_id: 0,
            passwd: Bytes::from_static(&[0; ConnectRequest::PASSWD_LEN]),
            read_only: false,
        }
    }
}

/// Always writes the trailing `readOnly` byte, as every current client does.
impl Encode for ConnectRequest {
    fn encode(&self, buf: &mut BytesMut) {
        self.protocol_version.encode(buf);
        self.last_zxid_seen.encode(buf);
        self.time_out.encode(buf);
        self.session_id.encode(buf);
        self.passwd.encode(buf);
        self.read_only.encode(buf);
    }
}

/// Tolerates a missing `readOnly` byte (pre-3.4 clients), reading it as false; useful for fake
/// servers in tests.
impl Decode for ConnectRequest {
    const MIN_ENCODED_LEN: usize = 28;
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        Ok(ConnectRequest {
            protocol_version: i32::decode(buf)?,
            last_zxid_seen: i64::decode(buf)?,
            time_out: i32::decode(buf)?,
            session_id: i64::decode(buf)?,
            passwd: Bytes::decode(buf)?,
            read_only: optional_bool(buf),
        })
    }
}

/// The server's answer to a [`ConnectRequest`].
///
/// `time_out == 0` together with `session_id == 0` is how 3.8 says "your session expired".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    /// Always 0.
    pub protocol_version: i32,
    /// Negotiated session timeout in ms; 0 means the session is gone.
    pub time_out: i32,
    /// The session id (new or resumed); 0 means the session is gone.
    pub session_id: i64,
    /// The session password, needed to resume the session elsewhere.
    pub passwd: Bytes,
    /// Whether the server is read-only.
    pub read_only: bool,
}

impl ConnectResponse {
    /// True when the server refused to resume the session because it expired (or never
    /// existed): the only expiry signal a 3.8 server gives.
    pub fn is_expired(&self) -> bool {
        self.time_out <= 0 || self.session_id == 0
    }
}

/// Always writes the trailing `readOnly` byte (the server does when the request had one).
impl Encode for ConnectResponse {
    fn encode(&self, buf: &mut BytesMut) {
        self.protocol_version.encode(buf);
        self.time_out.encode(buf);
        self.session_id.encode(buf);
        self.passwd.encode(buf);
        self.read_only.encode(buf);
    }
}

/// Tolerates a missing `readOnly` byte (absent when the request had none), reading it as false.
impl Decode for ConnectResponse {
    const MIN_ENCODED_LEN: usize = 20;
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        Ok(ConnectResponse {
            protocol_version: i32::decode(buf)?,
            time_out: i32::decode(buf)?,
            session_id: i64::decode(buf)?,
            passwd: Bytes::decode(buf)?,
            read_only: optional_bool(buf),
        })
    }
}

/// Reads a trailing optional boolean: false when the input has ended.
fn optional_bool(buf: &mut Bytes) -> bool {
    buf.has_remaining() && buf.get_u8() != 0
}

/// What the first frame from a server turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectReply {
    /// A proper handshake answer (which may still signal expiry, see
    /// [`ConnectResponse::is_expired`]).
    Accepted(ConnectResponse),
    /// A bare reply header: a 3.8.0 read-only server refusing a new session (err -119).
    Rejected(ReplyHeader),
}

/// Decodes the payload of the first frame a server sends.
///
/// A payload of exactly [`ReplyHeader::LEN`] bytes is a bare reply header (a `ConnectResponse`
/// is at least 20 bytes, so the two cannot be confused); anything else is a `ConnectResponse`.
/// Trailing bytes after the optional read-only flag are ignored.
pub fn decode_connect_reply(frame: &mut Bytes) -> Result<ConnectReply, DecodeError> {
    if frame.remaining() == ReplyHeader::LEN {
        ReplyHeader::decode(frame).map(ConnectReply::Rejected)
    } else {
        ConnectResponse::decode(frame).map(ConnectReply::Accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::error_code::ErrorCode;
    use crate::proto::strategies::{arb_connect_request, arb_connect_response, assert_round_trip};
    use proptest::prelude::*;

    #[test]
    fn new_session_request_is_45_bytes() {
        let req = ConnectRequest {
            time_out: 30_000,
            ..ConnectRequest::default()
        };
        let mut b = BytesMut::new();
        req.encode(&mut b);
        #[rustfmt::skip]
        let expected: [u8; 45] = [
            0, 0, 0, 0,                         // protocolVersion
            0, 0, 0, 0, 0, 0, 0, 0,             // lastZxidSeen
            0, 0, 0x75, 0x30,                   // timeOut 30000
            0, 0, 0, 0, 0, 0, 0, 0,             // sessionId
            0, 0, 0, 16,                        // passwd length
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0,                                  // readOnly
        ];
        assert_eq!(&b[..], &expected[..]);
    }

    #[test]
    fn resume_request_vector() {
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0x1_0000_0005,
            time_out: 4000,
            session_id: 0x0102_0304_0506_0708,
            passwd: Bytes::from_static(&[0xaa; 16]),
            read_only: true,
        };
        let mut b = BytesMut::new();
        req.encode(&mut b);
        assert_eq!(b.len(), 45);
        assert_eq!(&b[4..12], [0, 0, 0, 1, 0, 0, 0, 5]);
        assert_eq!(&b[12..16], [0, 0, 0x0f, 0xa0]);
        assert_eq!(&b[16..24], [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&b[28..44], [0xaa; 16]);
        assert_eq!(b[44], 1);
        let mut input = b.freeze();
        assert_eq!(ConnectRequest::decode(&mut input), Ok(req));
    }

    fn response_bytes(read_only: Option<bool>) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0, 0, 0, 0x27, 0x10]; // protocol 0, timeout 10000
        v.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 42]); // session 42
        v.extend_from_slice(&[0, 0, 0, 16]);
        v.extend_from_slice(&[7; 16]);
        if let Some(r) = read_only {
            v.push(u8::from(r));
        }
        v
    }

    #[test]
    fn accepted_with_and_without_read_only_flag() {
        let with = response_bytes(Some(true));
        assert_eq!(with.len(), 37);
        let reply = decode_connect_reply(&mut Bytes::from(with)).unwrap();
        let expected = ConnectResponse {
            protocol_version: 0,
            time_out: 10_000,
            session_id: 42,
            passwd: Bytes::from_static(&[7; 16]),
            read_only: true,
        };
        assert_eq!(reply, ConnectReply::Accepted(expected.clone()));
        assert!(!expected.is_expired());

        let without = response_bytes(None);
        assert_eq!(without.len(), 36);
        let reply = decode_connect_reply(&mut Bytes::from(without)).unwrap();
        assert_eq!(
            reply,
            ConnectReply::Accepted(ConnectResponse {
                read_only: false,
                ..expected
            })
        );
    }

    #[test]
    fn expired_session_reply() {
        let mut v = vec![0u8; 20];
        v[19] = 16;
        v.extend_from_slice(&[0; 16]);
        v.push(0);
        let ConnectReply::Accepted(r) = decode_connect_reply(&mut Bytes::from(v)).unwrap() else {
            panic!("expected a ConnectResponse");
        };
        assert!(r.is_expired());
    }

    #[test]
    fn bare_header_is_a_rejection() {
        #[rustfmt::skip]
        let raw = [
            0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0,
            0xff, 0xff, 0xff, 0x89, // -119 NOTREADONLY
        ];
        let reply = decode_connect_reply(&mut Bytes::copy_from_slice(&raw)).unwrap();
        assert_eq!(
            reply,
            ConnectReply::Rejected(ReplyHeader {
                xid: 0,
                zxid: 0,
                err: ErrorCode::NotReadOnly
            })
        );
    }

    #[test]
    fn short_or_lying_replies_are_errors() {
        for len in 0..36 {
            if len == ReplyHeader::LEN {
                continue;
            }
            let v = response_bytes(Some(false));
            assert!(
                decode_connect_reply(&mut Bytes::copy_from_slice(&v[..len])).is_err(),
                "len {len}"
            );
        }
        let mut v = response_bytes(Some(false));
        v[16..20].copy_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
        assert!(matches!(
            decode_connect_reply(&mut Bytes::from(v)),
            Err(DecodeError::LengthExceedsInput { .. })
        ));
    }

    proptest! {
        #[test]
        fn request_round_trip(v in arb_connect_request()) {
            assert_round_trip(&v)?;
        }

        #[test]
        fn response_round_trip(v in arb_connect_response()) {
            assert_round_trip(&v)?;
            let mut b = BytesMut::new();
            v.encode(&mut b);
            prop_assert_eq!(
                decode_connect_reply(&mut b.freeze())?,
                ConnectReply::Accepted(v)
            );
        }
    }
}
