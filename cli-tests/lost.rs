//! `zksync lock` when the lock is lost: the holder is cut off from ZooKeeper through a
//! forwarder until its session expires; the command must be stopped and zksync exit 4.

use crate::support::*;
use std::time::Duration;
use zksync::recipes::RwLock;
use zksync_test_support::{client, peer_list, Forwarder, Namespace};

async fn lose_lock_while(script: &str, kill_after: &str) -> (Output, Scratch, Namespace) {
    let ns = Namespace::new("cli-lost").await;
    let lock = ns.path("lock");
    let dir = Scratch::new("lost");
    let fwd = Forwarder::start(&peer_list()[0]).await;
    let hosts = fwd.addr.clone();
    let mut cmd = zksync(&[
        "--servers",
        &hosts,
        "--session-timeout",
        "2000",
        "lock",
        "--kill-after",
        kill_after,
        &lock,
        "--",
        "sh",
        "-c",
        script,
    ]);
    cmd.env("DIR", &dir.path);
    let mut p = Proc::start(cmd);
    dir.wait_for(&mut p, "ready").await;
    fwd.cut_off();
    let out = p.finish().await;
    // The server expired the session too: another process gets the lock.
    let other = client().await;
    let guard = tokio::time::timeout(GUARD, RwLock::new(other.clone(), &lock).write())
        .await
        .expect("lock free again after expiry")
        .unwrap();
    guard.unlock().await.unwrap();
    other.close().await;
    (out, dir, ns)
}

#[tokio::test]
async fn lost_lock_terminates_the_command_and_exits_4() {
    let script = r#"trap 'echo term > "$DIR/term"; exit 0' TERM; echo $$ > "$DIR/pid"; touch "$DIR/ready"; while :; do sleep 0.05; done"#;
    let (out, dir, ns) = lose_lock_while(script, "10s").await;
    assert_eq!(out.code(), 4, "{out:?}");
    assert!(out.stderr.contains("lost the write lock"), "{out:?}");
    // Stopped when the lease ran out, before the client judged the session expired.
    assert!(out.stderr.contains("lease"), "{out:?}");
    assert!(!out.stderr.contains("panicked"), "{out:?}");
    assert_eq!(dir.read("term"), "term\n", "the command got SIGTERM");
    let pid: i32 = dir.read("pid").trim().parse().unwrap();
    assert!(process_gone(pid), "command {pid} still running");
    ns.cleanup().await;
}

#[tokio::test]
async fn lost_lock_kills_a_command_that_ignores_sigterm() {
    // The shell ignores SIGTERM, and so does its background child: only SIGKILL to the
    // whole process group stops them.
    let script = r#"trap '' TERM; echo $$ > "$DIR/pid"; sleep 1000 & echo $! > "$DIR/pid2"; touch "$DIR/ready"; wait"#;
    let started = std::time::Instant::now();
    let (out, dir, ns) = lose_lock_while(script, "1s").await;
    assert_eq!(out.code(), 4, "{out:?}");
    assert!(out.stderr.contains("SIGKILL"), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
    for file in ["pid", "pid2"] {
        let pid: i32 = dir.read(file).trim().parse().unwrap();
        // The grandchild is reaped by init, which may take a moment.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !process_gone(pid) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(process_gone(pid), "{file} {pid} survived");
    }
    ns.cleanup().await;
}

#[tokio::test]
async fn lost_lock_does_not_wait_for_zombies_left_in_the_commands_group() {
    // The group's two other processes end as zombies reparented to init: `sleep 1000` (its
    // parent, the shell, exits at SIGTERM) and the short sleep it never reaps (after the
    // `exec`, its parent is `sleep 1000`). Where init does not reap (some containers and VMs),
    // those zombies stay in CMD's group for good (this VM's init reaps them only every 1-2 s,
    // hence the short --kill-after). Everything has exited at SIGTERM, so zksync must report
    // that, not wait out --kill-after and send SIGKILL.
    let script = r#"trap 'exit 0' TERM; sh -c 'sleep 0.01 & exec sleep 1000' & echo $$ > "$DIR/pid"; touch "$DIR/ready"; while :; do sleep 0.05; done"#;
    let (out, dir, ns) = lose_lock_while(script, "1s").await;
    assert_eq!(out.code(), 4, "{out:?}");
    assert!(!out.stderr.contains("SIGKILL"), "{out:?}");
    assert!(out.stderr.contains("exited with status 0"), "{out:?}");
    let pid: i32 = dir.read("pid").trim().parse().unwrap();
    assert!(process_gone(pid), "command {pid} still running");
    ns.cleanup().await;
}
