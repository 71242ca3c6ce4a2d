//! `zksync lock`: mutual exclusion, shared readers, exit statuses, timeouts, signals.

use crate::support::*;
use std::time::Duration;
use zksync::recipes::RwLock;
use zksync_test_support::{client, wait_children, Namespace};

/// Children of the lock's node (its queue), via the namespace's admin client.
async fn queue(ns: &Namespace, lock: &str) -> Vec<String> {
    // zksync's session ended on another server maybe: catch up with the leader first, or this
    // read may not see the ephemeral deletions its closeSession made.
    match ns.admin.sync(lock).await {
        Ok(()) => {}
        Err(e) if e.is_no_node() => return Vec::new(),
        Err(e) => panic!("sync {lock}: {e}"),
    }
    match ns.admin.get_children(lock).await {
        Ok((c, _)) => c,
        Err(e) if e.is_no_node() => Vec::new(),
        Err(e) => panic!("list {lock}: {e}"),
    }
}

#[tokio::test]
async fn write_lock_serialises_concurrent_commands() {
    let ns = Namespace::new("cli-serial").await;
    let dir = Scratch::new("serial");
    let lock = ns.path("lock");
    let log = dir.file("log");
    // Each command appends "start TOKEN", works a little, appends "end TOKEN". Any overlap
    // shows up as two starts in a row.
    let script = r#"echo "start $ZKSYNC_FENCING_TOKEN" >> "$LOG"; sleep 0.2; echo "end $ZKSYNC_FENCING_TOKEN" >> "$LOG""#;
    let procs: Vec<Proc> = (0..5)
        .map(|_| {
            let mut cmd = zksync(&["lock", &lock, "--", "sh", "-c", script]);
            cmd.env("LOG", &log);
            Proc::start(cmd)
        })
        .collect();
    for p in procs {
        let out = p.finish().await;
        assert_eq!(out.code(), 0, "{out:?}");
    }
    let text = dir.read("log");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 10, "{text}");
    let mut last_token = -1i64;
    for pair in lines.chunks(2) {
        let start = pair[0]
            .strip_prefix("start ")
            .unwrap_or_else(|| panic!("overlap:\n{text}"));
        let end = pair[1]
            .strip_prefix("end ")
            .unwrap_or_else(|| panic!("overlap:\n{text}"));
        assert_eq!(start, end, "overlap:\n{text}");
        let token: i64 = start.parse().expect("numeric fencing token");
        assert!(
            token > last_token,
            "fencing tokens grow with each holder:\n{text}"
        );
        last_token = token;
    }
    assert!(
        queue(&ns, &lock).await.is_empty(),
        "every lock node removed"
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn readers_overlap() {
    let ns = Namespace::new("cli-readers").await;
    let dir = Scratch::new("readers");
    let lock = ns.path("lock");
    // Each reader checks in, then waits until all three are in at the same time: this can
    // only succeed if the three read locks are held together.
    let script = r#"touch "$DIR/in-$$"; i=0; while [ "$(ls "$DIR" | grep -c '^in-')" -lt 3 ]; do i=$((i+1)); [ $i -gt 200 ] && exit 9; sleep 0.05; done; exit 0"#;
    let procs: Vec<Proc> = (0..3)
        .map(|_| {
            let mut cmd = zksync(&["lock", "--read", &lock, "--", "sh", "-c", script]);
            cmd.env("DIR", &dir.path);
            Proc::start(cmd)
        })
        .collect();
    for p in procs {
        let out = p.finish().await;
        assert_eq!(out.code(), 0, "readers did not overlap: {out:?}");
    }
    ns.cleanup().await;
}

#[tokio::test]
async fn exit_status_and_fencing_token_reach_the_caller() {
    let ns = Namespace::new("cli-status").await;
    let lock = ns.path("lock");
    let out = run(&["lock", &lock, "--", "sh", "-c", "exit 7"]).await;
    assert_eq!(out.code(), 7, "{out:?}");
    let out = run(&["lock", &lock, "--", "true"]).await;
    assert_eq!(out.code(), 0, "{out:?}");
    let out = run(&["lock", "--read", &lock, "--", "false"]).await;
    assert_eq!(out.code(), 1, "{out:?}");
    let out = run(&["lock", &lock, "--", "sh", "-c", "kill -9 $$"]).await;
    assert_eq!(
        out.code(),
        128 + 9,
        "killed by SIGKILL -> 137 like a shell: {out:?}"
    );
    let out = run(&["lock", &lock, "--", "no-such-command-zksync-test"]).await;
    assert_eq!(out.code(), 127, "{out:?}");
    assert_one_line_error(&out);
    // CMD's output passes through; the token is a number that grows.
    let first = run(&[
        "lock",
        &lock,
        "--",
        "sh",
        "-c",
        "echo $ZKSYNC_FENCING_TOKEN",
    ])
    .await;
    let second = run(&[
        "lock",
        &lock,
        "--",
        "sh",
        "-c",
        "echo $ZKSYNC_FENCING_TOKEN",
    ])
    .await;
    let t1: i64 = first.stdout.trim().parse().expect("token");
    let t2: i64 = second.stdout.trim().parse().expect("token");
    assert!(t2 > t1, "{t1} then {t2}");
    assert!(queue(&ns, &lock).await.is_empty(), "no node left behind");
    ns.cleanup().await;
}

#[tokio::test]
async fn timeout_exits_3_and_leaves_no_node() {
    let ns = Namespace::new("cli-timeout").await;
    let lock = ns.path("lock");
    let holder_client = client().await;
    let holder = RwLock::new(holder_client.clone(), &lock)
        .read()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let out = run(&[
        "lock",
        "--timeout",
        "500ms",
        &lock,
        "--",
        "touch",
        "/nonexistent/never",
    ])
    .await;
    assert_eq!(out.code(), 3, "{out:?}");
    assert_one_line_error(&out);
    assert!(out.stderr.contains("timed out after 500ms"), "{out:?}");
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert_eq!(
        queue(&ns, &lock).await.len(),
        1,
        "only the holder's node is left"
    );
    // A reader is not blocked by a reader.
    let out = run(&["lock", "--read", "--timeout", "5s", &lock, "--", "true"]).await;
    assert_eq!(out.code(), 0, "{out:?}");
    holder.unlock().await.unwrap();
    holder_client.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn sigterm_and_sigint_are_passed_to_the_command() {
    let ns = Namespace::new("cli-signals").await;
    let lock = ns.path("lock");
    for (sig, name, code) in [(libc::SIGTERM, "TERM", 0), (libc::SIGINT, "INT", 5)] {
        let dir = Scratch::new("signals");
        let script = format!(
            r#"trap 'echo got > "$DIR/got"; exit {code}' {name}; touch "$DIR/ready"; while :; do sleep 0.05; done"#
        );
        let mut cmd = zksync(&["lock", &lock, "--", "sh", "-c", &script]);
        cmd.env("DIR", &dir.path);
        let mut p = Proc::start(cmd);
        dir.wait_for(&mut p, "ready").await;
        p.signal(sig);
        let out = p.finish().await;
        assert_eq!(
            out.code(),
            code,
            "SIG{name}: zksync exits with CMD's status: {out:?}"
        );
        assert_eq!(dir.read("got"), "got\n", "SIG{name} reached the command");
        assert!(
            queue(&ns, &lock).await.is_empty(),
            "lock released after SIG{name}"
        );
    }
    ns.cleanup().await;
}

#[tokio::test]
async fn signal_while_waiting_removes_the_queued_node() {
    let ns = Namespace::new("cli-signal-wait").await;
    let lock = ns.path("lock");
    let holder_client = client().await;
    let holder = RwLock::new(holder_client.clone(), &lock)
        .write()
        .await
        .unwrap();
    let mut p = Proc::start(zksync(&["lock", &lock, "--", "true"]));
    // Wait until its node is queued behind ours.
    let deadline = tokio::time::Instant::now() + GUARD;
    while queue(&ns, &lock).await.len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waiter never queued"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(p.still_running_after(Duration::from_millis(200)).await);
    p.signal(libc::SIGTERM);
    let out = p.finish().await;
    assert_eq!(out.code(), 128 + libc::SIGTERM, "{out:?}");
    assert_eq!(
        queue(&ns, &lock).await.len(),
        1,
        "the waiter's node is gone at once"
    );
    holder.unlock().await.unwrap();
    holder_client.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn layout_curator_lock_is_an_inter_process_mutex_and_write_its_read_write_lock() {
    use zksync::recipes::{Layout, Mutex, RwLock};
    let ns = Namespace::new("cli-layout").await;
    let admin = ns.synced_admin().await;
    // CMD succeeds only if it runs after the holder let go (the file is made just before).
    let scratch = Scratch::new("layout");
    let cmd = ["--", "sh", "-c", "test -e \"$DIR/released\""];
    // Held by a zksync process in Curator's layout: `zksync lock --layout curator` waits for it
    // (both are InterProcessMutex nodes), and its node is named as Curator names them.
    let dir = ns.path("mutex");
    let held = Mutex::new(admin.clone(), &dir)
        .with_layout(Layout::Curator)
        .lock()
        .await
        .unwrap();
    let mut c = zksync(&[&["lock", "--layout", "curator", &dir][..], &cmd].concat());
    c.env("DIR", &scratch.path);
    let cli = Proc::start(c);
    let names = wait_children(admin, &dir, |c| c.len() == 2).await;
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("_c_") && n[..n.len() - 10].ends_with("-lock-")),
        "{names:?}"
    );
    touch(&scratch, "released");
    held.unlock().await.unwrap();
    let out = cli.finish().await;
    assert_eq!(out.code(), 0, "{out:?}");
    // --write: the read-write lock's writer, `__WRIT__`; it waits for a Curator-layout reader.
    let dir = ns.path("rw");
    let reader = RwLock::new(admin.clone(), &dir)
        .with_layout(Layout::Curator)
        .read()
        .await
        .unwrap();
    std::fs::remove_file(scratch.file("released")).unwrap();
    let args = ["lock", "--layout", "curator", "--write", &dir];
    let mut c = zksync(&[&args[..], &cmd].concat());
    c.env("DIR", &scratch.path);
    let cli = Proc::start(c);
    let names = wait_children(admin, &dir, |c| c.len() == 2).await;
    assert!(
        names
            .iter()
            .any(|n| n[..n.len() - 10].ends_with("-__WRIT__")),
        "{names:?}"
    );
    touch(&scratch, "released");
    reader.unlock().await.unwrap();
    let out = cli.finish().await;
    assert_eq!(out.code(), 0, "{out:?}");
    ns.cleanup().await;
}
