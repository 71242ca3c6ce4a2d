//! Helpers for recipe tests: waiting on the server's view instead of sleeping.

#![allow(dead_code)]

use std::time::Duration;
use zksync::Client;

/// Hang guard for awaits that must finish (generous: a loaded 2-core machine is slow).
pub const GUARD: Duration = Duration::from_secs(30);

/// Awaits `f`, failing the test with `what` if it hangs.
pub async fn guard<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(GUARD, f)
        .await
        .unwrap_or_else(|_| panic!("hung: {what}"))
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
                    let (_, w) = client.exists_w(dir).await.expect("exists_w");
                    if client.exists(dir).await.unwrap().is_none() {
                        w.await.expect("exist watch");
                    }
                }
                Err(e) => panic!("list {dir}: {e}"),
            }
        }
    })
    .await
}

/// True if the task has not finished after a short grace period (used to check that a
/// waiter is still blocked; it can only pass wrongly, never fail wrongly).
pub async fn still_blocked<T>(h: &mut tokio::task::JoinHandle<T>) -> bool {
    tokio::time::timeout(Duration::from_millis(300), h)
        .await
        .is_err()
}
