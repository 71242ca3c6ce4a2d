//! The error chain of a failed connect, on loopback only: `Unreachable` names every server
//! with what happened there last, in one line; `source()` leads to the cause as a value and on
//! to the operating system's `io::Error`.

use crate::fake::*;
use std::io;
use std::time::Duration;
use zksync::{ConnectOptions, ConnectionError, Error};
use zksync_test_support::*;

/// A loopback port nobody listens on (bound, then released).
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr.to_string()
}

fn quick() -> ConnectOptions {
    ConnectOptions::default()
        .session_timeout(Duration::from_secs(4))
        .connect_timeout(Duration::from_millis(500))
        .establish_timeout(Duration::from_millis(700))
}

/// The first `io::Error` down the `source()` chain of `e`.
fn io_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut next = e.source();
    while let Some(cause) = next {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return Some(io);
        }
        next = cause.source();
    }
    None
}

#[tokio::test]
async fn a_closed_port_is_unreachable_with_connection_refused_down_the_chain() {
    let host = closed_port().await;
    let err = within("connect", quick().connect(&host)).await.unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text:?}");
    assert!(
        text.starts_with("no session established within 700ms; "),
        "{text}"
    );
    assert!(
        text.to_lowercase()
            .contains(&format!("{host}: connection refused")),
        "names the host and the cause: {text}"
    );
    let Error::Unreachable(u) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(u.waited(), Duration::from_millis(700));
    let latest = u.latest().expect("one host was tried");
    assert_eq!(latest.host, host);
    assert!(
        matches!(latest.error, Some(ConnectionError::Io(_))),
        "{latest:?}"
    );
    let io = io_cause(&err).expect("the io::Error is in the chain");
    assert_eq!(io.kind(), io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn every_server_is_named_with_its_own_cause() {
    let refused = closed_port().await;
    // Accepts, reads the handshake, closes: what a server without a quorum does.
    let closing = Fake::start(|_, mut s| async move {
        let _ = read_connect(&mut s).await;
    })
    .await;
    let hosts = format!("{refused},{}", closing.hosts());
    let err = within("connect", quick().connect(&hosts))
        .await
        .unwrap_err();
    let Error::Unreachable(u) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(u.hosts().len(), 2, "{err}");
    for attempt in u.hosts() {
        match &attempt.error {
            Some(ConnectionError::Io(e)) if attempt.host == refused => {
                assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused)
            }
            Some(ConnectionError::Closed) if attempt.host == closing.hosts() => {}
            other => panic!("{}: {other:?} ({err})", attempt.host),
        }
        assert!(err.to_string().contains(&attempt.to_string()), "{err}");
    }
    let text = err.to_string().to_lowercase();
    assert!(
        text.contains(&format!("{refused}: connection refused")),
        "{text}"
    );
    let closed = format!("{}: the server closed the connection", closing.hosts());
    assert!(text.contains(&closed), "{text}");
}

#[tokio::test]
async fn a_server_that_never_answers_shows_as_a_handshake_timeout() {
    let silent = Fake::start(|_, s| hold(s)).await;
    let options = quick().establish_timeout(Duration::from_millis(300));
    let err = within("connect", options.connect(&silent.hosts()))
        .await
        .unwrap_err();
    let Error::Unreachable(u) = &err else {
        panic!("{err:?}")
    };
    // Still waiting for the first answer when `connect` gave up: how long it had waited.
    let latest = u.latest().and_then(|h| h.error.clone());
    assert!(
        matches!(latest, Some(ConnectionError::HandshakeTimeout(d)) if d >= Duration::from_millis(250)),
        "{err}"
    );
    assert!(
        err.to_string().contains("no answer to the handshake"),
        "{err}"
    );
}
