//! zksync: ZooKeeper coordination primitives over a hand-written, fault-aware client.
#![warn(missing_docs)]

pub mod client;
mod error;
mod path;
pub mod proto;
pub mod recipes;
pub mod session;

pub use client::{
    AddWatchMode, Client, ConnectOptions, CreateMode, OneshotWatch, Op, OpResult, PersistentWatch,
    ReadOp, ReadResult, StateChanges, WatcherType,
};
pub use error::{Error, Result};
pub use path::{validate_path, validate_sequential_prefix};
pub use proto::{Acl, ErrorCode, Id, Stat};
pub use session::{EventType, SessionState, WatchedEvent};

/// Path helpers shared by the client and the recipes.
pub mod paths {
    pub use crate::path::{join, parent};
}
