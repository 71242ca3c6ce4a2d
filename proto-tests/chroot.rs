//! Chroot, from the connect string suffix or the option: every path the application sees is
//! relative to it, in results and in watch events.

use zksync::{
    AddWatchMode, Client, ConnectOptions, CreateMode, Error, EventType, Op, OpResult, WatchedEvent,
};
use zksync_test_support::*;

async fn chroot_suffix_client(root: &str) -> Client {
    client_to(&format!("{}{root}", peers())).await
}

async fn chroot_option_client(root: &str) -> Client {
    ConnectOptions::default()
        .session_timeout(TEST_SESSION)
        .chroot(root)
        .connect(&peers())
        .await
        .unwrap()
}

fn ev(event_type: EventType, path: &str) -> WatchedEvent {
    WatchedEvent {
        event_type,
        path: path.to_string(),
    }
}

async fn exercise(ns: &Namespace, c: &Client) {
    let admin = &ns.admin;
    assert_eq!(c.chroot(), Some(ns.root.as_str()));
    // create / get / set / children, all relative.
    let (path, _) = c.create("/a", b"1", CreateMode::Persistent).await.unwrap();
    assert_eq!(path, "/a");
    admin.sync(&ns.root).await.unwrap();
    assert_eq!(&admin.get_data(&ns.path("a")).await.unwrap().0[..], b"1");
    let (path, _) = c
        .create("/a/s-", b"", CreateMode::EphemeralSequential)
        .await
        .unwrap();
    assert!(
        path.starts_with("/a/s-") && path.len() == "/a/s-".len() + 10,
        "{path}"
    );
    let (children, _) = c.get_children("/a").await.unwrap();
    assert_eq!(children, vec![path[3..].to_string()]);
    // The chroot node itself is "/".
    let (root_children, root_stat) = c.get_children("/").await.unwrap();
    assert_eq!(root_children, vec!["a"]);
    assert_eq!(
        admin.exists(&ns.root).await.unwrap().unwrap().czxid,
        root_stat.czxid
    );
    assert!(c.exists("/").await.unwrap().is_some());
    // Ephemerals come back relative.
    assert_eq!(c.get_ephemerals("/").await.unwrap(), vec![path.clone()]);
    assert_eq!(c.get_ephemerals("/a").await.unwrap(), vec![path.clone()]);
    assert_eq!(c.get_all_children_number("/").await, Ok(2));
    c.sync("/a").await.unwrap();
    // multi results are relative.
    let results = c
        .multi(vec![
            Op::create("/m", b"", CreateMode::Persistent),
            Op::create("/m/q-", b"", CreateMode::PersistentSequential),
        ])
        .await
        .unwrap();
    assert_eq!(
        results[0],
        OpResult::Create {
            path: "/m".into(),
            stat: None
        }
    );
    let OpResult::Create { path: q, .. } = &results[1] else {
        panic!("{results:?}")
    };
    assert!(q.starts_with("/m/q-"), "{q}");
    admin.sync(&ns.root).await.unwrap();
    assert!(admin
        .exists(&format!("{}{q}", ns.root))
        .await
        .unwrap()
        .is_some());

    // Watch events carry relative paths.
    let (_, created) = c.exists_w("/w").await.unwrap();
    let (_, _, children) = c.get_children_w("/a").await.unwrap();
    let (_, _, data) = c.get_data_w("/a").await.unwrap();
    let mut recursive = c
        .add_watch("/", AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    admin
        .create(&ns.path("w"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    admin
        .create(&ns.path("a/x"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    admin.set_data(&ns.path("a"), b"2", None).await.unwrap();
    admin.set_data(&ns.root, b"root", None).await.unwrap();
    assert_eq!(
        within("exists watch", created).await,
        Ok(ev(EventType::NodeCreated, "/w"))
    );
    assert_eq!(
        within("child watch", children).await,
        Ok(ev(EventType::NodeChildrenChanged, "/a"))
    );
    assert_eq!(
        within("data watch", data).await,
        Ok(ev(EventType::NodeDataChanged, "/a"))
    );
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(
            within("recursive watch", recursive.next())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert_eq!(
        got,
        vec![
            ev(EventType::NodeCreated, "/w"),
            ev(EventType::NodeCreated, "/a/x"),
            ev(EventType::NodeDataChanged, "/a"),
            ev(EventType::NodeDataChanged, "/"),
        ]
    );
    // Removing watches by relative path.
    c.remove_watches("/", zksync::WatcherType::Any)
        .await
        .unwrap();
    assert_eq!(
        within("removed", recursive.next()).await.unwrap(),
        Ok(ev(EventType::PersistentWatchRemoved, "/"))
    );
    // The chroot node cannot be deleted through "/" (the root is never deletable), not even
    // when it is empty.
    for child in ["a", "m", "w"] {
        delete_tree(c, &format!("/{child}")).await.unwrap();
    }
    assert_eq!(c.get_children("/").await.unwrap().0, Vec::<String>::new());
    assert!(matches!(
        c.delete("/", None).await,
        Err(Error::InvalidPath { .. })
    ));
    assert!(matches!(
        c.multi(vec![Op::delete("/", None)]).await,
        Err(Error::InvalidPath { .. })
    ));
    assert!(c.exists("/").await.unwrap().is_some());
}

#[tokio::test]
async fn chroot_from_connect_string() {
    let ns = Namespace::new("chroot-suffix").await;
    let c = chroot_suffix_client(&ns.root).await;
    exercise(&ns, &c).await;
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn chroot_from_option() {
    let ns = Namespace::new("chroot-option").await;
    let c = chroot_option_client(&ns.root).await;
    exercise(&ns, &c).await;
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn missing_chroot_node() {
    let ns = Namespace::new("chroot-missing").await;
    let root = ns.path("not-yet");
    // Connecting works (the server does not know about chroots); operations see no node.
    let c = chroot_option_client(&root).await;
    assert_eq!(c.exists("/").await, Ok(None));
    assert!(c
        .create("/x", b"", CreateMode::Persistent)
        .await
        .unwrap_err()
        .is_no_node());
    let (_, created) = c.exists_w("/").await.unwrap();
    ns.admin
        .create(&root, b"", CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(
        within("chroot created", created).await,
        Ok(ev(EventType::NodeCreated, "/"))
    );
    assert_eq!(
        c.create("/x", b"", CreateMode::Persistent).await.unwrap().0,
        "/x"
    );
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn invalid_chroot_is_refused() {
    for bad in ["/a/", "/a//b", "relative"] {
        let r = ConnectOptions::default()
            .chroot(bad)
            .connect(&peers())
            .await;
        assert!(matches!(r, Err(Error::InvalidPath { .. })), "{bad}: {r:?}");
    }
}
