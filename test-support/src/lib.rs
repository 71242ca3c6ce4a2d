//! What zksync's test targets (`proto-tests/`, `recipe-tests/`, `cli-tests/`, `fault-tests/`)
//! and its demo (`examples/demo.rs`) share, as one dev-dependency crate so that no target reaches
//! into another's folder and each helper exists once:
//!
//! - [`Forwarder`]: a TCP forwarder on 127.0.0.1 that a test (or the demo) can cut, cut off,
//!   black-hole, or cut right after a chosen request reached the server;
//! - [`delete_tree`]: removes a node with everything below it;
//! - [`Namespace`]: a unique namespace below `/zksync-test` per test, shared or exclusive use of
//!   the ensemble, and clients to it;
//! - [`ensemble`]: where the ensemble is (`ZOOKEEPER_PEERS`), its control script (stop, kill,
//!   pause nodes), four-letter words, a probe for panics that tokio would swallow;
//! - [`wait`]: hang guards and waits on the server's view, so tests await events instead of
//!   sleeping;
//! - [`digest`]: the id of a digest ACL;
//! - [`overlap`]: the overlap checker of the fault and interop tests (mutual exclusion,
//!   fencing-token order, at most `max` permits at once).
//!
//! The forwarder and `delete_tree` depend on nothing of the test environment (no environment
//! variables, no hang guards): the demo uses them as they are.
//!
//! Everything but `overlap` is re-exported here: `use zksync_test_support::*`.

pub mod digest;
pub mod ensemble;
pub mod forwarder;
pub mod namespace;
pub mod overlap;
pub mod tree;
pub mod wait;

pub use digest::*;
pub use ensemble::*;
pub use forwarder::*;
pub use namespace::*;
pub use tree::*;
pub use wait::*;
