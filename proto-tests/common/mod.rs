//! Shared helpers of the integration tests: where the ensemble is, and a unique namespace per
//! test that is removed afterwards.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use zksync::{Client, ConnectOptions, CreateMode};

/// The ensemble to test against: `ZOOKEEPER_PEERS`, default the local 5-node ensemble.
pub fn peers() -> String {
    std::env::var("ZOOKEEPER_PEERS").unwrap_or_else(|_| {
        (1..=5).map(|i| format!("127.0.0.1:{}", 2180 + i)).collect::<Vec<_>>().join(",")
    })
}

/// The peers as a list.
pub fn peer_list() -> Vec<String> {
    peers().split(',').map(str::to_string).collect()
}

/// Session timeout used by tests that do not care (short enough for quick expiry tests).
pub const TEST_SESSION: Duration = Duration::from_secs(4);

/// A client with the test session timeout, to `hosts`.
pub async fn client_to(hosts: &str) -> Client {
    ConnectOptions::default()
        .session_timeout(TEST_SESSION)
        .connect(hosts)
        .await
        .unwrap_or_else(|e| panic!("connect to {hosts}: {e}"))
}

/// A client to the whole ensemble.
pub async fn client() -> Client {
    client_to(&peers()).await
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique namespace below `/zksync-test`, created on construction; `cleanup` removes it
/// with everything below.
pub struct Namespace {
    pub root: String,
    admin: Client,
}

impl Namespace {
    pub async fn new(name: &str) -> Namespace {
        let admin = client().await;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let root = format!("/zksync-test/{name}-{}-{n}-{nanos:x}", std::process::id());
        let _ = admin.create("/zksync-test", b"", CreateMode::Persistent).await;
        admin.create(&root, b"", CreateMode::Persistent).await.expect("create namespace");
        Namespace { root, admin }
    }

    /// `root/rel`.
    pub fn path(&self, rel: &str) -> String {
        format!("{}/{}", self.root, rel)
    }

    /// Removes the namespace and everything below it.
    pub async fn cleanup(self) {
        delete_tree(&self.admin, &self.root).await;
        self.admin.close().await;
    }
}

/// Deletes `path` and its subtree (retrying while children come and go).
pub async fn delete_tree(client: &Client, path: &str) {
    for _ in 0..20 {
        let children = match client.get_children(path).await {
            Ok((c, _)) => c,
            Err(e) if e.is_no_node() => return,
            Err(e) => panic!("list {path}: {e}"),
        };
        for c in children {
            Box::pin(delete_tree(client, &format!("{path}/{c}"))).await;
        }
        match client.delete(path, None).await {
            Ok(()) => return,
            Err(e) if e.is_no_node() => return,
            Err(_) => continue,
        }
    }
    panic!("could not delete {path}");
}
