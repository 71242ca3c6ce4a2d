//! Fault-injection tests: Toxiproxy faults between the client and the ensemble, servers killed
//! or paused under it, and a paused lock holder process, with safety checks on the recipes (see
//! the "Fault tests" section of the repository's README.md).
//!
//! Each test is `#[ignore]`d: it needs a Toxiproxy-compatible server at `TOXIPROXY` with
//! proxies `zk1..zk5` in front of the ensemble's nodes, and it stops, kills and pauses the local
//! ensemble's nodes. `scripts/test` provides both and runs them one at a time:
//! `cargo test --features cli --test fault -- --ignored --test-threads=1` (the target needs the
//! `cli` feature: a test runs the `zksync` binary). The checker's own unit tests
//! (jepsen::checker) are not ignored.
//! The server-to-server partition tests (server_partitions) start a private ensemble of their
//! own in scripts/ensemble's partition mode, with its proxies in the same Toxiproxy.

mod jepsen;
mod observe;
mod partition;
mod pauses;
mod server_partitions;
mod servers;
mod support;
mod toxics;
