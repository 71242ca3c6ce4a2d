//! The tokio side: the driver task that owns the socket and timers, and the public `Client`.
//!
//! `handle` is the `Client` (cheap clones; every call a `command` to the driver); `connect`
//! sets a client up (`Client::connect`) and starts its `driver`, the task (its socket in
//! `transport`, what it publishes for the handles in `publish`); `socket` opens the TCP
//! connection to one server, for the driver and for `probe`, which looks for a read-write
//! server. Dependencies point one way: connect → driver → transport, probe → socket.

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
mod socket;
#[cfg(feature = "tls")]
mod tls;
mod transport;
mod types;
mod watch;

pub use handle::Client;
pub use multi::{Op, OpResult, ReadOp, ReadResult};
pub use options::ConnectOptions;
#[cfg(feature = "tls")]
pub use tls::TlsOptions;
pub use types::{AddWatchMode, CreateMode, WatcherType};
pub use watch::{OneshotWatch, PersistentWatch, StateChanges};
