//! `zksync double-barrier`.

use crate::support::*;
use std::time::Duration;
use zksync_test_support::Namespace;

#[tokio::test]
async fn three_processes_enter_and_leave_together() {
    let ns = Namespace::new("cli-double").await;
    let dir = Scratch::new("double");
    let path = ns.path("step");
    // Worker N records that it is in, works N*300ms, records that it is done.
    let start = |n: u32, status: u32| {
        let script = format!(
            r#"touch "$DIR/in-{n}"; sleep 0.{}; touch "$DIR/done-{n}"; exit {status}"#,
            n * 3
        );
        let id = format!("worker-{n}");
        let mut cmd = zksync(&[
            "double-barrier",
            "--count",
            "3",
            "--id",
            &id,
            &path,
            "--",
            "sh",
            "-c",
            &script,
        ]);
        cmd.env("DIR", &dir.path);
        Proc::start(cmd)
    };
    let mut first = start(1, 0);
    let mut second = start(2, 5);
    assert!(first.still_running_after(Duration::from_millis(500)).await);
    assert!(second.still_running_after(Duration::from_millis(1)).await);
    assert_eq!(dir.read("in-1") + &dir.read("in-2"), "");
    assert!(
        !dir.path.join("in-1").exists() && !dir.path.join("in-2").exists(),
        "nobody may enter before the third arrives"
    );
    let third = start(3, 0);
    // Everyone leaves only after the slowest (worker 3) is done.
    for (n, p, code) in [(1, first, 0), (2, second, 5), (3, third, 0)] {
        let out = p.finish().await;
        assert_eq!(out.code(), code, "worker {n}: {out:?}");
        for m in 1..=3 {
            assert!(
                dir.path.join(format!("done-{m}")).exists(),
                "worker {n} left before worker {m} was done"
            );
        }
    }
    assert!(
        ns.synced_admin()
            .await
            .exists(&path)
            .await
            .unwrap()
            .is_none(),
        "the barrier's nodes are removed after the last leave"
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn enter_timeout_exits_3_and_leaves_no_node() {
    let ns = Namespace::new("cli-double-timeout").await;
    let path = ns.path("step");
    let out = run(&[
        "double-barrier",
        "--count",
        "2",
        "--timeout",
        "500ms",
        &path,
        "--",
        "touch",
        "/nonexistent/x",
    ])
    .await;
    assert_eq!(out.code(), 3, "{out:?}");
    assert_one_line_error(&out);
    // The participant's session ended, maybe on another server: catch up before reading.
    let _ = ns.admin.sync(&path).await;
    let left = match ns.admin.get_children(&path).await {
        Ok((c, _)) => c,
        Err(e) if e.is_no_node() => Vec::new(),
        Err(e) => panic!("{e}"),
    };
    assert!(left.is_empty(), "participant node left behind: {left:?}");
    ns.cleanup().await;
}
