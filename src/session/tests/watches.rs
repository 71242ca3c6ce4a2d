//! Watches: registration, dispatch, SetWatches after a reconnect.

use super::*;

#[test]
fn watch_registration_follows_the_reply() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    // exists on a missing node: an exist watch.
    h.submit(exists("/missing", true), Some(WatchKind::Data));
    h.reply(1, 1, ErrorCode::NoNode, None);
    assert_eq!(h.s.watches().count(WatchKind::Exist, "/missing"), 1);
    assert_eq!(h.s.watches().count(WatchKind::Data, "/missing"), 0);
    // exists on an existing node: a data watch.
    h.submit(exists("/there", true), Some(WatchKind::Data));
    h.reply_ok(2, 2, Response::Stat(stat(1)));
    assert_eq!(h.s.watches().count(WatchKind::Data, "/there"), 1);
    assert_eq!(h.s.watches().count(WatchKind::Exist, "/there"), 0);
    // getData: a data watch; on a missing node, none.
    h.submit(get_data("/d", true), Some(WatchKind::Data));
    h.reply_ok(
        3,
        3,
        Response::GetData {
            data: Bytes::new(),
            stat: stat(1),
        },
    );
    assert_eq!(h.s.watches().count(WatchKind::Data, "/d"), 1);
    h.submit(get_data("/nod", true), Some(WatchKind::Data));
    h.reply(4, 4, ErrorCode::NoNode, None);
    assert_eq!(h.s.watches().count(WatchKind::Data, "/nod"), 0);
    assert_eq!(h.s.watches().count(WatchKind::Exist, "/nod"), 0);
    // getChildren: a child watch; on a missing node, none.
    h.submit(get_children("/p", true), Some(WatchKind::Child));
    h.reply_ok(5, 5, Response::Children(["c"].into_iter().collect()));
    assert_eq!(h.s.watches().count(WatchKind::Child, "/p"), 1);
    h.submit(get_children("/nop", true), Some(WatchKind::Child));
    h.reply(6, 6, ErrorCode::NoNode, None);
    assert_eq!(h.s.watches().count(WatchKind::Child, "/nop"), 0);
    // Other errors register nothing.
    h.submit(exists("/denied", true), Some(WatchKind::Data));
    h.reply(7, 7, ErrorCode::NoAuth, None);
    assert_eq!(h.s.watches().count(WatchKind::Exist, "/denied"), 0);
    assert_eq!(h.s.watches().count(WatchKind::Data, "/denied"), 0);
    // A request that fails with the connection registers nothing either.
    h.submit(get_data("/lost", true), Some(WatchKind::Data));
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    assert_eq!(h.s.watches().count(WatchKind::Data, "/lost"), 0);
    assert!(h.events().is_empty());
}

