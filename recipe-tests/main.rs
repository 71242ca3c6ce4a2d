//! Recipe tests against a real ZooKeeper ensemble (`ZOOKEEPER_PEERS`).

mod barrier;
mod double_barrier;
mod election;
mod guard;
mod layouts;
mod rwlock;
mod semaphore;
