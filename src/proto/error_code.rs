//! ZooKeeper's result codes (`KeeperException.Code`), as carried in `ReplyHeader.err` and in
//! multi results.

use std::fmt;

wire_enum! {
    /// A ZooKeeper result code.
    ///
    /// Codes this crate does not know are kept as [`ErrorCode::Unknown`] rather than rejected, so a
    /// newer server's reply never becomes a decoding failure.
    #[non_exhaustive]
    pub enum ErrorCode {
        /// Success. The default, as in jute where an unset int is 0.
        #[default]
        Ok = 0 => "OK",
        /// Unexpected server-side failure.
        SystemError = -1 => "SYSTEMERROR",
        /// A multi op was not executed because an earlier op failed.
        RuntimeInconsistency = -2 => "RUNTIMEINCONSISTENCY",
        /// Data inconsistency detected.
        DataInconsistency = -3 => "DATAINCONSISTENCY",
        /// The connection was lost (made by the client, never sent by a server).
        ConnectionLoss = -4 => "CONNECTIONLOSS",
        /// (De)serialization failure; also a read inside a write multi.
        MarshallingError = -5 => "MARSHALLINGERROR",
        /// The server does not implement the operation.
        Unimplemented = -6 => "UNIMPLEMENTED",
        /// The operation timed out.
        OperationTimeout = -7 => "OPERATIONTIMEOUT",
        /// Invalid arguments.
        BadArguments = -8 => "BADARGUMENTS",
        /// Unknown session.
        UnknownSession = -12 => "UNKNOWNSESSION",
        /// Reconfig: no quorum for the new configuration.
        NewConfigNoQuorum = -13 => "NEWCONFIGNOQUORUM",
        /// Another reconfig is in progress.
        ReconfigInProgress = -14 => "RECONFIGINPROGRESS",
        /// API error base code.
        ApiError = -100 => "APIERROR",
        /// The node does not exist.
        NoNode = -101 => "NONODE",
        /// Not authorized.
        NoAuth = -102 => "NOAUTH",
        /// The expected version does not match.
        BadVersion = -103 => "BADVERSION",
        /// Ephemeral nodes cannot have children.
        NoChildrenForEphemerals = -108 => "NOCHILDRENFOREPHEMERALS",
        /// The node already exists.
        NodeExists = -110 => "NODEEXISTS",
        /// The node has children.
        NotEmpty = -111 => "NOTEMPTY",
        /// The session has expired.
        SessionExpired = -112 => "SESSIONEXPIRED",
        /// Invalid callback.
        InvalidCallback = -113 => "INVALIDCALLBACK",
        /// Invalid (e.g. empty) ACL.
        InvalidAcl = -114 => "INVALIDACL",
        /// Authentication failed.
        AuthFailed = -115 => "AUTHFAILED",
        /// The session moved to another server.
        SessionMoved = -118 => "SESSIONMOVED",
        /// A write was sent to a read-only server.
        NotReadOnly = -119 => "NOTREADONLY",
        /// Ephemeral node requested on a local session.
        EphemeralOnLocalSession = -120 => "EPHEMERALONLOCALSESSION",
        /// No such watcher (checkWatches / removeWatches).
        NoWatcher = -121 => "NOWATCHER",
        /// The request timed out.
        RequestTimeout = -122 => "REQUESTTIMEOUT",
        /// Reconfig is disabled.
        ReconfigDisabled = -123 => "RECONFIGDISABLED",
        /// The session was closed because SASL authentication is required.
        SessionClosedRequireSaslAuth = -124 => "SESSIONCLOSEDREQUIRESASLAUTH",
        /// A quota was exceeded.
        QuotaExceeded = -125 => "QUOTAEXCEEDED",
        /// The server throttled the operation.
        Throttled = -127 => "THROTTLEDOP",
        // Unknown(i32): any other value (added by `wire_enum!`).
    }
}

impl ErrorCode {
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
        assert_eq!(ErrorCode::ALL.len(), known, "ALL lists every named code");
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