#[test]
fn dispatch_fires_the_right_one_shot_watches_once() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    use WatchKind::*;
    let ids = register(
        &mut h,
        &[
            (Data, "/a"),
            (Exist, "/b"),
            (Child, "/a"),
            (Data, "/c"),
            (Child, "/c"),
            (Exist, "/d"),
            (Child, "/d"),
        ],
    );
    let [da, eb, ca, dc, cc, ed, cd] = ids[..] else {
        unreachable!()
    };
    // NodeDeleted fires data, exist and child watches on the path.
    h.notify(ev::NODE_DELETED, "/a");
    assert_eq!(
        h.events(),
        vec![
            (da, Ok(event(EventType::NodeDeleted, "/a"))),
            (ca, Ok(event(EventType::NodeDeleted, "/a")))
        ]
    );
    h.notify(ev::NODE_DELETED, "/d");
    assert_eq!(
        h.events(),
        vec![
            (ed, Ok(event(EventType::NodeDeleted, "/d"))),
            (cd, Ok(event(EventType::NodeDeleted, "/d")))
        ]
    );
    // NodeCreated fires the exist watch, once.
    h.notify(ev::NODE_CREATED, "/b");
    h.notify(ev::NODE_CREATED, "/b");
    assert_eq!(
        h.events(),
        vec![(eb, Ok(event(EventType::NodeCreated, "/b")))]
    );
    // NodeChildrenChanged fires only child watches; NodeDataChanged only data (and exist).
    h.notify(ev::NODE_CHILDREN_CHANGED, "/c");
    assert_eq!(
        h.events(),
        vec![(cc, Ok(event(EventType::NodeChildrenChanged, "/c")))]
    );
    assert_eq!(h.s.watches().count(Data, "/c"), 1);
    h.notify(ev::NODE_DATA_CHANGED, "/c");
    h.notify(ev::NODE_DATA_CHANGED, "/c");
    assert_eq!(
        h.events(),
        vec![(dc, Ok(event(EventType::NodeDataChanged, "/c")))]
    );
    assert!(
        h.s.watches().is_empty(),
        "every one-shot watch fired and is gone"
    );
    // Events of type None (session events) and for unwatched paths are ignored.
    h.notify(ev::NONE, "");
    h.notify(ev::NODE_CREATED, "/zzz");
    assert!(h.events().is_empty());
    assert!(!h.actions().contains(&Action::Disconnect));
}

#[test]
fn two_watchers_on_one_path_both_fire() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    let ids = register(&mut h, &[(WatchKind::Data, "/a"), (WatchKind::Data, "/a")]);
    assert_eq!(h.s.watches().count(WatchKind::Data, "/a"), 2);
    h.notify(ev::NODE_DATA_CHANGED, "/a");
    let got: Vec<u32> = h.events().into_iter().map(|(id, _)| id).collect();
    assert_eq!(got, ids);
}

#[test]
fn persistent_and_recursive_watches() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    let ids = register(
        &mut h,
        &[
            (WatchKind::Persistent, "/p"),
            (WatchKind::PersistentRecursive, "/r"),
        ],
    );
    let [p, r] = ids[..] else { unreachable!() };
    assert_eq!(
        h.sent(),
        vec![],
        "registration replies consumed, nothing else written"
    );
    // Persistent: every event on the node itself (children changes included), repeatedly.
    h.notify(ev::NODE_DATA_CHANGED, "/p");
    h.notify(ev::NODE_DATA_CHANGED, "/p");
    h.notify(ev::NODE_CHILDREN_CHANGED, "/p");
    h.notify(ev::NODE_CREATED, "/p/child"); // not the node itself
    assert_eq!(
        h.events(),
        vec![
            (p, Ok(event(EventType::NodeDataChanged, "/p"))),
            (p, Ok(event(EventType::NodeDataChanged, "/p"))),
            (p, Ok(event(EventType::NodeChildrenChanged, "/p"))),
        ]
    );
    // Recursive: the node and its whole subtree, but never NodeChildrenChanged.
    h.notify(ev::NODE_CREATED, "/r/x/y");
    h.notify(ev::NODE_CHILDREN_CHANGED, "/r");
    h.notify(ev::NODE_CHILDREN_CHANGED, "/r/x");
    h.notify(ev::NODE_DATA_CHANGED, "/r");
    h.notify(ev::NODE_DELETED, "/r/x/y");
    h.notify(ev::NODE_CREATED, "/rr"); // a sibling with a common prefix is not a descendant
    assert_eq!(
        h.events(),
        vec![
            (r, Ok(event(EventType::NodeCreated, "/r/x/y"))),
            (r, Ok(event(EventType::NodeDataChanged, "/r"))),
            (r, Ok(event(EventType::NodeDeleted, "/r/x/y"))),
        ]
    );
    h.notify(ev::NODE_DELETED, "/p");
    assert_eq!(
        h.events(),
        vec![(p, Ok(event(EventType::NodeDeleted, "/p")))]
    );
    assert_eq!(
        h.s.watches().count(WatchKind::Persistent, "/p"),
        1,
        "still armed after delete"
    );
    // A receiver that went away is dropped at the next delivery.
    h.drop_sink(p);
    h.notify(ev::NODE_DATA_CHANGED, "/p");
    assert!(h.events().is_empty());
    assert_eq!(h.s.watches().count(WatchKind::Persistent, "/p"), 0);
}

