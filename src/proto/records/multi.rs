//! The framing records of multi transactions, and `ErrorResponse`, the body of a failed op
//! inside a multi (also what addWatch answers).

record! {
    /// Precedes every op in a multi request and every result in a multi reply; a header with
    /// `done == true` terminates the list.
    pub struct MultiHeader {
        /// The op's type, or -1 for an error result and for the terminator.
        pub type_: i32,
        /// True only on the terminator.
        pub done: bool,
        /// -1 in requests; in replies the op's result code.
        pub err: i32,
    }
}

impl MultiHeader {
    /// The terminator `{-1, true, -1}` that ends both requests and replies.
    pub const END: MultiHeader = MultiHeader {
        type_: -1,
        done: true,
        err: -1,
    };

    /// The header in front of one op of a multi request: `{type, false, -1}`.
    pub fn op(type_: i32) -> MultiHeader {
        MultiHeader {
            type_,
            done: false,
            err: -1,
        }
    }
}

record! {
    /// `{int err}`: the body of a failed op in a multi reply, and of an addWatch reply.
    pub struct ErrorResponse {
        /// The result code.
        pub err: i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::Encode;
    use crate::proto::strategies::*;
    use bytes::BytesMut;
    use proptest::prelude::*;

    #[test]
    fn terminator_vector() {
        let mut b = BytesMut::new();
        MultiHeader::END.encode(&mut b);
        MultiHeader::op(13).encode(&mut b);
        assert_eq!(
            &b[..],
            [
                0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 13, 0, 0xff, 0xff,
                0xff, 0xff
            ]
        );
    }

    proptest! {
        #[test]
        fn multi_header_round_trip(v in arb_multi_header()) { assert_round_trip(&v)?; }
        #[test]
        fn error_response_round_trip(err in any::<i32>()) {
            assert_round_trip(&ErrorResponse { err })?;
        }
    }
}
