//! Debug logging for the optional `tracing` feature: state transitions, connection attempts and
//! drops with their causes, and watches (what a recipe waits on).
//!
//! [`debug!`] takes `format!`-style arguments. With the feature it is `tracing::debug!`; without
//! it, it compiles to nothing: the arguments are type-checked but never evaluated, so the
//! library keeps its four runtime dependencies and pays nothing.

/// Logs at debug level through `tracing` (feature `tracing`); otherwise nothing.
macro_rules! debug {
    ($($arg:tt)+) => {{
        #[cfg(feature = "tracing")]
        ::tracing::debug!($($arg)+);
        #[cfg(not(feature = "tracing"))]
        if false {
            let _ = format_args!($($arg)+);
        }
    }};
}

pub(crate) use debug;
