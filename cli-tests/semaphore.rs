//! `zksync lock --max N`: at most N commands at once, a disagreeing N refused, --timeout.

use crate::support::*;
use zksync::recipes::naming::QueueKind;
use zksync::recipes::Semaphore;
use zksync_test_support::{client, Namespace};

/// CMD for contender $ID: logs its start (with its token), says it runs, waits for
/// `out-$ID`, logs its end.
const CONTENDER: &str = r#"echo "start $ID $ZKSYNC_FENCING_TOKEN" >> "$DIR/log"; touch "$DIR/in-$ID"; while [ ! -e "$DIR/out-$ID" ]; do sleep 0.02; done; echo "end $ID" >> "$DIR/log""#;

#[tokio::test]
async fn two_permits_let_exactly_two_of_three_commands_run_at_once() {
    let ns = Namespace::new("cli-sem").await;
    let dir = Scratch::new("sem");
    let path = ns.path("builders");
    let procs: Vec<(String, Proc)> = ["0", "1", "2"]
        .into_iter()
        .map(|id| {
            let mut cmd = zksync(&["lock", "--max", "2", &path, "--", "sh", "-c", CONTENDER]);
            cmd.env("DIR", &dir.path).env("ID", id);
            (id.to_string(), Proc::start(cmd))
        })
        .collect();
    // All three queued: two hold, one waits, and exactly two commands run.
    wait_queue_len(&ns.admin, &path, 3).await;
    let running = wait_files(&dir, "in-", 2).await;
    let entries = queue_entries(&ns.admin, &path).await;
    assert!(entries.iter().all(|e| e.kind == QueueKind::Permit));
    let holders = entries.iter().filter(|e| e.holder).count();
    assert_eq!(holders, 2, "{entries:?}");
    assert_eq!(files(&dir, "in-"), running, "a third command runs");
    let waiter = ["0", "1", "2"]
        .into_iter()
        .find(|id| !running.contains(&format!("in-{id}")))
        .unwrap()
        .to_string();

    // One of the two exits: the third runs.
    let first_out = running[0].strip_prefix("in-").unwrap().to_string();
    touch(&dir, &format!("out-{first_out}"));
    wait_files(&dir, "in-", 3).await;
    for id in ["0", "1", "2"] {
        touch(&dir, &format!("out-{id}"));
    }
    for (id, p) in procs {
        let out = p.finish().await;
        assert_eq!(out.code(), 0, "{id}: {out:?}");
    }

    // The log: never three at once; the waiter started after the first end; its token is the
    // largest (its node came last).
    let log = dir.read("log");
    let (mut now, mut peak) = (0, 0);
    let mut tokens = std::collections::HashMap::new();
    let mut ended = Vec::new();
    for line in log.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        match words[..] {
            ["start", id, token] => {
                if id == waiter {
                    assert_eq!(ended, [first_out.as_str()], "waiter started early:\n{log}");
                }
                tokens.insert(id.to_string(), token.parse::<i64>().expect("token"));
                now += 1;
                peak = std::cmp::max(peak, now);
            }
            ["end", id] => {
                ended.push(id);
                now -= 1;
            }
            _ => panic!("bad log line {line:?}:\n{log}"),
        }
    }
    assert_eq!(peak, 2, "{log}");
    assert_eq!(tokens.len(), 3, "{log}");
    assert!(tokens
        .iter()
        .all(|(id, t)| id == &waiter || *t < tokens[&waiter]));
    assert!(
        queue_entries(&ns.admin, &path).await.is_empty(),
        "every permit released"
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn a_different_max_is_refused_with_exit_2() {
    let ns = Namespace::new("cli-sem-mismatch").await;
    let path = ns.path("sem");
    let out = run(&["lock", "--max", "2", &path, "--", "true"]).await;
    assert_eq!(out.code(), 0, "{out:?}");
    let out = run(&["lock", "--max", "3", &path, "--", "touch", "/nonexistent/x"]).await;
    assert_eq!(out.code(), 2, "{out:?}");
    assert_one_line_error(&out);
    assert!(
        out.stderr.contains("set up for 2 permits, not 3"),
        "{out:?}"
    );
    // A plain lock on it is no semaphore user; --max with --read is a usage error.
    let out = run(&["lock", "--max", "2", "--read", &path, "--", "true"]).await;
    assert_eq!(out.code(), 2, "{out:?}");
    assert_one_line_error(&out);
    let (data, _) = ns.synced_admin().await.get_data(&path).await.unwrap();
    assert_eq!(data, "2", "the stored max is unchanged");
    assert!(queue_entries(&ns.admin, &path).await.is_empty());
    ns.cleanup().await;
}

#[tokio::test]
async fn timeout_exits_3_and_leaves_no_node() {
    let ns = Namespace::new("cli-sem-timeout").await;
    let path = ns.path("sem");
    let holder_client = client().await;
    let permit = Semaphore::new(holder_client.clone(), &path, 1)
        .acquire()
        .await
        .unwrap();
    let out = run(&[
        "lock",
        "--max",
        "1",
        "--timeout",
        "300ms",
        &path,
        "--",
        "touch",
        "/nonexistent/x",
    ])
    .await;
    assert_eq!(out.code(), 3, "{out:?}");
    assert_one_line_error(&out);
    assert!(out.stderr.contains("timed out after 300ms"), "{out:?}");
    let left = queue_entries(&ns.admin, &path).await;
    assert_eq!(left.len(), 1, "only the holder's node: {left:?}");
    assert_eq!(left[0].token, permit.token());
    permit.release().await.unwrap();
    holder_client.close().await;
    ns.cleanup().await;
}
