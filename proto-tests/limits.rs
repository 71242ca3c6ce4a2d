//! Frame limits: a reply larger than the client accepts is a distinct error, after which the
//! client carries on (one reconnect, no loop); a request larger than the server accepts.

use std::time::Duration;
use zksync::{ConnectOptions, CreateMode, Error, Op, SessionState};
use zksync_test_support::*;

#[tokio::test]
async fn reply_over_the_frame_limit_fails_that_call_and_the_client_recovers() {
    let ns = Namespace::new("frame").await;
    let parent = ns.path("many");
    ns.admin
        .create(&parent, b"", CreateMode::Persistent)
        .await
        .unwrap();
    let ops: Vec<Op> = (0..200)
        .map(|i| {
            Op::create(
                &format!("{parent}/child-with-a-rather-long-name-{i:04}"),
                b"",
                CreateMode::Persistent,
            )
        })
        .collect();
    ns.admin.multi(ops).await.unwrap();
    let big = ns.path("big");
    ns.admin
        .create(&big, &vec![7u8; 8192], CreateMode::Persistent)
        .await
        .unwrap();

    // A long session timeout: the idle check below must not see a read timeout on a busy box.
    let small = ConnectOptions::default()
        .session_timeout(Duration::from_secs(10))
        .max_frame_size(4096)
        .connect(&peers())
        .await
        .unwrap();
    let sid = small.session_id();
    small.sync(&ns.root).await.unwrap();
    let mut changes = small.state_changes();
    assert_eq!(
        within("state", changes.next()).await,
        Some(SessionState::Connected)
    );

    for round in 0..2 {
        match within("get_children", small.get_children(&parent)).await {
            Err(Error::FrameTooLarge { len, max }) => {
                assert_eq!(max, 4096);
                assert!(len > 4096 && len < 64 * 1024, "{len}");
            }
            other => panic!("round {round}: expected FrameTooLarge, got {other:?}"),
        }
        // One reconnect per oversized reply, same session.
        assert!(matches!(
            within("state", changes.next()).await,
            Some(SessionState::Disconnected { .. })
        ));
        assert_eq!(
            within("state", changes.next()).await,
            Some(SessionState::Connected)
        );
        // Small calls work again.
        assert!(small.exists(&parent).await.unwrap().is_some());
        assert_eq!(small.get_all_children_number(&parent).await, Ok(200));
        assert_eq!(small.session_id(), sid);
    }
    // A large getData reply, likewise.
    assert!(matches!(
        small.get_data(&big).await,
        Err(Error::FrameTooLarge { max: 4096, .. })
    ));
    assert!(matches!(
        within("state", changes.next()).await,
        Some(SessionState::Disconnected { .. })
    ));
    assert_eq!(
        within("state", changes.next()).await,
        Some(SessionState::Connected)
    );
    let (data, _) = small.get_data(&ns.root).await.unwrap();
    assert!(data.is_empty());
    // No reconnect loop: nothing further happens to the connection while the client idles
    // for a few ping intervals.
    let quiet = tokio::time::timeout(Duration::from_secs(2), changes.next()).await;
    assert!(quiet.is_err(), "unexpected state change {quiet:?}");
    assert!(small.state().is_connected());
    // The default limit takes the same replies.
    let (children, _) = ns.admin.get_children(&parent).await.unwrap();
    assert_eq!(children.len(), 200);
    small.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn request_over_the_server_limit() {
    let ns = Namespace::new("bigreq").await;
    let c = client().await;
    let p = ns.path("n");
    c.create(&p, b"", CreateMode::Persistent).await.unwrap();
    // Above jute.maxbuffer (1 MiB - 1) the server would drop the connection without a word:
    // the client refuses the request up front with a clear error and keeps the connection.
    let huge = vec![0u8; 1 << 20];
    let mut states = c.state_changes();
    assert_eq!(states.next().await, Some(zksync::SessionState::Connected));
    let r = within("oversized set_data", c.set_data(&p, &huge, None)).await;
    assert!(
        matches!(r, Err(Error::FrameTooLarge { max: 0xfffff, .. })),
        "{r:?}"
    );
    assert!(
        states.try_next().is_none(),
        "no disconnect for a refused request"
    );
    // The session lives on and the node is unchanged.
    assert_eq!(c.get_data(&p).await.unwrap().0.len(), 0);
    assert!(c.state().is_connected());
    // Just below the limit is fine.
    let fits = vec![1u8; 1000 * 1000];
    c.set_data(&p, &fits, None).await.unwrap();
    assert_eq!(c.get_data(&p).await.unwrap().0.len(), fits.len());
    c.close().await;
    ns.cleanup().await;
}
