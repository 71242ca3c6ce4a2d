//! The headers in front of every request and reply body, and the reserved xids.

use crate::proto::error_code::ErrorCode;
use crate::proto::op_code::OpCode;

/// Reserved xids: replies carrying these are not answers to user requests.
///
/// User xids start at 1 and wrap from `i32::MAX` back to 1, so they never collide with these.
pub mod xid {
    /// A watch notification (server-initiated; zxid is -1 in 3.8).
    pub const NOTIFICATION: i32 = -1;
    /// A ping and its reply.
    pub const PING: i32 = -2;
    /// An auth packet and its reply.
    pub const AUTH: i32 = -4;
    /// A SetWatches(2) packet and its reply.
    pub const SET_WATCHES: i32 = -8;
}

record! {
    /// `{int xid, int type}` in front of every request body except the handshake.
    pub struct RequestHeader {
        /// Correlates the reply; see [`xid`] for reserved values.
        pub xid: i32,
        /// The operation, encoded as its int type.
        pub op: OpCode,
    }
}

impl RequestHeader {
    /// Encoded size: two ints.
    pub const LEN: usize = 8;
}

record! {
    /// `{int xid, long zxid, int err}` in front of every reply body except the handshake.
    ///
    /// When `err` is not `Ok` there is no body (except for multi, whose failures are reported per
    /// op with header err 0).
    pub struct ReplyHeader {
        /// The request's xid, or a reserved [`xid`] value.
        pub xid: i32,
        /// The server's last zxid when it answered (-1 for notifications in 3.8).
        pub zxid: i64,
        /// The result code.
        pub err: ErrorCode,
    }
}

impl ReplyHeader {
    /// Encoded size: int + long + int. A handshake reply of exactly this size is a rejection.
    pub const LEN: usize = 16;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::{Decode, Encode};
    use crate::proto::strategies::{arb_reply_header, arb_request_header, assert_round_trip};
    use bytes::{Bytes, BytesMut};
    use proptest::prelude::*;

    #[test]
    fn request_header_vector() {
        let mut b = BytesMut::new();
        RequestHeader {
            xid: 1,
            op: OpCode::GetData,
        }
        .encode(&mut b);
        assert_eq!(&b[..], [0, 0, 0, 1, 0, 0, 0, 4]);
        assert_eq!(b.len(), RequestHeader::LEN);
    }

    #[test]
    fn reply_header_vector() {
        #[rustfmt::skip]
        let raw = [
            0xff, 0xff, 0xff, 0xfe,             // xid -2 (ping)
            0, 0, 0, 0, 0, 0, 0x01, 0x02,       // zxid 258
            0xff, 0xff, 0xff, 0x9b,             // err -101
        ];
        let mut input = Bytes::copy_from_slice(&raw);
        let h = ReplyHeader::decode(&mut input).unwrap();
        assert_eq!(
            h,
            ReplyHeader {
                xid: xid::PING,
                zxid: 258,
                err: ErrorCode::NoNode
            }
        );
        let mut b = BytesMut::new();
        h.encode(&mut b);
        assert_eq!(&b[..], &raw[..]);
        assert_eq!(<ReplyHeader as Decode>::MIN_ENCODED_LEN, ReplyHeader::LEN);
    }

    proptest! {
        #[test]
        fn request_header_round_trip(h in arb_request_header()) {
            assert_round_trip(&h)?;
        }

        #[test]
        fn reply_header_round_trip(h in arb_reply_header()) {
            assert_round_trip(&h)?;
        }
    }
}
