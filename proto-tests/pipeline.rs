//! Deep pipelines against the real ensemble: thousands of calls in flight on one session (where
//! the client coalesces replies, see `ConnectOptions::coalesce_replies`) each get their own
//! answer, with watch events delivered among them.

use futures_util::stream::{FuturesUnordered, StreamExt};
use zksync::{ConnectOptions, CreateMode, EventType};
use zksync_test_support::*;

const NODES: usize = 50;
const CALLS: usize = 3000;

async fn deep_pipeline(coalesce: bool) {
    let ns = Namespace::new(if coalesce {
        "pipeline"
    } else {
        "pipeline-plain"
    })
    .await;
    let c = ConnectOptions::default()
        .session_timeout(TEST_SESSION)
        .coalesce_replies(coalesce)
        .connect(&peers())
        .await
        .unwrap();
    for i in 0..NODES {
        c.create(
            &ns.path(&format!("n{i}")),
            format!("v{i}").as_bytes(),
            CreateMode::Persistent,
        )
        .await
        .unwrap();
    }
    let watched = ns.path("n0");
    let (_, _, changed) = c.get_data_w(&watched).await.unwrap();
    let writer = client().await; // connected before the calls start, so it writes among them
                                 // All calls are issued before any is awaited: thousands in flight at once, each its own
                                 // task (on a multi-thread runtime they run on every worker).
    let mut calls: FuturesUnordered<_> = (0..CALLS)
        .map(|k| {
            let (c, path) = (c.clone(), ns.path(&format!("n{}", k % NODES)));
            tokio::spawn(async move { (k, c.get_data(&path).await) })
        })
        .collect();
    // Another session changes the watched node while the pipeline is deep.
    let write = writer.set_data(&watched, b"changed", None);
    let mut answered = 0;
    let (_, write_result) = tokio::join!(
        async {
            while let Some(done) = within("pipelined call", calls.next()).await {
                let (k, r) = done.expect("call task");
                let (data, _) = r.unwrap_or_else(|e| panic!("call {k}: {e}"));
                let i = k % NODES;
                // Node 0 may already show the other session's write.
                let want = format!("v{i}");
                assert!(
                    data == want.as_bytes() || (i == 0 && &data[..] == b"changed"),
                    "call {k} got another call's answer: {data:?}"
                );
                answered += 1;
            }
        },
        write
    );
    write_result.unwrap();
    assert_eq!(answered, CALLS);
    let ev = within("watch among the pipelined replies", changed)
        .await
        .unwrap();
    assert_eq!(ev.event_type, EventType::NodeDataChanged);
    // Order within the session: a read issued after the event was seen sees the write.
    assert_eq!(&c.get_data(&watched).await.unwrap().0[..], b"changed");
    writer.close().await;
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_calls_in_flight_each_get_their_own_answer() {
    deep_pipeline(true).await;
}

#[tokio::test]
async fn the_same_without_reply_coalescing() {
    deep_pipeline(false).await;
}
