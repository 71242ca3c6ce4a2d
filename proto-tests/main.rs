//! Conformance tests against a real ZooKeeper ensemble (`ZOOKEEPER_PEERS`).

mod auth_acl;
mod background;
mod chroot;
mod errors;
mod fake;
mod hostile;
mod lagging;
mod limits;
mod multi;
mod ops;
mod pipeline;
mod read_only;
mod session;
mod watches;
