//! Requests and responses of the single-node operations: create (all flavours), delete, exists,
//! getData, setData, getACL, setACL, getChildren(2), sync and the multi-only version check.

use bytes::Bytes;

use super::acl::Acl;
use super::stat::Stat;

/// The `flags` of a create request.
///
/// Sequential modes append `%010d` of the parent's signed counter to the path.
pub mod create_mode {
    /// A plain node that outlives the session.
    pub const PERSISTENT: i32 = 0;
    /// Deleted when the creating session ends.
    pub const EPHEMERAL: i32 = 1;
    /// Persistent with a sequence suffix.
    pub const PERSISTENT_SEQUENTIAL: i32 = 2;
    /// Ephemeral with a sequence suffix (locks, barriers, queues).
    pub const EPHEMERAL_SEQUENTIAL: i32 = 3;
    /// Reaped by the server once its last child is gone (use the createContainer op).
    pub const CONTAINER: i32 = 4;
    /// Persistent, reaped after the TTL if it has no children (use the createTTL op).
    pub const PERSISTENT_WITH_TTL: i32 = 5;
    /// Like [`PERSISTENT_WITH_TTL`] with a sequence suffix.
    pub const PERSISTENT_SEQUENTIAL_WITH_TTL: i32 = 6;
}

record! {
    /// Body of create (1), create2 (15) and createContainer (19): the three share one layout.
    pub struct CreateRequest {
        /// Absolute path (the sequential prefix, for sequential modes).
        pub path: String,
        /// Initial data.
        pub data: Bytes,
        /// ACL; must not be empty (the server answers INVALIDACL).
        pub acl: Vec<Acl>,
        /// One of the [`create_mode`] values.
        pub flags: i32,
    }
}

record! {
    /// Body of createTTL (21): a create with a time-to-live in ms.
    pub struct CreateTtlRequest {
        /// Absolute path.
        pub path: String,
        /// Initial data.
        pub data: Bytes,
        /// ACL; must not be empty.
        pub acl: Vec<Acl>,
        /// [`create_mode::PERSISTENT_WITH_TTL`] or [`create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL`].
        pub flags: i32,
        /// Time to live in ms.
        pub ttl: i64,
    }
}

record! {
    /// Reply to create (1): the actual path (with the sequence suffix, if any).
    pub struct CreateResponse {
        /// The created path.
        pub path: String,
    }
}

record! {
    /// Reply to create2 (15), createContainer (19) and createTTL (21).
    pub struct Create2Response {
        /// The created path.
        pub path: String,
        /// The new node's Stat (its czxid is a fencing token).
        pub stat: Stat,
    }
}

record! {
    /// Body of delete (2).
    pub struct DeleteRequest {
        /// Absolute path.
        pub path: String,
        /// Expected version, or -1 for any.
        pub version: i32,
    }
}

record! {
    /// A body that is just a path: getACL, sync, getEphemerals (a prefix), getAllChildrenNumber;
    /// also the layout of the sync reply.
    pub struct PathRequest {
        /// Absolute path (or prefix for getEphemerals).
        pub path: String,
    }
}

record! {
    /// A path plus "leave a watch": exists, getData, getChildren, getChildren2.
    pub struct PathWatchRequest {
        /// Absolute path.
        pub path: String,
        /// Whether the server should arm a one-shot watch.
        pub watch: bool,
    }
}

record! {
    /// Reply to exists (3).
    pub struct ExistsResponse {
        /// The node's Stat.
        pub stat: Stat,
    }
}

record! {
    /// Reply to getData (4).
    pub struct GetDataResponse {
        /// The node's data (shares the frame's memory).
        pub data: Bytes,
        /// The node's Stat.
        pub stat: Stat,
    }
}

record! {
    /// Body of setData (5).
    pub struct SetDataRequest {
        /// Absolute path.
        pub path: String,
        /// New data.
        pub data: Bytes,
        /// Expected version, or -1 for any.
        pub version: i32,
    }
}

record! {
    /// Reply to setData (5).
    pub struct SetDataResponse {
        /// The node's new Stat.
        pub stat: Stat,
    }
}

record! {
    /// Reply to getACL (6).
    pub struct GetAclResponse {
        /// The node's ACL.
        pub acl: Vec<Acl>,
        /// The node's Stat.
        pub stat: Stat,
    }
}

record! {
    /// Body of setACL (7).
    pub struct SetAclRequest {
        /// Absolute path.
        pub path: String,
        /// New ACL; must not be empty.
        pub acl: Vec<Acl>,
        /// Expected ACL version (`aversion`), or -1 for any.
        pub version: i32,
    }
}

record! {
    /// Reply to setACL (7).
    pub struct SetAclResponse {
        /// The node's new Stat.
        pub stat: Stat,
    }
}

record! {
    /// Reply to getChildren (8).
    pub struct GetChildrenResponse {
        /// Child names (not full paths), in no particular order.
        pub children: Vec<String>,
    }
}

