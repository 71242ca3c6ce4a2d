//! Integration tests of the `zksync` command-line tool: they run the built binary against the
//! real ensemble (`ZOOKEEPER_PEERS`), with real child processes.

mod support;

mod barrier;
mod double_barrier;
mod elect;
mod holders;
mod lock;
mod lost;
mod semaphore;
mod usage;
