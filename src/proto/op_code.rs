//! Operation codes (`ZooDefs.OpCode`): the `type` field of a request header and of a multi header.

wire_enum! {
    /// A ZooKeeper operation code.
    ///
    /// Unknown values are kept as [`OpCode::Unknown`] so decoding a header never fails on a value
    /// from a newer server; whoever interprets the body decides whether it can handle it.
    #[non_exhaustive]
    pub enum OpCode {
        /// Watch notification. The default, as in jute where an unset int is 0.
        #[default]
        Notification = 0,
        /// Create a node, reply carries the path.
        Create = 1,
        /// Delete a node.
        Delete = 2,
        /// Stat a node (optionally arming a watch).
        Exists = 3,
        /// Read a node's data.
        GetData = 4,
        /// Write a node's data.
        SetData = 5,
        /// Read a node's ACL.
        GetAcl = 6,
        /// Write a node's ACL.
        SetAcl = 7,
        /// List children.
        GetChildren = 8,
        /// Sync the server with the leader.
        Sync = 9,
        /// Keep-alive.
        Ping = 11,
        /// List children plus the parent's Stat.
        GetChildren2 = 12,
        /// Version check; only valid inside a multi (alone it crashes 3.8.0 ensembles).
        Check = 13,
        /// Atomic multi-op transaction.
        Multi = 14,
        /// Create returning path and Stat.
        Create2 = 15,
        /// Dynamic reconfiguration.
        Reconfig = 16,
        /// Check whether a watch exists.
        CheckWatches = 17,
        /// Remove watches.
        RemoveWatches = 18,
        /// Create a container node.
        CreateContainer = 19,
        /// Delete a container node (server-internal).
        DeleteContainer = 20,
        /// Create a node with a TTL.
        CreateTtl = 21,
        /// Batched reads.
        MultiRead = 22,
        /// Add authentication.
        Auth = 100,
        /// Re-register watches after reconnect.
        SetWatches = 101,
        /// SASL exchange.
        Sasl = 102,
        /// List the session's ephemeral nodes.
        GetEphemerals = 103,
        /// Count all descendants.
        GetAllChildrenNumber = 104,
        /// Re-register watches including persistent ones.
        SetWatches2 = 105,
        /// Add a persistent (recursive) watch.
        AddWatch = 106,
        /// Ask the server who we are authenticated as.
        WhoAmI = 107,
        /// Create session (server-internal).
        CreateSession = -10,
        /// Close the session.
        CloseSession = -11,
        /// Error marker (multi results and terminator).
        Error = -1,
        // Unknown(i32): any other value (added by `wire_enum!`).
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::{Decode, Encode};
    use bytes::BytesMut;

    #[test]
    fn every_named_opcode_round_trips() {
        for op in OpCode::ALL {
            assert_eq!(OpCode::from_i32(op.as_i32()), op);
            assert!(!matches!(op, OpCode::Unknown(_)));
        }
        let mut values: Vec<i32> = OpCode::ALL.iter().map(|o| o.as_i32()).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), OpCode::ALL.len());
    }

    #[test]
    fn spot_values_match_protocol_notes() {
        assert_eq!(OpCode::Check.as_i32(), 13);
        assert_eq!(OpCode::Multi.as_i32(), 14);
        assert_eq!(OpCode::Create2.as_i32(), 15);
        assert_eq!(OpCode::CreateTtl.as_i32(), 21);
        assert_eq!(OpCode::WhoAmI.as_i32(), 107);
        assert_eq!(OpCode::CloseSession.as_i32(), -11);
        assert_eq!(OpCode::from(10), OpCode::Unknown(10));
        assert_eq!(i32::from(OpCode::Ping), 11);
    }

    #[test]
    fn encodes_as_int() {
        let mut b = BytesMut::new();
        OpCode::SetWatches2.encode(&mut b);
        assert_eq!(&b[..], &[0, 0, 0, 105]);
        let mut input = b.freeze();
        assert_eq!(OpCode::decode(&mut input), Ok(OpCode::SetWatches2));
    }
}
