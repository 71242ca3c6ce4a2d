//! Access control: `Id`, `ACL`, the permission bits and the stock ACL lists.

/// Permission bits of an [`Acl`].
pub mod perms {
    /// Read data and list children.
    pub const READ: i32 = 1;
    /// Write data.
    pub const WRITE: i32 = 2;
    /// Create children.
    pub const CREATE: i32 = 4;
    /// Delete children.
    pub const DELETE: i32 = 8;
    /// Change the ACL.
    pub const ADMIN: i32 = 16;
    /// Everything.
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}

record! {
    /// An identity: an auth scheme and an id within it (e.g. `world:anyone`, `digest:user:hash`).
    pub struct Id {
        /// The auth scheme (`world`, `auth`, `digest`, `ip`, ...).
        pub scheme: String,
        /// The id within the scheme.
        pub id: String,
    }
}

record! {
    /// One ACL entry: which [`perms`] an identity has.
    pub struct Acl {
        /// Bitwise OR of [`perms`] constants.
        pub perms: i32,
        /// Who gets them.
        pub id: Id,
    }
}

impl Acl {
    fn world(perms: i32) -> Vec<Acl> {
        vec![Acl {
            perms,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }]
    }

    /// `world:anyone` with all permissions (Java's `OPEN_ACL_UNSAFE`): the usual default, named
    /// "unsafe" because anyone can change or delete the node.
    pub fn open_unsafe() -> Vec<Acl> {
        Acl::world(perms::ALL)
    }

    /// `world:anyone` read-only (Java's `READ_ACL_UNSAFE`).
    pub fn read_unsafe() -> Vec<Acl> {
        Acl::world(perms::READ)
    }

    /// All permissions for whoever created the node (`auth:` with an empty id, Java's
    /// `CREATOR_ALL_ACL`); the session must have added credentials or the server answers
    /// INVALIDACL.
    pub fn creator_all() -> Vec<Acl> {
        vec![Acl {
            perms: perms::ALL,
            id: Id {
                scheme: "auth".into(),
                id: String::new(),
            },
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::Encode;
    use crate::proto::strategies::{arb_acl, arb_id, assert_round_trip};
    use bytes::BytesMut;
    use proptest::prelude::*;

    #[test]
    fn open_unsafe_vector() {
        let mut b = BytesMut::new();
        Acl::open_unsafe().encode(&mut b);
        let mut expected = vec![0, 0, 0, 1, 0, 0, 0, 31, 0, 0, 0, 5];
        expected.extend_from_slice(b"world");
        expected.extend_from_slice(&[0, 0, 0, 6]);
        expected.extend_from_slice(b"anyone");
        assert_eq!(&b[..], &expected[..]);
    }

    #[test]
    fn stock_lists() {
        assert_eq!(perms::ALL, 31);
        assert_eq!(Acl::read_unsafe()[0].perms, perms::READ);
        assert_eq!(Acl::creator_all()[0].id.scheme, "auth");
        assert_eq!(Acl::creator_all()[0].id.id, "");
    }

    proptest! {
        #[test]
        fn id_round_trip(v in arb_id()) {
            assert_round_trip(&v)?;
        }

        #[test]
        fn acl_round_trip(v in arb_acl()) {
            assert_round_trip(&v)?;
        }
    }
}
