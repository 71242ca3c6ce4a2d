//! `Client::background`: work handed to the client's driver (clean-up from a `Drop`) runs
//! without a runtime in the caller and goes out before the session is closed.

use zksync::CreateMode;
use zksync_test_support::*;

#[tokio::test]
async fn close_waits_for_background_deletes() {
    let ns = Namespace::new("bg-close").await;
    let c = client().await;
    let node = ns.path("persistent");
    c.create(&node, b"", CreateMode::Persistent).await.unwrap();
    // Handed over and closed at once: the delete must go out before closeSession, although the
    // task has not even been polled when close() is called.
    let c2 = c.clone();
    let path = node.clone();
    c.background(async move {
        c2.delete(&path, None).await.unwrap();
    });
    c.close().await;
    let admin = ns.synced_admin().await;
    assert_eq!(
        admin.exists(&node).await.unwrap(),
        None,
        "the delete was sent"
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn background_work_from_a_thread_without_a_runtime_runs_and_outlives_the_last_handle() {
    let ns = Namespace::new("bg-thread").await;
    let c = client().await;
    let node = ns.path("persistent");
    c.create(&node, b"", CreateMode::Persistent).await.unwrap();
    let admin = ns.synced_admin().await;
    let (_, _, gone) = admin.get_data_w(&node).await.unwrap();
    // The last handle goes to a plain thread, hands the delete over and is dropped there.
    let path = node.clone();
    std::thread::spawn(move || {
        let c2 = c.clone();
        c.background(async move {
            c2.delete(&path, None).await.unwrap();
        });
        drop(c);
    })
    .join()
    .unwrap();
    let ev = guard("the delete from the background task", gone)
        .await
        .unwrap();
    assert_eq!(ev.event_type, zksync::EventType::NodeDeleted);
    ns.cleanup().await;
}
