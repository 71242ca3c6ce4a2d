//! Errors raised while decoding jute records and while cutting frames out of a byte stream.
//!
//! Two separate types because they call for different reactions: a [`FrameError`] means the
//! stream itself can no longer be trusted (drop the connection), while a [`DecodeError`] is about
//! the contents of one complete frame (which, for a client, also ends the connection, but a test or
//! a tool may want to report the frame and carry on).

/// A frame's payload did not decode as the record that was expected.
///
/// Decoders never panic and never allocate from an unchecked length; every malformed input ends
/// in one of these variants instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before a fixed-size field could be read.
    #[error("unexpected end of input: needed {needed} bytes, {remaining} remaining")]
    UnexpectedEof {
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A length or count was negative and not the `-1` that jute uses for null.
    #[error("negative length {0}")]
    NegativeLength(i32),
    /// A length or count claims more bytes than the input has left; rejected before allocating.
    #[error("length {len} exceeds the {remaining} remaining bytes")]
    LengthExceedsInput {
        /// The declared length (for vectors: the minimum bytes the declared count needs).
        len: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A ustring was not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// An opcode the decoder cannot handle in this position (e.g. an unexpected type in a multi).
    #[error("unknown or unexpected opcode {0}")]
    UnknownOpCode(i32),
    /// Any other malformed input.
    #[error("invalid input: {0}")]
    Invalid(&'static str),
}

/// The byte stream could not be split into frames.
///
/// Every variant means the connection is unusable: the reader cannot find the next frame
/// boundary (or refuses to buffer it), so the only safe reaction is to drop the connection.
/// `TooLarge` is kept distinct so the client can report "reply too large" instead of
/// reconnecting forever (a classic failure with huge getChildren replies).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The declared payload length exceeds the configured maximum.
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// Declared payload length.
        len: usize,
        /// Configured maximum payload length.
        max: usize,
    },
    /// The declared payload length was negative.
    #[error("negative frame length {0}")]
    NegativeLength(i32),
}
