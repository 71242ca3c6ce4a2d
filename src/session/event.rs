//! Watch events as delivered to the application.

use crate::proto::watcher_event_type as t;

/// What happened to a watched node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// The node was created.
    NodeCreated,
    /// The node was deleted.
    NodeDeleted,
    /// The node's data changed.
    NodeDataChanged,
    /// The node's list of children changed.
    NodeChildrenChanged,
    /// A data watch was removed with `remove_watches`.
    DataWatchRemoved,
    /// A child watch was removed with `remove_watches`.
    ChildWatchRemoved,
    /// A persistent watch was removed.
    PersistentWatchRemoved,
    /// A type this client does not know (kept, not dropped).
    Unknown(i32),
}

impl EventType {
    /// The event type for a wire value.
    pub fn from_i32(v: i32) -> EventType {
        match v {
            t::NODE_CREATED => EventType::NodeCreated,
            t::NODE_DELETED => EventType::NodeDeleted,
            t::NODE_DATA_CHANGED => EventType::NodeDataChanged,
            t::NODE_CHILDREN_CHANGED => EventType::NodeChildrenChanged,
            t::DATA_WATCH_REMOVED => EventType::DataWatchRemoved,
            t::CHILD_WATCH_REMOVED => EventType::ChildWatchRemoved,
            t::PERSISTENT_WATCH_REMOVED => EventType::PersistentWatchRemoved,
            other => EventType::Unknown(other),
        }
    }
}

/// One watch notification: what happened, and to which path (relative to the chroot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedEvent {
    /// What happened.
    pub event_type: EventType,
    /// The node it happened to, with the chroot stripped.
    pub path: String,
}
