//! Replies of the session-introspection ops: getEphemerals, getAllChildrenNumber and whoAmI.

record! {
    /// Reply to getEphemerals (103).
    pub struct GetEphemeralsResponse {
        /// Full paths of the session's ephemeral nodes under the requested prefix.
        pub ephemerals: Vec<String>,
    }
}

record! {
    /// Reply to getAllChildrenNumber (104).
    pub struct GetAllChildrenNumberResponse {
        /// Number of descendants of the node.
        pub total_number: i32,
    }
}

record! {
    /// One identity the session is authenticated as.
    pub struct ClientInfo {
        /// Auth scheme, e.g. `ip` or `digest`.
        pub auth_scheme: String,
        /// The user within that scheme.
        pub user: String,
    }
}

record! {
    /// Reply to whoAmI (107).
    pub struct WhoAmIResponse {
        /// Every identity the session holds.
        pub client_info: Vec<ClientInfo>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::Decode;
    use crate::proto::strategies::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    #[test]
    fn who_am_i_vector() {
        let mut raw = vec![0, 0, 0, 1, 0, 0, 0, 2, b'i', b'p', 0, 0, 0, 9];
        raw.extend_from_slice(b"127.0.0.1");
        let r = WhoAmIResponse::decode(&mut Bytes::from(raw)).unwrap();
        assert_eq!(
            r.client_info,
            vec![ClientInfo {
                auth_scheme: "ip".into(),
                user: "127.0.0.1".into()
            }]
        );
    }

    proptest! {
        #[test]
        fn ephemerals_round_trip(ephemerals in arb_names()) {
            assert_round_trip(&GetEphemeralsResponse { ephemerals })?;
        }
        #[test]
        fn all_children_number_round_trip(total_number in any::<i32>()) {
            assert_round_trip(&GetAllChildrenNumberResponse { total_number })?;
        }
        #[test]
        fn who_am_i_round_trip(client_info in arb_client_infos()) {
            assert_round_trip(&WhoAmIResponse { client_info })?;
        }
    }
}
