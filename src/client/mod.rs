//! The tokio side: the driver task that owns the socket and timers, and the public `Client`.

mod coalesce;
mod driver;
mod handle;
mod lease;
mod multi;
mod options;
mod probe;
mod sink;
mod types;
mod watch;

pub use handle::Client;
pub use multi::{Op, OpResult, ReadOp, ReadResult};
pub use options::ConnectOptions;
pub use types::{AddWatchMode, CreateMode, WatcherType};
pub use watch::{OneshotWatch, PersistentWatch, StateChanges};
