//! Every operation: its success path and typical errors.

use zksync::{perms, Acl, CreateMode, Error, ErrorCode, Id};
use zksync_test_support::*;

#[tokio::test]
async fn create_get_set_delete() {
    let ns = Namespace::new("crud").await;
    let c = client().await;
    let p = ns.path("a");
    let (path, stat) = c.create(&p, b"one", CreateMode::Persistent).await.unwrap();
    assert_eq!(path, p);
    assert_eq!(stat.version, 0);
    assert_eq!(stat.data_length, 3);
    assert_eq!(stat.ephemeral_owner, 0);
    assert_eq!(stat.czxid, stat.mzxid);
    let (data, stat) = c.get_data(&p).await.unwrap();
    assert_eq!(&data[..], b"one");
    let stat2 = c.set_data(&p, b"two", Some(stat.version)).await.unwrap();
    assert_eq!(stat2.version, 1);
    assert!(stat2.mzxid > stat.mzxid);
    assert_eq!(stat2.czxid, stat.czxid);
    assert_eq!(
        c.set_data(&p, b"x", Some(0)).await,
        Err(Error::Server(ErrorCode::BadVersion))
    );
    assert_eq!(
        c.create(&p, b"", CreateMode::Persistent).await.unwrap_err(),
        Error::Server(ErrorCode::NodeExists)
    );
    // Unconditional set (version None = -1).
    assert_eq!(c.set_data(&p, b"three", None).await.unwrap().version, 2);
    assert_eq!(c.exists(&p).await.unwrap().map(|s| s.data_length), Some(5));
    assert_eq!(
        c.delete(&p, Some(1)).await,
        Err(Error::Server(ErrorCode::BadVersion))
    );
    c.delete(&p, Some(2)).await.unwrap();
    assert_eq!(c.exists(&p).await.unwrap(), None);
    assert!(c.delete(&p, None).await.unwrap_err().is_no_node());
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn typical_errors() {
    let ns = Namespace::new("errors").await;
    let c = client().await;
    let missing = ns.path("missing");
    let no_node = Err::<(), _>(Error::Server(ErrorCode::NoNode));
    assert_eq!(c.get_data(&missing).await.map(|_| ()), no_node);
    assert_eq!(c.set_data(&missing, b"x", None).await.map(|_| ()), no_node);
    assert_eq!(c.delete(&missing, None).await, no_node);
    assert_eq!(c.get_children(&missing).await.map(|_| ()), no_node);
    assert_eq!(c.get_children_names(&missing).await.map(|_| ()), no_node);
    assert_eq!(c.get_acl(&missing).await.map(|_| ()), no_node);
    assert_eq!(
        c.set_acl(&missing, Acl::open_unsafe(), None)
            .await
            .map(|_| ()),
        no_node
    );
    assert_eq!(
        c.get_all_children_number(&missing).await.map(|_| ()),
        no_node
    );
    assert_eq!(c.exists(&missing).await, Ok(None));
    // Parent missing.
    assert_eq!(
        c.create(&ns.path("missing/child"), b"", CreateMode::Persistent)
            .await
            .map(|_| ()),
        no_node
    );
    // NotEmpty.
    c.create(&ns.path("p"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    c.create(&ns.path("p/c"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(
        c.delete(&ns.path("p"), None).await,
        Err(Error::Server(ErrorCode::NotEmpty))
    );
    // NoChildrenForEphemerals, for every create mode that the server checks.
    c.create(&ns.path("e"), b"", CreateMode::Ephemeral)
        .await
        .unwrap();
    for mode in [
        CreateMode::Persistent,
        CreateMode::Ephemeral,
        CreateMode::PersistentSequential,
    ] {
        assert_eq!(
            c.create(&ns.path("e/x"), b"", mode).await.map(|_| ()),
            Err(Error::Server(ErrorCode::NoChildrenForEphemerals)),
            "{mode:?}"
        );
    }
    // The failed writes did not hurt the session.
    assert!(c.state().is_connected());
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn invalid_paths_rejected_client_side() {
    let ns = Namespace::new("paths").await;
    let live = client().await;
    let closed = client().await;
    closed.close().await;
    let bad = [
        "", "a", "a/b", "/a/", "/a//b", "/a/./b", "/a/../b", "/.", "/..", "/a\0b", "/a\u{1}b",
        "/a\u{7f}",
    ];
    for c in [&live, &closed] {
        for p in bad {
            let is_invalid = |r: Result<(), Error>| matches!(r, Err(Error::InvalidPath { .. }));
            // On the closed client a round trip would fail with Closed: InvalidPath proves the
            // check happens before anything is sent.
            assert!(
                is_invalid(c.create(p, b"", CreateMode::Persistent).await.map(|_| ())),
                "create {p:?}"
            );
            assert!(is_invalid(c.delete(p, None).await), "delete {p:?}");
            assert!(is_invalid(c.exists(p).await.map(|_| ())), "exists {p:?}");
            assert!(
                is_invalid(c.exists_w(p).await.map(|_| ())),
                "exists_w {p:?}"
            );
            assert!(
                is_invalid(c.get_data(p).await.map(|_| ())),
                "get_data {p:?}"
            );
            assert!(
                is_invalid(c.get_data_w(p).await.map(|_| ())),
                "get_data_w {p:?}"
            );
            assert!(
                is_invalid(c.set_data(p, b"", None).await.map(|_| ())),
                "set_data {p:?}"
            );
            assert!(
                is_invalid(c.get_children(p).await.map(|_| ())),
                "get_children {p:?}"
            );
            assert!(
                is_invalid(c.get_children_w(p).await.map(|_| ())),
                "get_children_w {p:?}"
            );
            assert!(is_invalid(c.get_acl(p).await.map(|_| ())), "get_acl {p:?}");
            assert!(
                is_invalid(c.set_acl(p, Acl::open_unsafe(), None).await.map(|_| ())),
                "set_acl {p:?}"
            );
            assert!(is_invalid(c.sync(p).await), "sync {p:?}");
            assert!(
                is_invalid(c.get_all_children_number(p).await.map(|_| ())),
                "children number {p:?}"
            );
            assert!(
                is_invalid(c.get_ephemerals(p).await.map(|_| ())),
                "get_ephemerals {p:?}"
            );
            assert!(
                is_invalid(
                    c.add_watch(p, zksync::AddWatchMode::Persistent)
                        .await
                        .map(|_| ())
                ),
                "add_watch {p:?}"
            );
            assert!(
                is_invalid(c.remove_watches(p, zksync::WatcherType::Any).await),
                "remove_watches {p:?}"
            );
            assert!(
                is_invalid(c.check_watches(p, zksync::WatcherType::Any).await),
                "check_watches {p:?}"
            );
        }
        // A sequential prefix may end with '/', a plain path may not.
        assert!(matches!(
            c.create(&format!("{}/", ns.root), b"", CreateMode::Persistent)
                .await,
            Err(Error::InvalidPath { .. })
        ));
        assert!(matches!(
            c.delete("/", None).await,
            Err(Error::InvalidPath { .. })
        ));
    }
    // The closed client says Closed for a valid path, the live one still works.
    assert_eq!(closed.exists("/").await, Err(Error::Closed));
    assert!(live.exists("/").await.unwrap().is_some());
    ns.cleanup().await;
    live.close().await;
}

fn seq_suffix<'a>(path: &'a str, prefix: &str) -> &'a str {
    let suffix = path
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{path} does not start with {prefix}"));
    assert_eq!(suffix.len(), 10, "suffix of {path}");
    assert!(
        suffix.bytes().all(|b| b.is_ascii_digit()),
        "suffix of {path}"
    );
    suffix
}

#[tokio::test]
async fn sequential_naming() {
    let ns = Namespace::new("seq").await;
    let c = client().await;
    let prefix = ns.path("n-");
    let mut last = -1i64;
    for (i, mode) in [
        CreateMode::PersistentSequential,
        CreateMode::EphemeralSequential,
        CreateMode::PersistentSequential,
        CreateMode::PersistentSequentialWithTtl(std::time::Duration::from_secs(3600)),
    ]
    .into_iter()
    .enumerate()
    {
        let (path, _) = c.create(&prefix, b"", mode).await.unwrap();
        let n: i64 = seq_suffix(&path, &prefix).parse().unwrap();
        assert!(n > last, "sequence numbers increase: {n} after {last}");
        // One counter per parent, counting every child creation: these are the first children.
        assert_eq!(n, i as i64);
        last = n;
    }
    // A plain child bumps the parent's counter too (cversion).
    c.create(&ns.path("plain"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    let (path, _) = c
        .create(&prefix, b"", CreateMode::PersistentSequential)
        .await
        .unwrap();
    assert_eq!(seq_suffix(&path, &prefix), "0000000005");
    // A prefix ending with '/': the node's name is just the number.
    c.create(&ns.path("dir"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    let dir_prefix = format!("{}/", ns.path("dir"));
    let (path, _) = c
        .create(&dir_prefix, b"", CreateMode::PersistentSequential)
        .await
        .unwrap();
    assert_eq!(seq_suffix(&path, &dir_prefix), "0000000000");
    let (children, _) = c.get_children(&ns.path("dir")).await.unwrap();
    assert_eq!(children, vec!["0000000000".to_string()]);
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn ephemeral_nodes() {
    let ns = Namespace::new("eph").await;
    let c = client().await;
    let other = client().await;
    let p = ns.path("e");
    let (_, stat) = c.create(&p, b"x", CreateMode::Ephemeral).await.unwrap();
    assert_eq!(stat.ephemeral_owner, c.session_id());
    assert_ne!(c.session_id(), 0);
    let (ps, _) = c
        .create(&ns.path("s-"), b"", CreateMode::EphemeralSequential)
        .await
        .unwrap();
    // Visible to other sessions, with the owner.
    other.sync(&p).await.unwrap();
    assert_eq!(
        other.exists(&p).await.unwrap().unwrap().ephemeral_owner,
        c.session_id()
    );
    // get_ephemerals: this session's only, filtered by prefix.
    other
        .create(&ns.path("theirs"), b"", CreateMode::Ephemeral)
        .await
        .unwrap();
    let mut mine = c.get_ephemerals(&ns.root).await.unwrap();
    mine.sort();
    let mut expected = vec![p.clone(), ps.clone()];
    expected.sort();
    assert_eq!(mine, expected);
    assert_eq!(
        c.get_ephemerals(&ns.path("s-")).await.unwrap(),
        vec![ps.clone()]
    );
    assert_eq!(
        c.get_ephemerals(&ns.path("nothing-here")).await.unwrap(),
        Vec::<String>::new()
    );
    let all = c.get_ephemerals("/").await.unwrap();
    assert!(all.contains(&p) && all.contains(&ps), "{all:?}");
    assert_eq!(
        other.get_ephemerals(&ns.root).await.unwrap(),
        vec![ns.path("theirs")]
    );
    // Closing the owner removes them.
    c.close().await;
    other.sync(&p).await.unwrap();
    assert_eq!(other.exists(&p).await.unwrap(), None);
    assert_eq!(other.exists(&ps).await.unwrap(), None);
    ns.cleanup().await;
    other.close().await;
}

#[tokio::test]
async fn container_and_ttl_nodes() {
    let ns = Namespace::new("ext").await;
    let c = client().await;
    let p = ns.path("container");
    let (path, stat) = c.create(&p, b"c", CreateMode::Container).await.unwrap();
    assert_eq!(path, p);
    // The server keeps containers (and TTL nodes) apart with a special ephemeralOwner but
    // reports 0 to clients (DataNode.getClientEphemeralOwner).
    assert_eq!(stat.ephemeral_owner, 0);
    assert_eq!(c.exists(&p).await.unwrap(), Some(stat));
    c.create(&ns.path("container/child"), b"", CreateMode::Persistent)
        .await
        .unwrap();

    let ttl = std::time::Duration::from_millis(3_600_000);
    let (path, stat) = c
        .create(&ns.path("ttl"), b"t", CreateMode::PersistentWithTtl(ttl))
        .await
        .unwrap();
    assert_eq!(path, ns.path("ttl"));
    assert_eq!(stat.ephemeral_owner, 0);
    let (data, _) = c.get_data(&path).await.unwrap();
    assert_eq!(&data[..], b"t");

    let prefix = ns.path("ttlseq-");
    let (path, stat) = c
        .create(&prefix, b"", CreateMode::PersistentSequentialWithTtl(ttl))
        .await
        .unwrap();
    seq_suffix(&path, &prefix);
    assert_eq!(stat.ephemeral_owner, 0);

    // A zero TTL is refused before sending.
    assert!(matches!(
        c.create(
            &ns.path("ttl0"),
            b"",
            CreateMode::PersistentWithTtl(std::time::Duration::ZERO)
        )
        .await,
        Err(Error::InvalidArgument(_))
    ));
    // A TTL beyond the server's maximum (2^40 - 1 ms) is refused by the server.
    let huge = std::time::Duration::from_millis(1 << 41);
    assert_eq!(
        c.create(
            &ns.path("ttlhuge"),
            b"",
            CreateMode::PersistentWithTtl(huge)
        )
        .await
        .map(|_| ()),
        Err(Error::Server(ErrorCode::BadArguments))
    );
    assert_eq!(c.exists(&ns.path("ttlhuge")).await, Ok(None));
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn get_children_with_stat() {
    let ns = Namespace::new("children").await;
    let c = client().await;
    let p = ns.path("p");
    c.create(&p, b"", CreateMode::Persistent).await.unwrap();
    let (children, stat) = c.get_children(&p).await.unwrap();
    assert!(children.is_empty());
    assert_eq!((stat.num_children, stat.cversion), (0, 0));
    for name in ["b", "a", "c"] {
        c.create(&format!("{p}/{name}"), b"", CreateMode::Persistent)
            .await
            .unwrap();
    }
    c.delete(&format!("{p}/c"), None).await.unwrap();
    let (mut children, stat) = c.get_children(&p).await.unwrap();
    children.sort();
    assert_eq!(children, vec!["a", "b"]);
    assert_eq!(stat.num_children, 2);
    assert_eq!(stat.cversion, 4, "three creates and a delete");
    assert_eq!(stat.version, 0);
    let (_, direct) = c.get_data(&p).await.unwrap();
    assert_eq!(direct, stat);
    // The borrowed listing: the same names and Stat, without a String per name.
    let (names, names_stat) = c.get_children_names(&p).await.unwrap();
    assert_eq!((names.len(), names.is_empty()), (2, false));
    let mut borrowed: Vec<&str> = names.iter().collect();
    borrowed.sort_unstable();
    assert_eq!(borrowed, ["a", "b"]);
    assert_eq!(names_stat, stat);
    // The root lists zksync-test.
    let (root_children, _) = c.get_children("/").await.unwrap();
    assert!(root_children.iter().any(|n| n == "zksync-test"));
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn get_all_children_number() {
    let ns = Namespace::new("count").await;
    let c = client().await;
    assert_eq!(c.get_all_children_number(&ns.root).await, Ok(0));
    for p in ["a", "a/b", "a/b/c", "a/d", "e"] {
        c.create(&ns.path(p), b"", CreateMode::Persistent)
            .await
            .unwrap();
    }
    assert_eq!(c.get_all_children_number(&ns.root).await, Ok(5));
    assert_eq!(c.get_all_children_number(&ns.path("a")).await, Ok(3));
    assert_eq!(c.get_all_children_number(&ns.path("a/b/c")).await, Ok(0));
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn acl_get_set() {
    let ns = Namespace::new("acl").await;
    let c = client().await;
    let p = ns.path("n");
    c.create(&p, b"", CreateMode::Persistent).await.unwrap();
    let (acl, stat) = c.get_acl(&p).await.unwrap();
    assert_eq!(acl, Acl::open_unsafe());
    assert_eq!(stat.aversion, 0);
    // Wrong ACL version.
    assert_eq!(
        c.set_acl(&p, Acl::read_unsafe(), Some(3)).await.map(|_| ()),
        Err(Error::Server(ErrorCode::BadVersion))
    );
    let stat = c.set_acl(&p, Acl::read_unsafe(), Some(0)).await.unwrap();
    assert_eq!(stat.aversion, 1);
    assert_eq!(stat.version, 0, "setACL does not touch the data version");
    let (acl, stat2) = c.get_acl(&p).await.unwrap();
    assert_eq!(acl, Acl::read_unsafe());
    assert_eq!(stat2.aversion, 1);
    // Read-only for everyone now: reads work, writes, ACL changes and child creation do not.
    c.get_data(&p).await.unwrap();
    assert_eq!(
        c.set_data(&p, b"x", None).await.map(|_| ()),
        Err(Error::Server(ErrorCode::NoAuth))
    );
    assert_eq!(
        c.create(&ns.path("n/c"), b"", CreateMode::Persistent)
            .await
            .map(|_| ()),
        Err(Error::Server(ErrorCode::NoAuth))
    );
    assert_eq!(
        c.set_acl(&p, Acl::open_unsafe(), None).await.map(|_| ()),
        Err(Error::Server(ErrorCode::NoAuth))
    );
    // Deleting needs DELETE on the parent, which is open.
    c.delete(&p, None).await.unwrap();
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn invalid_acls() {
    let ns = Namespace::new("badacl").await;
    let c = client().await;
    let p = ns.path("n");
    // Empty ACLs never reach the server.
    assert!(matches!(
        c.create_with_acl(&p, b"", CreateMode::Persistent, vec![])
            .await,
        Err(Error::InvalidArgument(_))
    ));
    c.create(&p, b"", CreateMode::Persistent).await.unwrap();
    assert!(matches!(
        c.set_acl(&p, vec![], None).await,
        Err(Error::InvalidArgument(_))
    ));
    // An unknown scheme, a malformed ip id, and `auth` without credentials: server-side INVALIDACL.
    let bad = |scheme: &str, id: &str| {
        vec![Acl {
            perms: perms::ALL,
            id: Id {
                scheme: scheme.into(),
                id: id.into(),
            },
        }]
    };
    for acl in [
        bad("nosuchscheme", "x"),
        bad("ip", "not-an-address"),
        Acl::creator_all(),
    ] {
        assert_eq!(
            c.create_with_acl(&ns.path("x"), b"", CreateMode::Persistent, acl.clone())
                .await
                .map(|_| ()),
            Err(Error::Server(ErrorCode::InvalidAcl)),
            "{acl:?}"
        );
        assert_eq!(
            c.set_acl(&p, acl.clone(), None).await.map(|_| ()),
            Err(Error::Server(ErrorCode::InvalidAcl)),
            "{acl:?}"
        );
    }
    assert_eq!(c.exists(&ns.path("x")).await, Ok(None));
    // A valid ip ACL is accepted.
    c.create_with_acl(
        &ns.path("ip"),
        b"",
        CreateMode::Persistent,
        bad("ip", "127.0.0.1"),
    )
    .await
    .unwrap();
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn sync_then_read_sees_writes_made_elsewhere() {
    let ns = Namespace::new("sync").await;
    let hosts = peer_list();
    let writer = client_to(&hosts[0]).await;
    let reader = client_to(hosts.last().unwrap()).await;
    let p = ns.path("n");
    reader.sync(&ns.root).await.unwrap();
    for i in 0..5u8 {
        if i == 0 {
            writer
                .create(&p, &[i], CreateMode::Persistent)
                .await
                .unwrap();
        } else {
            writer.set_data(&p, &[i], None).await.unwrap();
        }
        reader.sync(&p).await.unwrap();
        let (data, _) = reader.get_data(&p).await.unwrap();
        assert_eq!(&data[..], &[i]);
    }
    // sync of the root, and of a node that does not exist (the server syncs regardless).
    reader.sync("/").await.unwrap();
    reader.sync(&ns.path("missing")).await.unwrap();
    ns.cleanup().await;
    writer.close().await;
    reader.close().await;
}

#[tokio::test]
async fn who_am_i() {
    let ns = Namespace::new("whoami").await;
    let c = client().await;
    let ids = c.who_am_i().await.unwrap();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(ids[0].auth_scheme, "ip");
    assert_eq!(ids[0].user, "127.0.0.1");
    c.add_auth("digest", b"alice:secret").await.unwrap();
    let ids = c.who_am_i().await.unwrap();
    assert!(
        ids.iter()
            .any(|i| i.auth_scheme == "digest" && i.user == "alice"),
        "{ids:?}"
    );
    assert!(ids.iter().any(|i| i.auth_scheme == "ip"), "{ids:?}");
    ns.cleanup().await;
    c.close().await;
}
