//! The tokio side: the driver task that owns the socket and timers, and the public `Client`.
//!
//! `handle` is the `Client` (cheap clones; every call a `command` to the driver); `connect`
//! opens TCP connections and sets a client up; `driver` is the task (its socket in `transport`,
//! what it publishes for the handles in `publish`); `probe` looks for a read-write server.

mod coalesce;
mod command;
mod connect;
mod driver;
mod handle;
mod lease;
mod multi;
mod options;
mod probe;
mod publish;
mod sink;
mod transport;
mod types;
mod watch;

pub use handle::Client;
pub use multi::{Op, OpResult, ReadOp, ReadResult};
pub use options::ConnectOptions;
pub use types::{AddWatchMode, CreateMode, WatcherType};
pub use watch::{OneshotWatch, PersistentWatch, StateChanges};