record! {
    /// Reply to getChildren2 (12).
    pub struct GetChildren2Response {
        /// Child names (not full paths), in no particular order.
        pub children: Vec<String>,
        /// The parent's Stat.
        pub stat: Stat,
    }
}

record! {
    /// Reply to sync (9).
    pub struct SyncResponse {
        /// The synced path.
        pub path: String,
    }
}

record! {
    /// Body of check (13). Only ever sent inside a multi: a standalone check crashes 3.8.0
    /// ensembles, which is why [`Request`](crate::proto::Request) has no variant for it.
    pub struct CheckVersionRequest {
        /// Absolute path.
        pub path: String,
        /// Required version (-1 only checks existence).
        pub version: i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::{Decode, Encode};
    use crate::proto::strategies::*;
    use bytes::BytesMut;
    use proptest::prelude::*;

    #[test]
    fn create_request_vector() {
        let req = CreateRequest {
            path: "/a".into(),
            data: Bytes::from_static(b"x"),
            acl: Acl::open_unsafe(),
            flags: create_mode::EPHEMERAL_SEQUENTIAL,
        };
        let mut b = BytesMut::new();
        req.encode(&mut b);
        let mut expected = vec![0, 0, 0, 2, b'/', b'a', 0, 0, 0, 1, b'x'];
        expected.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 31, 0, 0, 0, 5]);
        expected.extend_from_slice(b"world");
        expected.extend_from_slice(&[0, 0, 0, 6]);
        expected.extend_from_slice(b"anyone");
        expected.extend_from_slice(&[0, 0, 0, 3]);
        assert_eq!(&b[..], &expected[..]);
        let mut input = b.freeze();
        assert_eq!(CreateRequest::decode(&mut input), Ok(req));
    }

    #[test]
    fn path_watch_and_delete_vectors() {
        let mut b = BytesMut::new();
        PathWatchRequest {
            path: "/".into(),
            watch: true,
        }
        .encode(&mut b);
        DeleteRequest {
            path: "/b".into(),
            version: -1,
        }
        .encode(&mut b);
        assert_eq!(
            &b[..],
            [0, 0, 0, 1, b'/', 1, 0, 0, 0, 2, b'/', b'b', 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn min_lengths() {
        assert_eq!(Create2Response::MIN_ENCODED_LEN, 4 + 68);
        assert_eq!(GetDataResponse::MIN_ENCODED_LEN, 4 + 68);
        assert_eq!(CreateTtlRequest::MIN_ENCODED_LEN, 4 + 4 + 4 + 4 + 8);
    }

    proptest! {
        #[test]
        fn create_round_trip(v in arb_create_request()) { assert_round_trip(&v)?; }
        #[test]
        fn create_ttl_round_trip(v in arb_create_ttl_request()) { assert_round_trip(&v)?; }
        #[test]
        fn create_response_round_trip(path in arb_path()) {
            assert_round_trip(&CreateResponse { path })?;
        }
        #[test]
        fn create2_response_round_trip(path in arb_path(), stat in arb_stat()) {
            assert_round_trip(&Create2Response { path, stat })?;
        }
        #[test]
        fn delete_round_trip(v in arb_delete_request()) { assert_round_trip(&v)?; }
        #[test]
        fn path_round_trip(path in arb_path()) {
            assert_round_trip(&PathRequest { path: path.clone() })?;
            assert_round_trip(&SyncResponse { path })?;
        }
        #[test]
        fn path_watch_round_trip(v in arb_path_watch_request()) { assert_round_trip(&v)?; }
        #[test]
        fn stat_responses_round_trip(stat in arb_stat()) {
            assert_round_trip(&ExistsResponse { stat: stat.clone() })?;
            assert_round_trip(&SetDataResponse { stat: stat.clone() })?;
            assert_round_trip(&SetAclResponse { stat })?;
        }
        #[test]
        fn get_data_round_trip(data in arb_bytes(), stat in arb_stat()) {
            assert_round_trip(&GetDataResponse { data, stat })?;
        }
        #[test]
        fn set_data_round_trip(v in arb_set_data_request()) { assert_round_trip(&v)?; }
        #[test]
        fn get_acl_round_trip(acl in arb_acls(), stat in arb_stat()) {
            assert_round_trip(&GetAclResponse { acl, stat })?;
        }
        #[test]
        fn set_acl_round_trip(v in arb_set_acl_request()) { assert_round_trip(&v)?; }
        #[test]
        fn children_round_trip(children in arb_names(), stat in arb_stat()) {
            assert_round_trip(&GetChildrenResponse { children: children.clone() })?;
            assert_round_trip(&GetChildren2Response { children, stat })?;
        }
        #[test]
        fn check_round_trip(v in arb_check_request()) { assert_round_trip(&v)?; }
    }
}
