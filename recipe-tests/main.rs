//! Recipe tests against a real ZooKeeper ensemble (`ZOOKEEPER_PEERS`).

#[path = "../proto-tests/common/mod.rs"]
mod common;
mod forwarder;

mod barrier;
mod double_barrier;
mod guard;
mod rwlock;
