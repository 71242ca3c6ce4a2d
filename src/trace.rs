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

/// With the feature: the session's causes reach a `tracing` subscriber at debug level.
#[cfg(all(test, feature = "tracing"))]
mod tests {
    use crate::error::{ConnectionError, Error};
    use crate::proto::Response;
    use crate::session::{Completer, HostPort, Session, SessionConfig, WatchSink, WatchedEvent};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    /// Records the message of every debug event.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl Visit for Recorder {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.0.lock().unwrap().push(format!("{value:?}"));
            }
        }
    }

    impl Subscriber for Recorder {
        fn enabled(&self, meta: &Metadata<'_>) -> bool {
            *meta.level() == Level::DEBUG
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            event.record(&mut self.clone());
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    struct Ignore;

    impl Completer for Ignore {
        fn complete(self, _: Result<Response, Error>) {}
    }

    impl WatchSink for Ignore {
        fn deliver(&mut self, _: Result<WatchedEvent, Error>) -> bool {
            true
        }
        fn is_closed(&self) -> bool {
            false
        }
    }

    #[test]
    fn attempts_and_their_causes_are_logged() {
        let recorder = Recorder::default();
        tracing::subscriber::with_default(recorder.clone(), || {
            let host = HostPort {
                host: "127.0.0.1".into(),
                port: 1,
            };
            let now = Instant::now();
            let mut s = Session::<Ignore, Ignore>::new(vec![host], SessionConfig::default(), now);
            s.start(now);
            let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
            s.on_connect_failed(now, ConnectionError::from(refused));
        });
        let logged = recorder.0.lock().unwrap().clone();
        assert_eq!(
            logged,
            vec![
                "connecting to 127.0.0.1:1",
                "connection attempt failed on 127.0.0.1:1: connection refused",
            ]
        );
    }
}
