//! Conformance tests against a real ZooKeeper ensemble (`ZOOKEEPER_PEERS`).

mod common;
mod multi;
mod ops;
mod watches;
mod zz_probe;
