//! `Stat`: the metadata ZooKeeper keeps for every node.

record! {
    /// A node's metadata, 68 bytes on the wire.
    ///
    /// The recipes lean on it: `czxid` and the sequence number are fencing tokens, `version`
    /// drives compare-and-set writes, `ephemeral_owner` tells whose session holds a node.
    pub struct Stat {
        /// zxid of the transaction that created the node.
        pub czxid: i64,
        /// zxid of the last data change.
        pub mzxid: i64,
        /// Creation time, ms since the epoch (server clock).
        pub ctime: i64,
        /// Last modification time, ms since the epoch (server clock).
        pub mtime: i64,
        /// Number of data changes.
        pub version: i32,
        /// Number of child-list changes.
        pub cversion: i32,
        /// Number of ACL changes.
        pub aversion: i32,
        /// Owning session id for an ephemeral node, 0 otherwise.
        pub ephemeral_owner: i64,
        /// Length of the data in bytes.
        pub data_length: i32,
        /// Number of children.
        pub num_children: i32,
        /// zxid of the last child-list change.
        pub pzxid: i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::{Decode, Encode};
    use crate::proto::strategies::arb_stat;
    use bytes::{Bytes, BytesMut};
    use proptest::prelude::*;

    fn sample() -> Stat {
        Stat {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            data_length: 9,
            num_children: 10,
            pzxid: 11,
        }
    }

    #[test]
    fn stat_is_68_bytes_in_field_order() {
        let mut b = BytesMut::new();
        sample().encode(&mut b);
        #[rustfmt::skip]
        let expected: [u8; 68] = [
            0, 0, 0, 0, 0, 0, 0, 1,
            0, 0, 0, 0, 0, 0, 0, 2,
            0, 0, 0, 0, 0, 0, 0, 3,
            0, 0, 0, 0, 0, 0, 0, 4,
            0, 0, 0, 5,
            0, 0, 0, 6,
            0, 0, 0, 7,
            0, 0, 0, 0, 0, 0, 0, 8,
            0, 0, 0, 9,
            0, 0, 0, 10,
            0, 0, 0, 0, 0, 0, 0, 11,
        ];
        assert_eq!(&b[..], &expected[..]);
        assert_eq!(Stat::MIN_ENCODED_LEN, 68);
        let mut input = Bytes::copy_from_slice(&expected);
        assert_eq!(Stat::decode(&mut input), Ok(sample()));
        assert!(input.is_empty());
    }

    #[test]
    fn truncated_stat_is_an_error() {
        let mut b = BytesMut::new();
        sample().encode(&mut b);
        for cut in 0..68 {
            let mut input = Bytes::copy_from_slice(&b[..cut]);
            assert!(Stat::decode(&mut input).is_err(), "cut at {cut}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(s in arb_stat()) {
            let mut b = BytesMut::new();
            s.encode(&mut b);
            prop_assert_eq!(b.len(), 68);
            let mut input = b.freeze();
            prop_assert_eq!(Stat::decode(&mut input)?, s);
            prop_assert!(input.is_empty());
        }
    }
}
