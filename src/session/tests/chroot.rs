//! Chroot: stripped from the paths of delivered events (SetWatches with a chroot: see `watches`).

use super::*;

#[test]
fn chroot_is_stripped_from_delivered_events() {
    let mut h = H::new(
        1,
        SessionConfig {
            chroot: Chroot::new(Some("/app/x".into())),
            ..cfg(10_000)
        },
    );
    h.establish(10_000);
    use WatchKind::*;
    let ids = register(
        &mut h,
        &[
            (Exist, "/app/x/n"),
            (Child, "/app/x"),
            (PersistentRecursive, "/app/x"),
        ],
    );
    h.notify(ev::NODE_CREATED, "/app/x/n");
    h.notify(ev::NODE_CHILDREN_CHANGED, "/app/x");
    h.notify(ev::NODE_DATA_CHANGED, "/app/x");
    assert_eq!(
        h.events(),
        vec![
            (ids[0], Ok(event(EventType::NodeCreated, "/n"))),
            (ids[2], Ok(event(EventType::NodeCreated, "/n"))),
            (ids[1], Ok(event(EventType::NodeChildrenChanged, "/"))),
            (ids[2], Ok(event(EventType::NodeDataChanged, "/"))),
        ]
    );
}
