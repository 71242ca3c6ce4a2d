//! The ZooKeeper wire protocol: jute primitives, records, opcodes, error codes and framing.
//!
//! Pure functions over bytes: no IO, no tokio runtime. Everything is at this one level, so
//! `use zksync::proto::*` brings in the whole protocol; the types the client API shares with
//! it ([`Stat`], [`ChildNames`], [`Acl`], [`Id`](crate::Id), [`perms`](crate::perms),
//! [`ErrorCode`]) are at the crate root. Decoding never panics and never allocates from a
//! length it has not checked against the input, whatever the bytes.

#[macro_use]
pub(crate) mod records;

// Before the modules that use it (`macro_rules!` scoping is textual).
#[macro_use]
mod wire_enum;

mod error;
pub(crate) mod error_code;
mod frame;
mod jute;
mod op_code;
mod request;
mod response;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
pub(crate) mod strategies;

pub use error::*;
pub use frame::*;
pub use jute::*;
pub use op_code::*;
pub use records::*;
pub use request::*;
pub use response::*;
// The client API's vocabulary has its one public path at the crate root (`zksync::ErrorCode`,
// `zksync::Acl`, ...); inside the crate it is also reachable here, with the rest of the protocol.
pub(crate) use error_code::ErrorCode;
