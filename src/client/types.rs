//! Small argument types of the client API.

use std::time::Duration;

/// How a node is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateMode {
    /// Stays until deleted.
    Persistent,
    /// Deleted when the creating session ends.
    Ephemeral,
    /// Persistent, with a 10-digit counter appended to the name by the server.
    PersistentSequential,
    /// Ephemeral, with a 10-digit counter appended.
    EphemeralSequential,
    /// Removed by the server some time after its last child is gone.
    Container,
    /// Persistent, removed when unmodified and childless for the TTL (needs
    /// `extendedTypesEnabled=true` on the server).
    PersistentWithTtl(Duration),
    /// Sequential and TTL.
    PersistentSequentialWithTtl(Duration),
}

impl CreateMode {
    /// The wire flag value.
    pub fn flags(self) -> i32 {
        use crate::proto::create_mode as m;
        match self {
            CreateMode::Persistent => m::PERSISTENT,
            CreateMode::Ephemeral => m::EPHEMERAL,
            CreateMode::PersistentSequential => m::PERSISTENT_SEQUENTIAL,
            CreateMode::EphemeralSequential => m::EPHEMERAL_SEQUENTIAL,
            CreateMode::Container => m::CONTAINER,
            CreateMode::PersistentWithTtl(_) => m::PERSISTENT_WITH_TTL,
            CreateMode::PersistentSequentialWithTtl(_) => m::PERSISTENT_SEQUENTIAL_WITH_TTL,
        }
    }

    /// True for the modes whose path gets a sequence suffix.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl(_)
        )
    }

    /// The TTL, for the TTL modes.
    pub fn ttl(self) -> Option<Duration> {
        match self {
            CreateMode::PersistentWithTtl(t) | CreateMode::PersistentSequentialWithTtl(t) => {
                Some(t)
            }
            _ => None,
        }
    }
}

/// The kind of a persistent watch added with [`Client::add_watch`](crate::Client::add_watch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddWatchMode {
    /// Created, deleted, data-changed and children-changed events of one node.
    Persistent,
    /// Created, deleted and data-changed events of a node and all its descendants.
    PersistentRecursive,
}

/// Which watches [`Client::remove_watches`](crate::Client::remove_watches) removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WatcherType {
    /// Child watches.
    Children,
    /// Data and exist watches.
    Data,
    /// Every kind, persistent ones included.
    Any,
}

impl WatcherType {
    pub(crate) fn as_i32(self) -> i32 {
        use crate::proto::watcher_type as w;
        match self {
            WatcherType::Children => w::CHILDREN,
            WatcherType::Data => w::DATA,
            WatcherType::Any => w::ANY,
        }
    }
}
