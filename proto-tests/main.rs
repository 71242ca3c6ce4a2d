//! Conformance tests against a real ZooKeeper ensemble (`ZOOKEEPER_PEERS`).

mod common;
mod ops;
