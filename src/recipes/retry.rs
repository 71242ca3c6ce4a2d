//! Retrying through connection loss, the one way every recipe does it.
//!
//! A recipe must keep going while the client reconnects (its session, and so its nodes and
//! watches, survive a disconnect), yet never swallow an error that is final (a session that
//! ended, a server that refused). [`Error::is_retryable`] draws that line; the helpers here add
//! the pause a local error needs, so no recipe spins while the client is disconnected.
//!
//! Only *idempotent* steps may go through [`retrying`]: reads, and deletes or creates whose
//! result is the same if an earlier try was applied and its reply lost (a delete where `NoNode`
//! counts as done, a persistent create where `NodeExists` does). A create that may not be
//! repeated blindly (a sequential or ephemeral node, whose lost reply may hide a node of ours)
//! looks for its own node before it tries again (`support::create_protected`,
//! `find_own`): such loops, and loops that re-read state before each try, call
//! [`retry_or_fail`] in their own loop instead.

use crate::error::{Error, Result};
use std::future::Future;
use std::time::Duration;

/// Pause before retrying after a local timeout/queue-full: the client is disconnected and the
/// call did not even reach a server, so retrying at once would only spin.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Sleeps [`RETRY_PAUSE`] if `e` is a local error (the request never left this process); a
/// connection loss needs no pause (the next call waits for the reconnect in the client's queue).
pub(crate) async fn pause_if_local(e: &Error) {
    if matches!(e, Error::Timeout | Error::QueueFull(_)) {
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

/// Runs `op` again and again while it fails with a retryable error (pausing after local ones);
/// returns its first success or other error. `op` builds a fresh future per try, so a step
/// that syncs first syncs on every try. For idempotent steps only (see the module docs).
pub(crate) async fn retrying<T, F, Fut>(mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    loop {
        match op().await {
            Err(e) if e.is_retryable() => pause_if_local(&e).await,
            done => return done,
        }
    }
}

/// For a loop that must decide for itself what to do before trying again (re-read the state,
/// look for its own node): `Ok(())` after the pause for a retryable error, so the caller goes
/// round its loop again; the error itself for any other. Use as `Err(e) => retry_or_fail(e).await?`
/// after the arms for the errors the step treats specially.
pub(crate) async fn retry_or_fail(e: Error) -> Result<()> {
    if e.is_retryable() {
        pause_if_local(&e).await;
        Ok(())
    } else {
        Err(e)
    }
}

/// `step`'s result, with a `NoNode` answer as `Ok(None)`: for reads of a node that may be
/// absent, and for deletes where "already gone" means done. Wrap it inside [`retrying`]
/// (`retrying(|| unless_no_node(client.get_data(path)))`) so that a `NoNode` ends the retries.
pub(crate) async fn unless_no_node<T>(step: impl Future<Output = Result<T>>) -> Result<Option<T>> {
    match step.await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_no_node() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[tokio::test]
    async fn retries_only_retryable_errors_and_pauses_after_local_ones() {
        let mut tries = 0;
        let start = std::time::Instant::now();
        let got = retrying(|| {
            tries += 1;
            let n = tries;
            async move {
                match n {
                    1 => Err(Error::ConnectionLoss),
                    2 => Err(Error::Timeout),
                    3 => Err(Error::Server(ErrorCode::NoNode)),
                    _ => Ok(n),
                }
            }
        })
        .await;
        assert_eq!(got, Err(Error::Server(ErrorCode::NoNode)));
        assert_eq!(tries, 3);
        assert!(
            start.elapsed() >= RETRY_PAUSE,
            "paused after the local timeout"
        );
    }

    #[tokio::test]
    async fn no_node_becomes_none_and_other_errors_pass() {
        let absent =
            retrying(|| unless_no_node(async { Err::<(), _>(Error::Server(ErrorCode::NoNode)) }));
        assert_eq!(absent.await, Ok(None));
        let refused = unless_no_node(async { Err::<(), _>(Error::Server(ErrorCode::NoAuth)) });
        assert_eq!(refused.await, Err(Error::Server(ErrorCode::NoAuth)));
        assert_eq!(retry_or_fail(Error::ConnectionLoss).await, Ok(()));
        assert_eq!(
            retry_or_fail(Error::SessionExpired).await,
            Err(Error::SessionExpired)
        );
    }
}
