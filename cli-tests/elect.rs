//! `zksync elect`: CMD runs only while leading, with the token; the next candidate takes over
//! when the leader's CMD exits or its session expires; `--timeout`; `--observe`.

use crate::support::*;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use zksync::recipes::naming::QueueKind;
use zksync::recipes::Election;
use zksync_test_support::{client, peer_list, Forwarder, Namespace};

/// CMD for a candidate named by $ID: records its token, says it runs, waits for `go-$ID`,
/// then exits with $CODE (default 0).
const CANDIDATE: &str = r#"echo "$ZKSYNC_FENCING_TOKEN" > "$DIR/token-$ID"; touch "$DIR/leads-$ID"; while [ ! -e "$DIR/go-$ID" ]; do sleep 0.02; done; exit ${CODE:-0}"#;

fn candidate(dir: &Scratch, path: &str, id: &str, extra: &[&str]) -> Proc {
    let mut args = extra.to_vec();
    args.extend(["elect", "--id", id, path, "--", "sh", "-c", CANDIDATE]);
    let mut cmd = zksync(&args);
    cmd.env("DIR", &dir.path).env("ID", id);
    Proc::start(cmd)
}

fn token(dir: &Scratch, id: &str) -> i64 {
    let text = dir.read(&format!("token-{id}"));
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("token of {id}: {text:?}"))
}

