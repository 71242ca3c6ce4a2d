//! ZooKeeper's result codes (`KeeperException.Code`), as carried in `ReplyHeader.err` and in
//! multi results.

use std::fmt;

use bytes::{Bytes, BytesMut};

use super::error::DecodeError;
use super::jute::{Decode, Encode};

/// A ZooKeeper result code.
///
/// Codes this crate does not know are kept as [`ErrorCode::Unknown`] rather than rejected, so a
/// newer server's reply never becomes a decoding failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 0: success. The default, as in jute where an unset int is 0.
    #[default]
    Ok,
    /// -1: unexpected server-side failure.
    SystemError,
    /// -2: a multi op was not executed because an earlier op failed.
    RuntimeInconsistency,
    /// -3: data inconsistency detected.
    DataInconsistency,
    /// -4: the connection was lost (made by the client, never sent by a server).
    ConnectionLoss,
    /// -5: (de)serialization failure; also a read inside a write multi.
    MarshallingError,
    /// -6: the server does not implement the operation.
    Unimplemented,
    /// -7: the operation timed out.
    OperationTimeout,
    /// -8: invalid arguments.
    BadArguments,
    /// -12: unknown session.
    UnknownSession,
    /// -13: reconfig: no quorum for the new configuration.
    NewConfigNoQuorum,
    /// -14: another reconfig is in progress.
    ReconfigInProgress,
    /// -100: API error base code.
    ApiError,
    /// -101: the node does not exist.
    NoNode,
    /// -102: not authorized.
    NoAuth,
    /// -103: the expected version does not match.
    BadVersion,
    /// -108: ephemeral nodes cannot have children.
    NoChildrenForEphemerals,
    /// -110: the node already exists.
    NodeExists,
    /// -111: the node has children.
    NotEmpty,
    /// -112: the session has expired.
    SessionExpired,
    /// -113: invalid callback.
    InvalidCallback,
    /// -114: invalid (e.g. empty) ACL.
    InvalidAcl,
    /// -115: authentication failed.
    AuthFailed,
    /// -118: the session moved to another server.
    SessionMoved,
    /// -119: a write was sent to a read-only server.
    NotReadOnly,
    /// -120: ephemeral node requested on a local session.
    EphemeralOnLocalSession,
    /// -121: no such watcher (checkWatches / removeWatches).
    NoWatcher,
    /// -122: the request timed out.
    RequestTimeout,
    /// -123: reconfig is disabled.
    ReconfigDisabled,
    /// -124: the session was closed because SASL authentication is required.
    SessionClosedRequireSaslAuth,
    /// -125: a quota was exceeded.
    QuotaExceeded,
    /// -127: the server throttled the operation.
    Throttled,
    /// Any code this crate does not know.
    Unknown(i32),
}

impl ErrorCode {
    /// Maps a wire value to a code; never fails (unknown values become [`ErrorCode::Unknown`]).
    pub fn from_i32(v: i32) -> Self {
        use ErrorCode::*;
        match v {
            0 => Ok,
            -1 => SystemError,
            -2 => RuntimeInconsistency,
            -3 => DataInconsistency,
            -4 => ConnectionLoss,
            -5 => MarshallingError,
            -6 => Unimplemented,
            -7 => OperationTimeout,
            -8 => BadArguments,
            -12 => UnknownSession,
            -13 => NewConfigNoQuorum,
            -14 => ReconfigInProgress,
            -100 => ApiError,
            -101 => NoNode,
            -102 => NoAuth,
            -103 => BadVersion,
            -108 => NoChildrenForEphemerals,
            -110 => NodeExists,
            -111 => NotEmpty,
            -112 => SessionExpired,
            -113 => InvalidCallback,
            -114 => InvalidAcl,
            -115 => AuthFailed,
            -118 => SessionMoved,
            -119 => NotReadOnly,
            -120 => EphemeralOnLocalSession,
            -121 => NoWatcher,
            -122 => RequestTimeout,
            -123 => ReconfigDisabled,
            -124 => SessionClosedRequireSaslAuth,
            -125 => QuotaExceeded,
            -127 => Throttled,
            other => Unknown(other),
        }
    }

    /// The wire value; `from_i32(c.as_i32()) == c` for every code except an `Unknown` holding a
    /// known value.
    pub fn as_i32(self) -> i32 {
        use ErrorCode::*;
        match self {
            Ok => 0,
            SystemError => -1,
            RuntimeInconsistency => -2,
            DataInconsistency => -3,
            ConnectionLoss => -4,
            MarshallingError => -5,
            Unimplemented => -6,
            OperationTimeout => -7,
            BadArguments => -8,
            UnknownSession => -12,
            NewConfigNoQuorum => -13,
            ReconfigInProgress => -14,
            ApiError => -100,
            NoNode => -101,
            NoAuth => -102,
            BadVersion => -103,
            NoChildrenForEphemerals => -108,
            NodeExists => -110,
            NotEmpty => -111,
            SessionExpired => -112,
            InvalidCallback => -113,
            InvalidAcl => -114,
            AuthFailed => -115,
            SessionMoved => -118,
            NotReadOnly => -119,
            EphemeralOnLocalSession => -120,
            NoWatcher => -121,
            RequestTimeout => -122,
            ReconfigDisabled => -123,
            SessionClosedRequireSaslAuth => -124,
            QuotaExceeded => -125,
            Throttled => -127,
            Unknown(v) => v,
        }
    }

