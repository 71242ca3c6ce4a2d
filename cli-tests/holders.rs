//! `zksync holders`: a lock's, a semaphore's and an election's queue, holders first; --json;
//! exit statuses for missing, malformed and empty paths.

use crate::support::*;
use serde_json::Value;
use zksync::recipes::{Election, RwLock, Semaphore};
use zksync::{Client, CreateMode};
use zksync_test_support::{client, Namespace};

/// One expected line: role, kind, token (`None` for a waiter: no client of the test knows it,
/// it is taken from the listing and checked to grow along the queue), session, data.
struct Want {
    holder: bool,
    kind: &'static str,
    token: Option<i64>,
    session: i64,
    data: &'static str,
}

fn want(
    holder: bool,
    kind: &'static str,
    token: Option<i64>,
    client: &Client,
    data: &'static str,
) -> Want {
    Want {
        holder,
        kind,
        token,
        session: client.session_id(),
        data,
    }
}

/// Runs `zksync holders` and `zksync holders --json` on `path` and checks both against `wants`
/// (in that order), and that every token of a waiter is also right (from the ensemble).
async fn check(ns: &Namespace, path: &str, wants: &[Want]) {
    let entries = queue_entries(&ns.admin, path).await;
    assert_eq!(entries.len(), wants.len(), "{entries:?}");
    // In these queues every holder came before every waiter: tokens grow down the list.
    assert!(
        entries.windows(2).all(|w| w[0].token < w[1].token),
        "{entries:?}"
    );
    let out = run(&["holders", path]).await;
    assert_eq!(out.code(), 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), wants.len(), "{}", out.stdout);
    for ((line, w), e) in lines.iter().zip(wants).zip(&entries) {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 6, "{line}");
        assert_eq!(f[0], if w.holder { "holder" } else { "waiter" }, "{line}");
        assert_eq!(f[1], w.kind, "{line}");
        let token = w.token.unwrap_or(e.token);
        assert_eq!(f[2], token.to_string(), "{line}");
        assert_eq!(f[3], format!("0x{:x}", w.session), "{line}");
        assert!(
            f[4].ends_with('s') && f[4].trim_end_matches(['m', 's']).parse::<f64>().is_ok(),
            "age {line}"
        );
        assert_eq!(f[5], w.data, "{line}");
    }

    let out = run(&["holders", "--json", path]).await;
    assert_eq!(out.code(), 0, "{out:?}");
    let json: Value = serde_json::from_str(&out.stdout).expect("valid JSON");
    let array = json.as_array().expect("a JSON array");
    assert_eq!(array.len(), wants.len(), "{}", out.stdout);
    for ((o, w), e) in array.iter().zip(wants).zip(&entries) {
        assert_eq!(o["kind"], w.kind, "{o}");
        assert_eq!(o["holder"], w.holder, "{o}");
        let token = w.token.unwrap_or(e.token);
        assert_eq!(o["token"], token, "{o}");
        assert_eq!(o["session"], format!("0x{:x}", w.session), "{o}");
        assert_eq!(o["data"], w.data, "{o}");
        assert!(o["age_ms"].as_u64().is_some(), "{o}");
        let node = o["node"].as_str().expect("node");
        assert!(node.starts_with(&format!("{path}/_c_")), "{o}");
        assert_eq!(node, e.node, "{o}");
    }
}

