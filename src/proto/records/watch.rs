//! Watches: the notification record, watch re-registration after reconnect, persistent watches,
//! and watch checks/removal, plus the constants they use.

/// `WatcherEvent.type_` values.
pub mod watcher_event_type {
    /// A session state change, not a node event (never sent by servers for nodes).
    pub const NONE: i32 = -1;
    /// The node was created.
    pub const NODE_CREATED: i32 = 1;
    /// The node was deleted.
    pub const NODE_DELETED: i32 = 2;
    /// The node's data changed.
    pub const NODE_DATA_CHANGED: i32 = 3;
    /// The node's child list changed.
    pub const NODE_CHILDREN_CHANGED: i32 = 4;
    /// A data watch was removed.
    pub const DATA_WATCH_REMOVED: i32 = 5;
    /// A child watch was removed.
    pub const CHILD_WATCH_REMOVED: i32 = 6;
    /// A persistent watch was removed.
    pub const PERSISTENT_WATCH_REMOVED: i32 = 7;
}

/// `WatcherEvent.state` values (Java's `KeeperState`). Server events always carry
/// `SYNC_CONNECTED`; the others exist for client-side session events.
pub mod keeper_state {
    /// Disconnected from the ensemble.
    pub const DISCONNECTED: i32 = 0;
    /// Connected.
    pub const SYNC_CONNECTED: i32 = 3;
    /// Authentication failed.
    pub const AUTH_FAILED: i32 = 4;
    /// Connected to a read-only server.
    pub const CONNECTED_READ_ONLY: i32 = 5;
    /// The client closed the session.
    pub const CLOSED: i32 = 7;
    /// The session expired.
    pub const EXPIRED: i32 = -112;
}

/// `AddWatchRequest.mode` values.
pub mod add_watch_mode {
    /// A persistent watch on one node (data changes, deletion, child-list changes).
    pub const PERSISTENT: i32 = 0;
    /// A persistent watch on a node and all descendants (never child-list changes).
    pub const PERSISTENT_RECURSIVE: i32 = 1;
}

/// `WatchesRequest.type_` values for checkWatches / removeWatches.
pub mod watcher_type {
    /// Child watches.
    pub const CHILDREN: i32 = 1;
    /// Data (and exist) watches.
    pub const DATA: i32 = 2;
    /// Both.
    pub const ANY: i32 = 3;
}

record! {
    /// Body of a notification (reply xid -1): what happened, and where.
    pub struct WatcherEvent {
        /// One of [`watcher_event_type`].
        pub type_: i32,
        /// One of [`keeper_state`] (always `SYNC_CONNECTED` from a server).
        pub state: i32,
        /// The server-side (chrooted) path.
        pub path: String,
    }
}

record! {
    /// Body of setWatches (101): re-arms one-shot watches after a reconnect. The server fires
    /// at once for anything that changed after `relative_zxid`.
    pub struct SetWatches {
        /// The client's lastZxid.
        pub relative_zxid: i64,
        /// Paths with data watches (from getData).
        pub data_watches: Vec<String>,
        /// Paths with exist watches (from exists on a missing node).
        pub exist_watches: Vec<String>,
        /// Paths with child watches.
        pub child_watches: Vec<String>,
    }
}

record! {
    /// Body of setWatches2 (105): [`SetWatches`] plus persistent watches.
    pub struct SetWatches2 {
        /// The client's lastZxid.
        pub relative_zxid: i64,
        /// Paths with data watches.
        pub data_watches: Vec<String>,
        /// Paths with exist watches.
        pub exist_watches: Vec<String>,
        /// Paths with child watches.
        pub child_watches: Vec<String>,
        /// Paths with persistent watches.
        pub persistent_watches: Vec<String>,
        /// Paths with persistent recursive watches.
        pub persistent_recursive_watches: Vec<String>,
    }
}

record! {
    /// Body of addWatch (106).
    pub struct AddWatchRequest {
        /// Absolute path.
        pub path: String,
        /// One of [`add_watch_mode`].
        pub mode: i32,
    }
}

record! {
    /// Body of checkWatches (17) and removeWatches (18).
    pub struct WatchesRequest {
        /// Absolute path.
        pub path: String,
        /// One of [`watcher_type`].
        pub type_: i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::{Decode, Encode};
    use crate::proto::strategies::*;
    use bytes::{Bytes, BytesMut};
    use proptest::prelude::*;

    #[test]
    fn watcher_event_vector() {
        let raw = [0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 2, b'/', b'n'];
        let ev = WatcherEvent::decode(&mut Bytes::copy_from_slice(&raw)).unwrap();
        assert_eq!(
            ev,
            WatcherEvent {
                type_: watcher_event_type::NODE_DATA_CHANGED,
                state: keeper_state::SYNC_CONNECTED,
                path: "/n".into()
            }
        );
    }

    #[test]
    fn set_watches_vector() {
        let sw = SetWatches {
            relative_zxid: 7,
            data_watches: vec!["/d".into()],
            exist_watches: vec![],
            child_watches: vec!["/c".into()],
        };
        let mut b = BytesMut::new();
        sw.encode(&mut b);
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 0, 0, 0, 0, 7,
            0, 0, 0, 1, 0, 0, 0, 2, b'/', b'd',
            0, 0, 0, 0,
            0, 0, 0, 1, 0, 0, 0, 2, b'/', b'c',
        ];
        assert_eq!(&b[..], &expected[..]);
    }

    proptest! {
        #[test]
        fn watcher_event_round_trip(v in arb_watcher_event()) { assert_round_trip(&v)?; }
        #[test]
        fn set_watches_round_trip(v in arb_set_watches()) { assert_round_trip(&v)?; }
        #[test]
        fn set_watches2_round_trip(v in arb_set_watches2()) { assert_round_trip(&v)?; }
        #[test]
        fn add_watch_round_trip(v in arb_add_watch_request()) { assert_round_trip(&v)?; }
        #[test]
        fn watches_request_round_trip(v in arb_watches_request()) { assert_round_trip(&v)?; }
    }
}