#[test]
fn root_recursive_watch_sees_everything_but_children_changes() {
    let mut h = H::new(1, cfg(10_000));
    h.establish(10_000);
    let ids = register(&mut h, &[(WatchKind::PersistentRecursive, "/")]);
    h.notify(ev::NODE_CREATED, "/a");
    h.notify(ev::NODE_CHILDREN_CHANGED, "/");
    h.notify(ev::NODE_DATA_CHANGED, "/");
    assert_eq!(
        h.events(),
        vec![
            (ids[0], Ok(event(EventType::NodeCreated, "/a"))),
            (ids[0], Ok(event(EventType::NodeDataChanged, "/")))
        ]
    );
}

#[test]
fn remove_watches_drops_local_registrations_and_tells_them() {
    let mut h = H::new(
        1,
        SessionConfig {
            chroot: Chroot::new(Some("/app".into())),
            ..cfg(10_000)
        },
    );
    h.establish(10_000);
    let ids = register(
        &mut h,
        &[(WatchKind::Data, "/app/a"), (WatchKind::Child, "/app/a")],
    );
    h.submit(
        Request::RemoveWatches(WatchesRequest {
            path: "/app/a".into(),
            type_: watcher_type::DATA,
        }),
        None,
    );
    // A notification before the reply still reaches the watch.
    h.notify(ev::NODE_DATA_CHANGED, "/app/a");
    let x = h.sent().last().unwrap().xid;
    h.reply(x, 1, ErrorCode::Ok, Some(Response::Empty));
    assert_eq!(
        h.events(),
        vec![(ids[0], Ok(event(EventType::NodeDataChanged, "/a")))]
    );
    assert_eq!(h.results()[0].1, Ok(Response::Empty));
    h.submit(
        Request::RemoveWatches(WatchesRequest {
            path: "/app/a".into(),
            type_: watcher_type::CHILDREN,
        }),
        None,
    );
    let x = h.sent().last().unwrap().xid;
    h.reply(x, 1, ErrorCode::Ok, Some(Response::Empty));
    assert_eq!(
        h.events(),
        vec![(ids[1], Ok(event(EventType::ChildWatchRemoved, "/a")))]
    );
    assert!(h.s.watches().is_empty());
}

#[test]
fn set_watches_after_reconnect_with_chroot_and_relative_zxid() {
    let chroot = Chroot::new(Some("/app".into()));
    let mut h = H::new(
        2,
        SessionConfig {
            chroot,
            ..cfg(10_000)
        },
    );
    h.establish(10_000);
    use WatchKind::*;
    let ids = register(
        &mut h,
        &[
            (Data, "/app/b"),
            (Data, "/app/a"),
            (Exist, "/app/e"),
            (Child, "/app"),
            (Child, "/app/a"),
            (Data, "/app/gone"),
        ],
    );
    h.submit(create("/app/z"), None);
    let x = h.sent()[0].xid;
    h.reply_ok(
        x,
        0x77,
        Response::Create {
            path: "/app/z".into(),
        },
    );
    h.results();
    // A watch whose receiver went away is not re-registered.
    h.drop_sink(ids[5]);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    let _ = h.reconnect(10_000);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::SET_WATCHES,
            req: Request::SetWatches(SetWatches {
                relative_zxid: 0x77,
                data_watches: vec!["/app/a".into(), "/app/b".into()],
                exist_watches: vec!["/app/e".into()],
                child_watches: vec!["/app".into(), "/app/a".into()],
            }),
        }]
    );
    // The server fires re-registered watches as needed; events come back with the chroot
    // stripped (the chroot root itself is "/").
    h.notify(ev::NODE_DELETED, "/app/a");
    h.notify(ev::NODE_CHILDREN_CHANGED, "/app");
    h.notify(ev::NODE_CREATED, "/app/e");
    assert_eq!(
        h.events(),
        vec![
            (ids[1], Ok(event(EventType::NodeDeleted, "/a"))),
            (ids[4], Ok(event(EventType::NodeDeleted, "/a"))),
            (ids[3], Ok(event(EventType::NodeChildrenChanged, "/"))),
            (ids[2], Ok(event(EventType::NodeCreated, "/e"))),
        ]
    );
}

