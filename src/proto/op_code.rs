//! Operation codes (`ZooDefs.OpCode`): the `type` field of a request header and of a multi header.

use bytes::{Bytes, BytesMut};

use super::error::DecodeError;
use super::jute::{Decode, Encode};

/// A ZooKeeper operation code.
///
/// Unknown values are kept as [`OpCode::Unknown`] so decoding a header never fails on a value
/// from a newer server; whoever interprets the body decides whether it can handle it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OpCode {
    /// 0: watch notification. The default, as in jute where an unset int is 0.
    #[default]
    Notification,
    /// 1: create a node, reply carries the path.
    Create,
    /// 2: delete a node.
    Delete,
    /// 3: stat a node (optionally arming a watch).
    Exists,
    /// 4: read a node's data.
    GetData,
    /// 5: write a node's data.
    SetData,
    /// 6: read a node's ACL.
    GetAcl,
    /// 7: write a node's ACL.
    SetAcl,
    /// 8: list children.
    GetChildren,
    /// 9: sync the server with the leader.
    Sync,
    /// 11: keep-alive.
    Ping,
    /// 12: list children plus the parent's Stat.
    GetChildren2,
    /// 13: version check; only valid inside a multi (alone it crashes 3.8.0 ensembles).
    Check,
    /// 14: atomic multi-op transaction.
    Multi,
    /// 15: create returning path and Stat.
    Create2,
    /// 16: dynamic reconfiguration.
    Reconfig,
    /// 17: check whether a watch exists.
    CheckWatches,
    /// 18: remove watches.
    RemoveWatches,
    /// 19: create a container node.
    CreateContainer,
    /// 20: delete a container node (server-internal).
    DeleteContainer,
    /// 21: create a node with a TTL.
    CreateTtl,
    /// 22: batched reads.
    MultiRead,
    /// 100: add authentication.
    Auth,
    /// 101: re-register watches after reconnect.
    SetWatches,
    /// 102: SASL exchange.
    Sasl,
    /// 103: list the session's ephemeral nodes.
    GetEphemerals,
    /// 104: count all descendants.
    GetAllChildrenNumber,
    /// 105: re-register watches including persistent ones.
    SetWatches2,
    /// 106: add a persistent (recursive) watch.
    AddWatch,
    /// 107: ask the server who we are authenticated as.
    WhoAmI,
    /// -10: create session (server-internal).
    CreateSession,
    /// -11: close the session.
    CloseSession,
    /// -1: error marker (multi results and terminator).
    Error,
    /// Any other value.
    Unknown(i32),
}

impl OpCode {
    /// Maps a wire value to an opcode; never fails.
    pub fn from_i32(v: i32) -> Self {
        use OpCode::*;
        match v {
            0 => Notification,
            1 => Create,
            2 => Delete,
            3 => Exists,
            4 => GetData,
            5 => SetData,
            6 => GetAcl,
            7 => SetAcl,
            8 => GetChildren,
            9 => Sync,
            11 => Ping,
            12 => GetChildren2,
            13 => Check,
            14 => Multi,
            15 => Create2,
            16 => Reconfig,
            17 => CheckWatches,
            18 => RemoveWatches,
            19 => CreateContainer,
            20 => DeleteContainer,
            21 => CreateTtl,
            22 => MultiRead,
            100 => Auth,
            101 => SetWatches,
            102 => Sasl,
            103 => GetEphemerals,
            104 => GetAllChildrenNumber,
            105 => SetWatches2,
            106 => AddWatch,
            107 => WhoAmI,
            -10 => CreateSession,
            -11 => CloseSession,
            -1 => Error,
            other => Unknown(other),
        }
    }

    /// The wire value.
    pub fn as_i32(self) -> i32 {
        use OpCode::*;
        match self {
            Notification => 0,
            Create => 1,
            Delete => 2,
            Exists => 3,
            GetData => 4,
            SetData => 5,
            GetAcl => 6,
            SetAcl => 7,
            GetChildren => 8,
            Sync => 9,
            Ping => 11,
            GetChildren2 => 12,
            Check => 13,
            Multi => 14,
            Create2 => 15,
            Reconfig => 16,
            CheckWatches => 17,
            RemoveWatches => 18,
            CreateContainer => 19,
            DeleteContainer => 20,
            CreateTtl => 21,
            MultiRead => 22,
            Auth => 100,
            SetWatches => 101,
            Sasl => 102,
            GetEphemerals => 103,
            GetAllChildrenNumber => 104,
            SetWatches2 => 105,
            AddWatch => 106,
            WhoAmI => 107,
            CreateSession => -10,
            CloseSession => -11,
            Error => -1,
            Unknown(v) => v,
        }
    }

    /// Every named opcode, for tests and tools that want to iterate over them.
    pub const ALL: [OpCode; 33] = {
        use OpCode::*;
        [
            Notification,
            Create,
            Delete,
            Exists,
            GetData,
            SetData,
            GetAcl,
            SetAcl,
            GetChildren,
            Sync,
            Ping,
            GetChildren2,
            Check,
            Multi,
            Create2,
            Reconfig,
            CheckWatches,
            RemoveWatches,
            CreateContainer,
            DeleteContainer,
            CreateTtl,
            MultiRead,
            Auth,
            SetWatches,
            Sasl,
            GetEphemerals,
            GetAllChildrenNumber,
            SetWatches2,
            AddWatch,
            WhoAmI,
            CreateSession,
            CloseSession,
            Error,
        ]
    };
}

impl From<i32> for OpCode {
    fn from(v: i32) -> Self {
        OpCode::from_i32(v)
    }
}

impl From<OpCode> for i32 {
    fn from(op: OpCode) -> Self {
        op.as_i32()
    }
}

/// Encoded as a jute int, so headers can hold an `OpCode` directly.
impl Encode for OpCode {
    fn encode(&self, buf: &mut BytesMut) {
        self.as_i32().encode(buf);
    }
}

/// Decoded from a jute int; unknown values are kept, not rejected.
impl Decode for OpCode {
    const MIN_ENCODED_LEN: usize = 4;
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        i32::decode(buf).map(OpCode::from_i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
