//! `zksync barrier set|unset|wait`.

use crate::support::*;
use std::time::Duration;
use zksync_test_support::Namespace;

#[tokio::test]
async fn set_unset_wait() {
    let ns = Namespace::new("cli-barrier").await;
    let gate = ns.path("deploy/gate");

    let out = run(&["barrier", "wait", &gate]).await;
    assert_eq!(out.code(), 0, "absent barrier: go at once: {out:?}");

    let out = run(&["barrier", "set", &gate]).await;
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(ns
        .synced_admin()
        .await
        .exists(&gate)
        .await
        .unwrap()
        .is_some());

    let out = run(&["barrier", "set", &gate]).await;
    assert_eq!(out.code(), 1, "{out:?}");
    assert_one_line_error(&out);
    assert!(out.stderr.contains("already set"), "{out:?}");

    let out = run(&["barrier", "wait", "--timeout", "300ms", &gate]).await;
    assert_eq!(out.code(), 3, "{out:?}");
    assert_one_line_error(&out);

    let mut waiters: Vec<Proc> = (0..3)
        .map(|_| Proc::start(zksync(&["barrier", "wait", &gate])))
        .collect();
    for w in &mut waiters {
        assert!(
            w.still_running_after(Duration::from_millis(100)).await,
            "waiter returned early"
        );
    }
    let out = run(&["barrier", "unset", &gate]).await;
    assert_eq!(out.code(), 0, "{out:?}");
    for w in waiters {
        let out = w.finish().await;
        assert_eq!(out.code(), 0, "released waiter: {out:?}");
    }

    let out = run(&["barrier", "unset", &gate]).await;
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("not set"), "{out:?}");
    ns.cleanup().await;
}