#[test]
fn set_watches2_when_persistent_watches_exist() {
    let mut h = H::new(2, cfg(10_000));
    h.establish(10_000);
    use WatchKind::*;
    register(
        &mut h,
        &[
            (Data, "/d"),
            (Persistent, "/p2"),
            (Persistent, "/p1"),
            (PersistentRecursive, "/r"),
        ],
    );
    h.tick(4_000); // a ping goes out after T/3 idle; its reply carries the zxid
    assert_eq!(h.sent().len(), 1);
    h.reply(xid::PING, 0x99, ErrorCode::Ok, None);
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    h.reconnect(10_000);
    assert_eq!(
        h.sent(),
        vec![Sent {
            xid: xid::SET_WATCHES,
            req: Request::SetWatches2(SetWatches2 {
                relative_zxid: 0x99,
                data_watches: vec!["/d".into()],
                exist_watches: vec![],
                child_watches: vec![],
                persistent_watches: vec!["/p1".into(), "/p2".into()],
                persistent_recursive_watches: vec!["/r".into()],
            }),
        }]
    );
}

#[test]
fn set_watches_is_batched_below_the_limit() {
    let mut h = H::new(2, cfg(10_000));
    h.establish(10_000);
    let long = "x".repeat(900);
    let n = 400; // about 360 KB of paths per kind
    let mut want_data = Vec::new();
    let mut want_child = Vec::new();
    for i in 0..n {
        let p = format!("/{long}{i:04}");
        h.submit(get_data(&p, true), Some(WatchKind::Data));
        h.submit(get_children(&p, true), Some(WatchKind::Child));
        want_data.push(p.clone());
        want_child.push(p);
    }
    for s in h.sent() {
        let resp = match s.req {
            Request::GetData(_) => Response::GetData {
                data: Bytes::new(),
                stat: stat(1),
            },
            _ => Response::Children(crate::ChildNames::default()),
        };
        h.reply_ok(s.xid, 0x500, resp);
    }
    h.results();
    h.s.on_connection_lost(h.now, ConnectionError::Closed);
    h.reconnect(10_000);
    let frames = h.frames();
    assert!(
        frames.len() >= 6,
        "{} packets for ~720 KB of paths",
        frames.len()
    );
    let (mut got_data, mut got_child) = (Vec::new(), Vec::new());
    for f in frames {
        let len = f.len();
        let Sent {
            xid: x,
            req: Request::SetWatches(sw),
        } = decode_request(f)
        else {
            panic!("not SetWatches")
        };
        assert_eq!(x, xid::SET_WATCHES);
        assert_eq!(sw.relative_zxid, 0x500);
        assert!(sw.exist_watches.is_empty());
        let path_bytes: usize = sw
            .data_watches
            .iter()
            .chain(&sw.child_watches)
            .map(|p| p.len() + 4)
            .sum();
        assert!(
            path_bytes <= SET_WATCHES_BATCH_BYTES,
            "{path_bytes} bytes of paths in one packet"
        );
        // Header (8) + zxid (8) + three vector counts (12) on top of the paths.
        assert_eq!(len, path_bytes + 28);
        assert!(len < DEFAULT_MAX_BUFFER / 4);
        got_data.extend(sw.data_watches);
        got_child.extend(sw.child_watches);
    }
    assert_eq!(
        got_data, want_data,
        "every data watch exactly once, in order"
    );
    assert_eq!(got_child, want_child);
}