#[tokio::test]
async fn a_lock_lists_its_readers_then_the_writer_and_reader_behind_them() {
    let ns = Namespace::new("cli-holders-lock").await;
    let path = ns.path("lock");
    let (c1, c2) = (client().await, client().await);
    let r1 = RwLock::new(c1.clone(), &path)
        .with_data(b"r1")
        .read()
        .await
        .unwrap();
    let r2 = RwLock::new(c2.clone(), &path)
        .with_data(b"r2")
        .read()
        .await
        .unwrap();
    let w = tokio::spawn({
        let lock = RwLock::new(c1.clone(), &path).with_data(b"w3");
        async move { lock.write().await }
    });
    wait_queue_len(&ns.admin, &path, 3).await;
    let r4 = tokio::spawn({
        let lock = RwLock::new(c2.clone(), &path).with_data(b"r4");
        async move { lock.read().await }
    });
    wait_queue_len(&ns.admin, &path, 4).await;
    check(
        &ns,
        &path,
        &[
            want(true, "read", Some(r1.fencing_token()), &c1, "r1"),
            want(true, "read", Some(r2.fencing_token()), &c2, "r2"),
            want(false, "write", None, &c1, "w3"),
            want(false, "read", None, &c2, "r4"),
        ],
    )
    .await;
    // The readers go: the writer holds, the reader behind it still waits.
    r1.unlock().await.unwrap();
    r2.unlock().await.unwrap();
    let w = w.await.unwrap().unwrap();
    check(
        &ns,
        &path,
        &[
            want(true, "write", Some(w.fencing_token()), &c1, "w3"),
            want(false, "read", None, &c2, "r4"),
        ],
    )
    .await;
    r4.abort();
    w.unlock().await.unwrap();
    c1.close().await;
    c2.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn a_semaphore_and_an_election_list_holders_then_waiters() {
    let ns = Namespace::new("cli-holders-sem").await;
    let (c1, c2) = (client().await, client().await);

    let sem = ns.path("sem");
    let p1 = Semaphore::new(c1.clone(), &sem, 2)
        .with_data(b"p1")
        .acquire()
        .await
        .unwrap();
    let p2 = Semaphore::new(c2.clone(), &sem, 2)
        .with_data(b"p2")
        .acquire()
        .await
        .unwrap();
    let p3 = tokio::spawn({
        let s = Semaphore::new(c1.clone(), &sem, 2).with_data(b"p3");
        async move { s.acquire().await }
    });
    wait_queue_len(&ns.admin, &sem, 3).await;
    check(
        &ns,
        &sem,
        &[
            want(true, "permit", Some(p1.token()), &c1, "p1"),
            want(true, "permit", Some(p2.token()), &c2, "p2"),
            want(false, "permit", None, &c1, "p3"),
        ],
    )
    .await;

    let el = ns.path("election");
    let leader = Election::new(c2.clone(), &el)
        .with_id(b"leader")
        .campaign()
        .await
        .unwrap();
    let next = tokio::spawn({
        let e = Election::new(c1.clone(), &el).with_id(b"next in line");
        async move { e.campaign().await }
    });
    wait_queue_len(&ns.admin, &el, 2).await;
    let entries = queue_entries(&ns.admin, &el).await;
    assert_eq!(entries[1].data, "next in line");
    // The text keeps an id with spaces in its last field; check the JSON and the lines apart.
    let out = run(&["holders", &el]).await;
    assert_eq!(out.code(), 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(
        lines[0].starts_with(&format!(
            "holder candidate {} 0x{:x} ",
            leader.token(),
            c2.session_id()
        )),
        "{}",
        out.stdout
    );
    assert!(lines[0].ends_with(" leader"), "{}", out.stdout);
    assert!(
        lines[1].starts_with(&format!(
            "waiter candidate {} 0x{:x} ",
            entries[1].token,
            c1.session_id()
        )),
        "{}",
        out.stdout
    );
    assert!(lines[1].ends_with(" next in line"), "{}", out.stdout);
    let out = run(&["holders", "--json", &el]).await;
    let json: Value = serde_json::from_str(&out.stdout).expect("valid JSON");
    assert_eq!(json[0]["holder"], true);
    assert_eq!(json[0]["data"], "leader");
    assert_eq!(json[1]["holder"], false);
    assert_eq!(json[1]["data"], "next in line");

    next.abort();
    p3.abort();
    leader.resign().await.unwrap();
    p1.release().await.unwrap();
    p2.release().await.unwrap();
    c1.close().await;
    c2.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn missing_and_bad_paths_exit_2_and_an_empty_queue_prints_nothing() {
    let ns = Namespace::new("cli-holders-paths").await;
    for args in [
        &["holders", &ns.path("missing")][..],
        &["holders", "--json", &ns.path("missing")],
        &["holders", "relative"],
        &["holders", "/trailing/"],
    ] {
        let out = run(args).await;
        assert_eq!(out.code(), 2, "{args:?}: {out:?}");
        assert_one_line_error(&out);
        assert_eq!(out.stdout, "", "{args:?}");
    }
    let empty = ns.path("empty");
    ns.admin
        .create(&empty, b"", CreateMode::Persistent)
        .await
        .unwrap();
    // A child that is no queue node is left out.
    ns.admin
        .create(&format!("{empty}/other"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    let out = run(&["holders", &empty]).await;
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
    let out = run(&["holders", "--json", &empty]).await;
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "[]", "{out:?}");
    ns.cleanup().await;
}
