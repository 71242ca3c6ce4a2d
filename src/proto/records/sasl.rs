//! SASL packets (op `sasl`, 102): one token each way per round of a SASL exchange.
//!
//! The client sends `GetSASLRequest{token}` with an ordinary user xid (as ZooKeeper's
//! `ClientCnxn.sendPacket` does), the server answers `SetSASLResponse{token}` under the same xid.
//! The names are ZooKeeper's own (`zookeeper.jute`), odd as they read. On failure the server
//! answers err AUTHFAILED (-115), or SESSIONCLOSEDREQUIRESASLAUTH (-124) when it requires SASL,
//! with a null token, and closes the connection.

use bytes::Bytes;

record! {
    /// Body of sasl (102) from the client: its next SASL token (empty for the first packet of a
    /// mechanism without an initial response, such as DIGEST-MD5).
    pub struct GetSaslRequest {
        /// The client's token.
        pub token: Bytes,
    }
}

record! {
    /// Body of the reply to sasl (102): the server's challenge, or its final token (DIGEST-MD5:
    /// `rspauth=...`). A null token (-1) decodes as empty.
    pub struct SetSaslResponse {
        /// The server's token.
        pub token: Bytes,
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
    fn token_is_a_buffer() {
        let mut b = BytesMut::new();
        GetSaslRequest {
            token: Bytes::from_static(b"ab"),
        }
        .encode(&mut b);
        assert_eq!(&b[..], &[0, 0, 0, 2, b'a', b'b']);
    }

    proptest! {
        #[test]
        fn round_trip(token in arb_bytes()) {
            assert_round_trip(&GetSaslRequest { token: token.clone() })?;
            assert_round_trip(&SetSaslResponse { token })?;
        }
    }
}
