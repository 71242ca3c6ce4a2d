//! `AuthPacket`: adds credentials to a session (sent with xid -4, and again after every
//! reconnect, since the server forgets them with the connection).

use bytes::Bytes;

record! {
    /// Body of auth (100).
    pub struct AuthPacket {
        /// Always 0.
        pub type_: i32,
        /// Auth scheme, e.g. `digest`.
        pub scheme: String,
        /// Scheme-specific credentials, e.g. `user:password` for digest.
        pub auth: Bytes,
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
    fn digest_vector() {
        let mut b = BytesMut::new();
        AuthPacket {
            type_: 0,
            scheme: "digest".into(),
            auth: Bytes::from_static(b"u:p"),
        }
        .encode(&mut b);
        let mut expected = vec![0, 0, 0, 0, 0, 0, 0, 6];
        expected.extend_from_slice(b"digest");
        expected.extend_from_slice(&[0, 0, 0, 3, b'u', b':', b'p']);
        assert_eq!(&b[..], &expected[..]);
    }

    proptest! {
        #[test]
        fn round_trip(v in arb_auth_packet()) { assert_round_trip(&v)?; }
    }
}
