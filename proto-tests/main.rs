//! Conformance tests against a real ZooKeeper ensemble (`ZOOKEEPER_PEERS`).

mod auth_acl;
mod chroot;
mod common;
mod hostile;
mod limits;
mod multi;
mod ops;
mod session;
mod watches;
