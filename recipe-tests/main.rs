//! Recipe tests against a real ZooKeeper ensemble (`ZOOKEEPER_PEERS`).

mod barrier;
mod double_barrier;
mod guard;
mod rwlock;
