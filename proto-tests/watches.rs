//! Watches: each one-shot kind fires once with the right type and path; persistent and
//! persistent-recursive watches; removing and checking watches.

use zksync::{
    AddWatchMode, CreateMode, Error, ErrorCode, EventType, PersistentWatch, WatchedEvent,
    WatcherType,
};
use zksync_test_support::*;

fn ev(event_type: EventType, path: &str) -> WatchedEvent {
    WatchedEvent {
        event_type,
        path: path.to_string(),
    }
}

async fn next(w: &mut PersistentWatch) -> WatchedEvent {
    within("persistent watch event", w.next())
        .await
        .expect("watch stream ended")
        .expect("watch failed")
}

/// After a one-shot watch fired, the server holds no watch of that kind any more.
async fn assert_no_watch(c: &zksync::Client, path: &str, kind: WatcherType) {
    assert_eq!(
        c.check_watches(path, kind).await,
        Err(Error::Server(ErrorCode::NoWatcher)),
        "{path} {kind:?}"
    );
}

#[tokio::test]
async fn exists_watch_on_missing_node_fires_created() {
    let ns = Namespace::new("w-created").await;
    let c = client().await;
    let p = ns.path("n");
    let (stat, w) = c.exists_w(&p).await.unwrap();
    assert_eq!(stat, None);
    c.check_watches(&p, WatcherType::Data).await.unwrap();
    ns.admin
        .create(&p, b"", CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(
        within("exists watch", w).await,
        Ok(ev(EventType::NodeCreated, &p))
    );
    assert_no_watch(&c, &p, WatcherType::Data).await;
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn exists_watch_on_existing_node_fires_changed_and_deleted() {
    let ns = Namespace::new("w-exists").await;
    let c = client().await;
    let p = ns.path("n");
    ns.admin
        .create(&p, b"", CreateMode::Persistent)
        .await
        .unwrap();
    c.sync(&p).await.unwrap();
    let (stat, w) = c.exists_w(&p).await.unwrap();
    assert!(stat.is_some());
    ns.admin.set_data(&p, b"x", None).await.unwrap();
    assert_eq!(
        within("exists watch", w).await,
        Ok(ev(EventType::NodeDataChanged, &p))
    );
    let (_, w) = c.exists_w(&p).await.unwrap();
    ns.admin.delete(&p, None).await.unwrap();
    assert_eq!(
        within("exists watch", w).await,
        Ok(ev(EventType::NodeDeleted, &p))
    );
    assert_no_watch(&c, &p, WatcherType::Data).await;
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn data_watch_fires_changed_then_deleted() {
    let ns = Namespace::new("w-data").await;
    let c = client().await;
    let p = ns.path("n");
    ns.admin
        .create(&p, b"a", CreateMode::Persistent)
        .await
        .unwrap();
    c.sync(&p).await.unwrap();
    let (data, _, w) = c.get_data_w(&p).await.unwrap();
    assert_eq!(&data[..], b"a");
    ns.admin.set_data(&p, b"b", None).await.unwrap();
    assert_eq!(
        within("data watch", w).await,
        Ok(ev(EventType::NodeDataChanged, &p))
    );
    assert_no_watch(&c, &p, WatcherType::Data).await;
    // A second change does not fire anything: re-arm and check it fires for the delete only.
    ns.admin.set_data(&p, b"c", None).await.unwrap();
    c.sync(&p).await.unwrap();
    let (data, _, w) = c.get_data_w(&p).await.unwrap();
    assert_eq!(&data[..], b"c");
    ns.admin.delete(&p, None).await.unwrap();
    assert_eq!(
        within("data watch", w).await,
        Ok(ev(EventType::NodeDeleted, &p))
    );
    // getData on a missing node sets no watch (use exists for that).
    assert!(c.get_data_w(&p).await.unwrap_err().is_no_node());
    assert_no_watch(&c, &p, WatcherType::Data).await;
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn own_write_fires_own_watch_before_the_reply() {
    let ns = Namespace::new("w-own").await;
    let c = client().await;
    let p = ns.path("n");
    c.create(&p, b"", CreateMode::Persistent).await.unwrap();
    let (_, _, mut w) = c.get_data_w(&p).await.unwrap();
    c.set_data(&p, b"x", None).await.unwrap();
    // The notification precedes the setData reply on the wire: the watch is already resolved.
    let fired = futures_now(&mut w);
    assert_eq!(fired, Some(Ok(ev(EventType::NodeDataChanged, &p))));
    ns.cleanup().await;
    c.close().await;
}

/// Polls a future once without waiting.
fn futures_now<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match std::pin::Pin::new(f).poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

#[tokio::test]
async fn child_watch_fires_children_changed_and_deleted() {
    let ns = Namespace::new("w-child").await;
    let c = client().await;
    let p = ns.path("p");
    ns.admin
        .create(&p, b"", CreateMode::Persistent)
        .await
        .unwrap();
    c.sync(&p).await.unwrap();
    let (children, _, w) = c.get_children_w(&p).await.unwrap();
    assert!(children.is_empty());
    // A data change of the parent does not fire a child watch; a new child does.
    ns.admin.set_data(&p, b"x", None).await.unwrap();
    ns.admin
        .create(&ns.path("p/a"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(
        within("child watch", w).await,
        Ok(ev(EventType::NodeChildrenChanged, &p))
    );
    assert_no_watch(&c, &p, WatcherType::Children).await;
    let (_, _, w) = c.get_children_w(&p).await.unwrap();
    ns.admin.delete(&ns.path("p/a"), None).await.unwrap();
    assert_eq!(
        within("child watch", w).await,
        Ok(ev(EventType::NodeChildrenChanged, &p))
    );
    let (_, _, w) = c.get_children_w(&p).await.unwrap();
    ns.admin.delete(&p, None).await.unwrap();
    assert_eq!(
        within("child watch", w).await,
        Ok(ev(EventType::NodeDeleted, &p))
    );
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn several_watches_on_one_node_all_fire() {
    let ns = Namespace::new("w-many").await;
    let c = client().await;
    let p = ns.path("n");
    ns.admin
        .create(&p, b"", CreateMode::Persistent)
        .await
        .unwrap();
    c.sync(&p).await.unwrap();
    let (_, _, w1) = c.get_data_w(&p).await.unwrap();
    let (_, _, w2) = c.get_data_w(&p).await.unwrap();
    let (_, w3) = c.exists_w(&p).await.unwrap();
    let (_, _, w4) = c.get_children_w(&p).await.unwrap();
    ns.admin.delete(&p, None).await.unwrap();
    let want = Ok(ev(EventType::NodeDeleted, &p));
    assert_eq!(within("w1", w1).await, want);
    assert_eq!(within("w2", w2).await, want);
    assert_eq!(within("w3", w3).await, want);
    assert_eq!(within("w4", w4).await, want);
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn persistent_watch_sees_every_event_of_its_node() {
    let ns = Namespace::new("w-persistent").await;
    let c = client().await;
    let p = ns.path("n");
    let mut w = c.add_watch(&p, AddWatchMode::Persistent).await.unwrap();
    let admin = &ns.admin;
    admin.create(&p, b"", CreateMode::Persistent).await.unwrap();
    assert_eq!(next(&mut w).await, ev(EventType::NodeCreated, &p));
    admin.set_data(&p, b"1", None).await.unwrap();
    assert_eq!(next(&mut w).await, ev(EventType::NodeDataChanged, &p));
    admin.set_data(&p, b"2", None).await.unwrap();
    assert_eq!(next(&mut w).await, ev(EventType::NodeDataChanged, &p));
    admin
        .create(&ns.path("n/c"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(next(&mut w).await, ev(EventType::NodeChildrenChanged, &p));
    // Grandchildren and the child's data are not this node's events.
    admin
        .create(&ns.path("n/c/g"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    admin.set_data(&ns.path("n/c"), b"x", None).await.unwrap();
    admin.delete(&ns.path("n/c/g"), None).await.unwrap();
    admin.delete(&ns.path("n/c"), None).await.unwrap();
    assert_eq!(next(&mut w).await, ev(EventType::NodeChildrenChanged, &p));
    admin.delete(&p, None).await.unwrap();
    assert_eq!(next(&mut w).await, ev(EventType::NodeDeleted, &p));
    // Still armed after the node is gone.
    admin.create(&p, b"", CreateMode::Persistent).await.unwrap();
    assert_eq!(next(&mut w).await, ev(EventType::NodeCreated, &p));
    c.check_watches(&p, WatcherType::Any).await.unwrap();
    // Removing it ends it with PersistentWatchRemoved.
    c.remove_watches(&p, WatcherType::Any).await.unwrap();
    assert_eq!(
        next(&mut w).await,
        ev(EventType::PersistentWatchRemoved, &p)
    );
    admin.set_data(&p, b"after", None).await.unwrap();
    c.sync(&p).await.unwrap();
    assert_eq!(w.try_next(), None, "no events after removal");
    assert_no_watch(&c, &p, WatcherType::Any).await;
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn recursive_watch_sees_the_subtree_without_children_events() {
    let ns = Namespace::new("w-recursive").await;
    let c = client().await;
    let r = ns.path("r");
    ns.admin
        .create(&r, b"", CreateMode::Persistent)
        .await
        .unwrap();
    c.sync(&r).await.unwrap();
    let mut w = c
        .add_watch(&r, AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    let admin = &ns.admin;
    let (a, ab) = (ns.path("r/a"), ns.path("r/a/b"));
    admin.create(&a, b"", CreateMode::Persistent).await.unwrap();
    admin
        .create(&ab, b"", CreateMode::Persistent)
        .await
        .unwrap();
    admin.set_data(&ab, b"x", None).await.unwrap();
    admin.delete(&ab, None).await.unwrap();
    admin.set_data(&a, b"y", None).await.unwrap();
    // Outside the subtree: nothing.
    admin
        .create(&ns.path("rr"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    admin.delete(&a, None).await.unwrap();
    // A sentinel: events arrive in order, so any children-changed event would show up before it.
    admin.set_data(&r, b"sentinel", None).await.unwrap();
    let want = vec![
        ev(EventType::NodeCreated, &a),
        ev(EventType::NodeCreated, &ab),
        ev(EventType::NodeDataChanged, &ab),
        ev(EventType::NodeDeleted, &ab),
        ev(EventType::NodeDataChanged, &a),
        ev(EventType::NodeDeleted, &a),
        ev(EventType::NodeDataChanged, &r),
    ];
    let mut got = Vec::new();
    for _ in 0..want.len() {
        got.push(next(&mut w).await);
    }
    assert_eq!(got, want);
    // One-shot watches of the same client on a node in the subtree still work alongside.
    admin.create(&a, b"", CreateMode::Persistent).await.unwrap();
    assert_eq!(next(&mut w).await, ev(EventType::NodeCreated, &a));
    let (_, _, once) = c.get_data_w(&a).await.unwrap();
    admin.set_data(&a, b"z", None).await.unwrap();
    assert_eq!(
        within("one-shot", once).await,
        Ok(ev(EventType::NodeDataChanged, &a))
    );
    assert_eq!(next(&mut w).await, ev(EventType::NodeDataChanged, &a));
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn remove_watches_delivers_removed_events() {
    let ns = Namespace::new("w-remove").await;
    let c = client().await;
    let p = ns.path("n");
    ns.admin
        .create(&p, b"", CreateMode::Persistent)
        .await
        .unwrap();
    c.sync(&p).await.unwrap();
    // Nothing to check or remove yet.
    assert_no_watch(&c, &p, WatcherType::Any).await;
    assert_eq!(
        c.remove_watches(&p, WatcherType::Data).await,
        Err(Error::Server(ErrorCode::NoWatcher))
    );

    // Data watch.
    let (_, _, w) = c.get_data_w(&p).await.unwrap();
    c.check_watches(&p, WatcherType::Data).await.unwrap();
    assert_no_watch(&c, &p, WatcherType::Children).await;
    c.remove_watches(&p, WatcherType::Data).await.unwrap();
    assert_eq!(
        within("removed data watch", w).await,
        Ok(ev(EventType::DataWatchRemoved, &p))
    );
    assert_no_watch(&c, &p, WatcherType::Data).await;
    assert_eq!(
        c.remove_watches(&p, WatcherType::Data).await,
        Err(Error::Server(ErrorCode::NoWatcher))
    );

    // Child watch; removing data watches leaves it alone.
    let (_, _, wc) = c.get_children_w(&p).await.unwrap();
    let (_, wd) = c.exists_w(&p).await.unwrap();
    c.remove_watches(&p, WatcherType::Data).await.unwrap();
    assert_eq!(
        within("removed exists watch", wd).await,
        Ok(ev(EventType::DataWatchRemoved, &p))
    );
    c.check_watches(&p, WatcherType::Children).await.unwrap();
    c.remove_watches(&p, WatcherType::Children).await.unwrap();
    assert_eq!(
        within("removed child watch", wc).await,
        Ok(ev(EventType::ChildWatchRemoved, &p))
    );
    assert_no_watch(&c, &p, WatcherType::Any).await;

    // Any: removes both kinds at once.
    let (_, _, wd) = c.get_data_w(&p).await.unwrap();
    let (_, _, wc) = c.get_children_w(&p).await.unwrap();
    c.remove_watches(&p, WatcherType::Any).await.unwrap();
    assert_eq!(
        within("removed data watch", wd).await,
        Ok(ev(EventType::DataWatchRemoved, &p))
    );
    assert_eq!(
        within("removed child watch", wc).await,
        Ok(ev(EventType::ChildWatchRemoved, &p))
    );
    assert_no_watch(&c, &p, WatcherType::Any).await;

    // A removed watch does not fire on a later change; a fresh one does.
    let (_, _, fresh) = c.get_data_w(&p).await.unwrap();
    ns.admin.set_data(&p, b"x", None).await.unwrap();
    assert_eq!(
        within("fresh watch", fresh).await,
        Ok(ev(EventType::NodeDataChanged, &p))
    );

    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn check_and_remove_watches_see_only_this_sessions_watches() {
    let ns = Namespace::new("w-per-session").await;
    // Both clients on one server: ZooKeeper 3.8.0 answers checkWatches with OK when any
    // connection of that server watches the path; the client must not report another
    // session's watch as its own.
    let host = peer_list()[0].clone();
    let c = client_to(&host).await;
    let other = client_to(&host).await;
    let p = ns.path("n");
    c.create(&p, b"", CreateMode::Persistent).await.unwrap();
    let (_, _, theirs) = other.get_data_w(&p).await.unwrap();
    let (_, _, their_children) = other.get_children_w(&p).await.unwrap();
    other.check_watches(&p, WatcherType::Data).await.unwrap();
    assert_no_watch(&c, &p, WatcherType::Data).await;
    assert_no_watch(&c, &p, WatcherType::Children).await;
    assert_no_watch(&c, &p, WatcherType::Any).await;
    assert_eq!(
        c.remove_watches(&p, WatcherType::Any).await,
        Err(Error::Server(ErrorCode::NoWatcher))
    );
    // The other session's watches are intact and fire.
    c.set_data(&p, b"y", None).await.unwrap();
    assert_eq!(
        within("other client's watch", theirs).await,
        Ok(ev(EventType::NodeDataChanged, &p))
    );
    c.create(&ns.path("n/x"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(
        within("other client's child watch", their_children).await,
        Ok(ev(EventType::NodeChildrenChanged, &p))
    );
    other.close().await;
    ns.cleanup().await;
    c.close().await;
}