    /// The Java client's constant name (`"NONODE"` style), for logs that operators compare with
    /// ZooKeeper's own messages.
    pub fn name(self) -> &'static str {
        use ErrorCode::*;
        match self {
            Ok => "OK",
            SystemError => "SYSTEMERROR",
            RuntimeInconsistency => "RUNTIMEINCONSISTENCY",
            DataInconsistency => "DATAINCONSISTENCY",
            ConnectionLoss => "CONNECTIONLOSS",
            MarshallingError => "MARSHALLINGERROR",
            Unimplemented => "UNIMPLEMENTED",
            OperationTimeout => "OPERATIONTIMEOUT",
            BadArguments => "BADARGUMENTS",
            UnknownSession => "UNKNOWNSESSION",
            NewConfigNoQuorum => "NEWCONFIGNOQUORUM",
            ReconfigInProgress => "RECONFIGINPROGRESS",
            ApiError => "APIERROR",
            NoNode => "NONODE",
            NoAuth => "NOAUTH",
            BadVersion => "BADVERSION",
            NoChildrenForEphemerals => "NOCHILDRENFOREPHEMERALS",
            NodeExists => "NODEEXISTS",
            NotEmpty => "NOTEMPTY",
            SessionExpired => "SESSIONEXPIRED",
            InvalidCallback => "INVALIDCALLBACK",
            InvalidAcl => "INVALIDACL",
            AuthFailed => "AUTHFAILED",
            SessionMoved => "SESSIONMOVED",
            NotReadOnly => "NOTREADONLY",
            EphemeralOnLocalSession => "EPHEMERALONLOCALSESSION",
            NoWatcher => "NOWATCHER",
            RequestTimeout => "REQUESTTIMEOUT",
            ReconfigDisabled => "RECONFIGDISABLED",
            SessionClosedRequireSaslAuth => "SESSIONCLOSEDREQUIRESASLAUTH",
            QuotaExceeded => "QUOTAEXCEEDED",
            Throttled => "THROTTLEDOP",
            Unknown(_) => "UNKNOWN",
        }
    }

    /// True for [`ErrorCode::Ok`]; reads better than a comparison at call sites.
    pub fn is_ok(self) -> bool {
        self == ErrorCode::Ok
    }
}

impl fmt::Display for ErrorCode {
    /// `"NoNode (-101)"`: the readable name plus the number people search for.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Unknown(v) => write!(f, "Unknown ({v})"),
            known => write!(f, "{known:?} ({})", known.as_i32()),
        }
    }
}

/// Lets callers put a bare server code into an error chain (`Box<dyn Error>`, `?`).
impl std::error::Error for ErrorCode {}

impl From<i32> for ErrorCode {
    fn from(v: i32) -> Self {
        ErrorCode::from_i32(v)
    }
}

impl From<ErrorCode> for i32 {
    fn from(c: ErrorCode) -> Self {
        c.as_i32()
    }
}

/// Encoded as a jute int, so a `ReplyHeader` can hold an `ErrorCode` directly.
impl Encode for ErrorCode {
    fn encode(&self, buf: &mut BytesMut) {
        self.as_i32().encode(buf);
    }
}

/// Decoded from a jute int; unknown values are kept, not rejected.
impl Decode for ErrorCode {
    const MIN_ENCODED_LEN: usize = 4;
    fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        i32::decode(buf).map(ErrorCode::from_i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_value_round_trips() {
        let mut known = 0;
        for v in -200..=10 {
            let c = ErrorCode::from_i32(v);
            assert_eq!(c.as_i32(), v);
            if !matches!(c, ErrorCode::Unknown(_)) {
                known += 1;
                assert_ne!(c.name(), "UNKNOWN");
            }
        }
        assert_eq!(known, 32);
        assert_eq!(ErrorCode::from_i32(i32::MIN), ErrorCode::Unknown(i32::MIN));
    }

    #[test]
    fn spot_values_match_protocol_notes() {
        assert_eq!(ErrorCode::NoNode.as_i32(), -101);
        assert_eq!(ErrorCode::NodeExists.as_i32(), -110);
        assert_eq!(ErrorCode::NotReadOnly.as_i32(), -119);
        assert_eq!(ErrorCode::Throttled.as_i32(), -127);
        assert_eq!(ErrorCode::from(-112), ErrorCode::SessionExpired);
        assert_eq!(i32::from(ErrorCode::BadVersion), -103);
        assert_eq!(ErrorCode::default(), ErrorCode::Ok);
        assert!(ErrorCode::Ok.is_ok());
        assert!(!ErrorCode::NoNode.is_ok());
    }

    #[test]
    fn display_and_name() {
        assert_eq!(ErrorCode::NoNode.to_string(), "NoNode (-101)");
        assert_eq!(ErrorCode::Unknown(-999).to_string(), "Unknown (-999)");
        assert_eq!(ErrorCode::NoNode.name(), "NONODE");
        assert_eq!(ErrorCode::Throttled.name(), "THROTTLEDOP");
    }
}
