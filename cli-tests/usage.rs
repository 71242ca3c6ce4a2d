//! Errors a shell user meets: one line on stderr, exit status 2, never a panic; help with
//! examples on every subcommand.

use crate::support::*;

#[tokio::test]
async fn unreachable_servers_exit_2_with_one_line() {
    let started = std::time::Instant::now();
    let out = run(&[
        "--servers",
        "127.0.0.1:1",
        "--session-timeout",
        "1000",
        "lock",
        "/x",
        "--",
        "true",
    ])
    .await;
    assert_eq!(out.code(), 2, "{out:?}");
    assert_one_line_error(&out);
    assert!(out.stderr.contains("cannot connect"), "{out:?}");
    // The line says why, per server (nothing listens on port 1).
    let why = out.stderr.to_lowercase();
    assert!(why.contains("127.0.0.1:1: connection refused"), "{out:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let out = run(&[
        "--servers",
        "127.0.0.1:1",
        "--connect-timeout",
        "300ms",
        "barrier",
        "wait",
        "/x",
    ])
    .await;
    assert_eq!(out.code(), 2, "{out:?}");
    assert_one_line_error(&out);
}

#[tokio::test]
async fn bad_arguments_exit_2_with_one_line() {
    for args in [
        &["lock", "no-slash", "--", "true"][..],
        &["lock", "/trailing/", "--", "true"],
        &["lock", "--timeout", "10", "/x", "--", "true"],
        &["lock", "--timeout", "5 parsecs", "/x", "--", "true"],
        &["barrier", "wait", "--timeout", "-1s", "/x"],
        &["lock", "/x"],
        &["double-barrier", "/x", "--", "true"],
        &[
            "double-barrier",
            "--count",
            "2",
            "--id",
            "a/b",
            "/x",
            "--",
            "true",
        ],
        &["--session-timeout", "ten", "barrier", "set", "/x"],
        // A sync limit that would leave the lease nothing (it must stay below T/2).
        &[
            "--session-timeout",
            "4000",
            "--server-sync-limit",
            "2s",
            "barrier",
            "set",
            "/x",
        ],
        &["--server-sync-limit", "soon", "barrier", "set", "/x"],
        &["frobnicate"],
        &["lock", "--max", "2", "--read", "/x", "--", "true"],
        &["lock", "--max", "0", "/x", "--", "true"],
        &["lock", "--max", "many", "/x", "--", "true"],
        &["elect", "/x"],
        &["elect", "--observe", "/x", "--", "true"],
        &["elect", "--observe", "--timeout", "1s", "/x"],
        &["elect", "--id", "", "/x", "--", "true"],
        &["elect", "relative", "--", "true"],
        &["holders"],
        &["holders", "/x/"],
        &["lock", "--layout", "etcd", "/x", "--", "true"],
        &["lock", "--write", "--read", "/x", "--", "true"],
        &["lock", "--write", "--max", "2", "/x", "--", "true"],
        &["elect", "--layout", "", "/x", "--", "true"],
    ] {
        let out = run(args).await;
        assert_eq!(out.code(), 2, "{args:?}: {out:?}");
        assert_one_line_error(&out);
    }
}

#[tokio::test]
async fn every_subcommand_has_help_with_an_example() {
    for args in [
        &["--help"][..],
        &["lock", "--help"],
        &["elect", "--help"],
        &["holders", "--help"],
        &["barrier", "--help"],
        &["barrier", "set", "--help"],
        &["barrier", "unset", "--help"],
        &["barrier", "wait", "--help"],
        &["double-barrier", "--help"],
    ] {
        let out = run(args).await;
        assert_eq!(out.code(), 0, "{args:?}: {out:?}");
        assert!(
            out.stdout.contains("Example"),
            "{args:?} has no example:\n{}",
            out.stdout
        );
        assert!(out.stdout.contains("zksync"), "{args:?}");
    }
}

#[tokio::test]
async fn chroot_suffix_is_honoured() {
    let ns = zksync_test_support::Namespace::new("cli-chroot").await;
    let servers = format!("{}{}", zksync_test_support::peers(), ns.root);
    // Paths are relative to the chroot: the lock lives at <root>/jobs/nightly.
    let out = run(&["--servers", &servers, "lock", "/jobs/nightly", "--", "true"]).await;
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(ns
        .synced_admin()
        .await
        .exists(&ns.path("jobs/nightly"))
        .await
        .unwrap()
        .is_some());
    // A chroot that does not exist: one line with a hint, exit 2.
    let missing = format!("{}{}/missing", zksync_test_support::peers(), ns.root);
    let out = run(&["--servers", &missing, "lock", "/l", "--", "true"]).await;
    assert_eq!(out.code(), 2, "{out:?}");
    assert_one_line_error(&out);
    assert!(out.stderr.contains("chroot"), "{out:?}");
    ns.cleanup().await;
}
