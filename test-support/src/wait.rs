//! Hang guards and waits on the server's view, so tests await events instead of sleeping.

use std::future::Future;
use std::time::Duration;
use zksync::{Client, SessionState};

/// Hang guard for what must happen "soon": generous (a loaded 2-core machine is slow). It only
/// turns a hang into a failure; the bounds that matter are asserted separately.
pub const GUARD: Duration = Duration::from_secs(30);

/// Awaits `f`, failing the test if it takes longer than [`GUARD`].
pub async fn guard<F: Future>(what: &str, f: F) -> F::Output {
    guard_for(what, GUARD, f).await
}

/// Awaits `f`, failing the test if it takes longer than `limit`.
pub async fn guard_for<F: Future>(what: &str, limit: Duration, f: F) -> F::Output {
    match tokio::time::timeout(limit, f).await {
        Ok(v) => v,
        Err(_) => panic!("hang guard: {what} did not complete within {limit:?}"),
    }
}

/// Waits until the client's state satisfies `pred` (hang-guarded); returns that state.
pub async fn wait_state(
    c: &Client,
    what: &str,
    pred: impl Fn(SessionState) -> bool,
) -> SessionState {
    let mut rx = c.state_watch();
    guard(what, async move {
        loop {
            let s = *rx.borrow_and_update();
            if pred(s) {
                return s;
            }
            if rx.changed().await.is_err() {
                let s = *rx.borrow();
                assert!(pred(s), "{what}: driver gone in state {s:?}");
                return s;
            }
        }
    })
    .await
}

/// Waits (with child watches, no polling) until `pred` holds for the children of `dir`.
pub async fn wait_children(
    client: &Client,
    dir: &str,
    pred: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    guard(&format!("children of {dir}"), async {
        loop {
            match client.get_children_w(dir).await {
                Ok((children, _, w)) => {
                    if pred(&children) {
                        return children;
                    }
                    w.await.expect("child watch");
                }
                Err(e) if e.is_no_node() => {
                    if pred(&[]) {
                        return Vec::new();
                    }
                    let (st, w) = client.exists_w(dir).await.expect("exists_w");
                    if st.is_none() {
                        w.await.expect("exist watch");
                    }
                }
                Err(e) if e.is_retryable() => {}
                Err(e) => panic!("list {dir}: {e}"),
            }
        }
    })
    .await
}

/// True if the task is still running after a short grace period (used to check that a waiter
/// is still blocked; it can only pass wrongly, never fail wrongly).
pub async fn still_blocked<T>(h: &mut tokio::task::JoinHandle<T>) -> bool {
    tokio::time::timeout(Duration::from_millis(300), h)
        .await
        .is_err()
}