#[tokio::test]
async fn leader_runs_the_command_and_the_next_candidate_takes_over_when_it_exits() {
    let ns = Namespace::new("cli-elect").await;
    let dir = Scratch::new("elect");
    let path = ns.path("election");
    let mut a = candidate(&dir, &path, "a", &[]);
    dir.wait_for(&mut a, "leads-a").await;
    let mut b = Proc::start({
        let mut cmd = zksync(&["elect", "--id", "b", &path, "--", "sh", "-c", CANDIDATE]);
        cmd.env("DIR", &dir.path).env("ID", "b").env("CODE", "7");
        cmd
    });
    // b stands in line behind a: two candidates, a leads.
    wait_queue_len(&ns.admin, &path, 2).await;
    let entries = queue_entries(&ns.admin, &path).await;
    assert!(entries.iter().all(|e| e.kind == QueueKind::Candidate));
    assert_eq!(entries[0].data, "a");
    assert!(entries[0].holder && !entries[1].holder, "{entries:?}");
    assert_eq!(
        entries[0].token,
        token(&dir, "a"),
        "the token is the node's czxid"
    );
    assert!(
        !dir.path.join("leads-b").exists(),
        "b runs only once it leads"
    );
    // a's command exits: a resigns, b leads, with a larger token.
    touch(&dir, "go-a");
    let out = a.finish().await;
    assert_eq!(out.code(), 0, "{out:?}");
    dir.wait_for(&mut b, "leads-b").await;
    assert!(token(&dir, "b") > token(&dir, "a"));
    touch(&dir, "go-b");
    let out = b.finish().await;
    assert_eq!(out.code(), 7, "CMD's status is passed on: {out:?}");
    assert!(
        queue_entries(&ns.admin, &path).await.is_empty(),
        "both resigned"
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn timeout_exits_3_and_leaves_no_node() {
    let ns = Namespace::new("cli-elect-timeout").await;
    let path = ns.path("election");
    let leader_client = client().await;
    let leadership = Election::new(leader_client.clone(), &path)
        .with_id(b"lib")
        .campaign()
        .await
        .unwrap();
    let out = run(&[
        "elect",
        "--timeout",
        "500ms",
        &path,
        "--",
        "touch",
        "/nonexistent/never",
    ])
    .await;
    assert_eq!(out.code(), 3, "{out:?}");
    assert_one_line_error(&out);
    assert!(out.stderr.contains("timed out after 500ms"), "{out:?}");
    let left = queue_entries(&ns.admin, &path).await;
    assert_eq!(left.len(), 1, "only the leader's node is left: {left:?}");
    assert_eq!(left[0].token, leadership.token());
    leadership.resign().await.unwrap();
    leader_client.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn killed_leader_is_replaced_once_its_session_expires() {
    let ns = Namespace::new("cli-elect-kill").await;
    let dir = Scratch::new("elect-kill");
    let path = ns.path("election");
    // The leader's CMD records its pid; it must not outlive its zksync for long.
    let script = r#"echo $$ > "$DIR/pid-a"; echo "$ZKSYNC_FENCING_TOKEN" > "$DIR/token-a"; touch "$DIR/leads-a"; while :; do sleep 0.05; done"#;
    let mut cmd = zksync(&[
        "--session-timeout",
        "2000",
        "elect",
        "--id",
        "a",
        &path,
        "--",
        "sh",
        "-c",
        script,
    ]);
    cmd.env("DIR", &dir.path);
    let mut a = Proc::start(cmd);
    dir.wait_for(&mut a, "leads-a").await;
    let mut b = candidate(&dir, &path, "b", &[]);
    wait_queue_len(&ns.admin, &path, 2).await;
    let a_session = queue_entries(&ns.admin, &path).await[0].session_id;
    // SIGKILL: zksync cannot resign; the server removes its node when the session expires.
    a.signal(libc::SIGKILL);
    let out = a.finish().await;
    assert_eq!(out.status.code(), None, "killed: {out:?}");
    dir.wait_for(&mut b, "leads-b").await;
    assert!(token(&dir, "b") > token(&dir, "a"));
    let entries = queue_entries(&ns.admin, &path).await;
    assert_eq!(
        entries.len(),
        1,
        "a's node went with its session: {entries:?}"
    );
    assert!(entries[0].holder);
    assert_ne!(entries[0].session_id, a_session);
    // a's CMD got SIGTERM when its zksync died.
    let pid: i32 = dir.read("pid-a").trim().parse().unwrap();
    let deadline = std::time::Instant::now() + GUARD;
    while !process_gone(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "a's command {pid} outlived its zksync"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    touch(&dir, "go-b");
    let out = b.finish().await;
    assert_eq!(out.code(), 0, "{out:?}");
    ns.cleanup().await;
}

/// Reads the next line of an observer's stdout (hang-guarded).
async fn next_line(lines: &mut BufReader<tokio::process::ChildStdout>) -> String {
    let mut line = String::new();
    let n = tokio::time::timeout(GUARD, lines.read_line(&mut line))
        .await
        .expect("hang guard: no line from the observer")
        .expect("read observer");
    assert!(n > 0, "observer's stdout ended");
    line
}

#[tokio::test]
async fn observe_prints_each_leader_once_in_order_and_exits_0_on_sigterm() {
    let ns = Namespace::new("cli-elect-observe").await;
    let dir = Scratch::new("elect-observe");
    // The election does not exist yet: the observer waits for it.
    let path = ns.path("election");
    let mut observer = Proc::start(zksync(&["elect", "--observe", &path]));
    let mut lines = BufReader::new(observer.child.stdout.take().expect("piped stdout"));

    let mut a = candidate(&dir, &path, "a", &[]);
    dir.wait_for(&mut a, "leads-a").await;
    assert_eq!(
        next_line(&mut lines).await,
        format!("{} a\n", token(&dir, "a"))
    );
    let mut b = candidate(&dir, &path, "b", &[]);
    wait_queue_len(&ns.admin, &path, 2).await;
    touch(&dir, "go-a");
    assert_eq!(a.finish().await.code(), 0);
    dir.wait_for(&mut b, "leads-b").await;
    assert_eq!(
        next_line(&mut lines).await,
        format!("{} b\n", token(&dir, "b"))
    );
    touch(&dir, "go-b");
    assert_eq!(b.finish().await.code(), 0);
    // Nobody leads now; a third leader is reported as well.
    let mut c = candidate(&dir, &path, "c", &[]);
    dir.wait_for(&mut c, "leads-c").await;
    assert_eq!(
        next_line(&mut lines).await,
        format!("{} c\n", token(&dir, "c"))
    );
    touch(&dir, "go-c");
    assert_eq!(c.finish().await.code(), 0);

    observer.signal(libc::SIGTERM);
    let mut rest = String::new();
    tokio::time::timeout(GUARD, lines.read_to_string(&mut rest))
        .await
        .expect("hang guard: observer's stdout")
        .unwrap();
    let out = observer.finish().await;
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(rest, "", "no leader reported twice");
    assert_eq!(out.stderr, "", "{out:?}");
    ns.cleanup().await;
}

#[tokio::test]
async fn lost_leadership_stops_the_command_and_exits_4() {
    let ns = Namespace::new("cli-elect-lost").await;
    let dir = Scratch::new("elect-lost");
    let path = ns.path("election");
    // The leader reaches ZooKeeper only through a forwarder, which the test then cuts off.
    let fwd = Forwarder::start(&peer_list()[0]).await;
    let script = r#"trap 'echo term > "$DIR/term"; exit 0' TERM; echo $$ > "$DIR/pid"; touch "$DIR/ready"; while :; do sleep 0.05; done"#;
    let mut cmd = zksync(&[
        "--servers",
        &fwd.addr,
        "--session-timeout",
        "2000",
        "elect",
        &path,
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
    assert_eq!(out.code(), 4, "{out:?}");
    assert!(out.stderr.contains("lost the leadership of"), "{out:?}");
    assert!(out.stderr.contains("lease"), "{out:?}");
    assert!(!out.stderr.contains("panicked"), "{out:?}");
    assert_eq!(dir.read("term"), "term\n", "the command got SIGTERM");
    let pid: i32 = dir.read("pid").trim().parse().unwrap();
    assert!(process_gone(pid), "command {pid} still running");
    // The server expired the session too: another candidate leads.
    let other = client().await;
    let leadership = tokio::time::timeout(GUARD, Election::new(other.clone(), &path).campaign())
        .await
        .expect("election free again after expiry")
        .unwrap();
    leadership.resign().await.unwrap();
    other.close().await;
    ns.cleanup().await;
}
