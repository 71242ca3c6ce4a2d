//! The ZooKeeper wire protocol: jute primitives, records, opcodes, error codes and framing.
//!
//! Pure functions over bytes: no IO, no tokio runtime. Everything here is re-exported at this
//! level, so `use zksync::proto::*` brings in the whole vocabulary. Decoding never panics and
//! never allocates from a length it has not checked against the input, whatever the bytes.

#[macro_use]
pub mod records;

// Before the modules that use it (`macro_rules!` scoping is textual).
#[macro_use]
mod wire_enum;

pub mod error;
pub mod error_code;
pub mod frame;
pub mod jute;
pub mod op_code;
pub mod request;
pub mod response;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
pub(crate) mod strategies;

pub use error::*;
pub use error_code::*;
pub use frame::*;
pub use jute::*;
pub use op_code::*;
pub use records::*;
pub use request::*;
pub use response::*;
