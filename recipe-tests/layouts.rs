//! The Curator and kazoo layouts among zksync processes: the names each library would see,
//! and the recipes' rules kept in each layout. (Against the real libraries: the interop tests.)

use zksync::recipes::{Election, Layout, Mutex, RwLock, Semaphore};
use zksync::Error;
use zksync_test_support::*;

/// The children of `dir` after a sync, sorted.
async fn children(admin: &zksync::Client, dir: &str) -> Vec<String> {
    admin.sync(dir).await.unwrap();
    let mut c = admin.get_children(dir).await.unwrap().0;
    c.sort();
    c
}

fn is_uuid_protected(name: &str, marker: &str) -> bool {
    let Some(rest) = name.strip_prefix("_c_") else {
        return false;
    };
    let uuid = &rest[..36.min(rest.len())];
    let dashes = [8, 13, 18, 23];
    uuid.len() == 36
        && uuid.char_indices().all(|(i, c)| {
            if dashes.contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit() && !c.is_ascii_uppercase()
            }
        })
        && rest[36..].starts_with(&format!("-{marker}"))
        && rest.len() == 36 + 1 + marker.len() + 10
}

fn is_kazoo(name: &str, marker: &str) -> bool {
    name.len() == 32 + marker.len() + 10
        && name[..32].bytes().all(|b| b.is_ascii_hexdigit())
        && name[32..].starts_with(marker)
}

#[tokio::test]
async fn mutex_and_read_write_lock_in_curator_and_kazoo_layouts() {
    let ns = Namespace::new("layout-locks").await;
    let admin = ns.synced_admin().await;
    for (layout, mutex_marker, read_marker, write_marker) in [
        (Layout::Curator, "lock-", "__READ__", "__WRIT__"),
        (Layout::Kazoo, "__lock__", "__rlock__", "__lock__"),
    ] {
        let named = |name: &str, marker: &str| match layout {
            Layout::Curator => is_uuid_protected(name, marker),
            _ => is_kazoo(name, marker),
        };
        // The mutex: one holder, the next after the release.
        let dir = ns.path(&format!("{layout}-mutex"));
        let (a, b) = (client().await, client().await);
        let held = Mutex::new(a.clone(), &dir)
            .with_layout(layout)
            .lock()
            .await
            .unwrap();
        let m = Mutex::new(b.clone(), &dir).with_layout(layout);
        let mut next = tokio::spawn(async move { m.lock().await });
        let names = wait_children(admin, &dir, |c| c.len() == 2).await;
        assert!(
            names.iter().all(|n| named(n, mutex_marker)),
            "{layout}: {names:?}"
        );
        assert!(
            still_blocked(&mut next).await,
            "{layout}: two mutex holders"
        );
        let token = held.fencing_token();
        held.unlock().await.unwrap();
        let g = guard("the next mutex holder", next).await.unwrap().unwrap();
        assert!(g.fencing_token() > token);
        g.unlock().await.unwrap();

        // The read-write lock: readers share, a writer waits for them, a later reader for it.
        let dir = ns.path(&format!("{layout}-rw"));
        let lock = |c: &zksync::Client| RwLock::new(c.clone(), &dir).with_layout(layout);
        let r1 = lock(&a).read().await.unwrap();
        let r2 = guard("a second reader", lock(&b).read()).await.unwrap();
        let w = lock(&b);
        let mut writer = tokio::spawn(async move { w.write().await });
        wait_children(admin, &dir, |c| c.len() == 3).await;
        let r3l = lock(&a);
        let mut late_reader = tokio::spawn(async move { r3l.read().await });
        let names = wait_children(admin, &dir, |c| c.len() == 4).await;
        assert_eq!(
            names.iter().filter(|n| named(n, read_marker)).count(),
            3,
            "{names:?}"
        );
        assert_eq!(
            names.iter().filter(|n| named(n, write_marker)).count(),
            1,
            "{names:?}"
        );
        assert!(
            still_blocked(&mut writer).await,
            "{layout}: writer with readers"
        );
        assert!(
            still_blocked(&mut late_reader).await,
            "{layout}: reader passed a writer"
        );
        r1.unlock().await.unwrap();
        r2.unlock().await.unwrap();
        let wg = guard("the writer", &mut writer).await.unwrap().unwrap();
        assert!(
            still_blocked(&mut late_reader).await,
            "{layout}: reader with the writer"
        );
        wg.unlock().await.unwrap();
        guard("the late reader", late_reader)
            .await
            .unwrap()
            .unwrap()
            .unlock()
            .await
            .unwrap();
        assert!(children(admin, &dir).await.is_empty());
        a.close().await;
        b.close().await;
    }
    ns.cleanup().await;
}

#[tokio::test]
async fn election_in_curator_and_kazoo_layouts() {
    let ns = Namespace::new("layout-elect").await;
    let admin = ns.synced_admin().await;
    for (layout, marker) in [(Layout::Curator, "latch-"), (Layout::Kazoo, "__lock__")] {
        let dir = ns.path(&format!("{layout}-election"));
        let (a, b) = (client().await, client().await);
        let la = Election::new(a.clone(), &dir)
            .with_layout(layout)
            .with_id(b"a")
            .campaign()
            .await
            .unwrap();
        let eb = Election::new(b.clone(), &dir)
            .with_layout(layout)
            .with_id(b"b");
        let mut next = tokio::spawn(async move { eb.campaign().await });
        let names = wait_children(admin, &dir, |c| c.len() == 2).await;
        let named = |n: &String| match layout {
            Layout::Curator => is_uuid_protected(n, marker),
            _ => is_kazoo(n, marker),
        };
        assert!(names.iter().all(named), "{layout}: {names:?}");
        // The node's data is the id (what LeaderLatch and kazoo's contenders() read).
        let (data, _) = admin.get_data(la.node_path()).await.unwrap();
        assert_eq!(&data[..], b"a");
        let observed = Election::new(admin.clone(), &dir).with_layout(layout);
        assert_eq!(&observed.leader().await.unwrap().unwrap().id[..], b"a");
        assert!(still_blocked(&mut next).await, "{layout}: two leaders");
        la.resign().await.unwrap();
        let lb = guard("the next leader", next).await.unwrap().unwrap();
        assert_eq!(&observed.leader().await.unwrap().unwrap().id[..], b"b");
        lb.resign().await.unwrap();
        a.close().await;
        b.close().await;
    }
    ns.cleanup().await;
}

#[tokio::test]
async fn semaphore_in_curator_and_kazoo_layouts() {
    let ns = Namespace::new("layout-sem").await;
    let admin = ns.synced_admin().await;
    for layout in [Layout::Curator, Layout::Kazoo] {
        let dir = ns.path(&format!("{layout}-sem"));
        let (a, b, c) = (client().await, client().await, client().await);
        let sem = |cl: &zksync::Client| Semaphore::new(cl.clone(), &dir, 2).with_layout(layout);
        let p1 = sem(&a).acquire().await.unwrap();
        let p2 = sem(&b).acquire().await.unwrap();
        assert!(
            sem(&c).try_acquire().await.unwrap().is_none(),
            "{layout}: a third permit"
        );
        let s3 = sem(&c);
        let mut third = tokio::spawn(async move { s3.acquire().await });
        // Where the leases are, as each library keeps them.
        let leases = match layout {
            Layout::Curator => {
                let l = children(admin, &format!("{dir}/leases")).await;
                assert!(l.iter().all(|n| is_uuid_protected(n, "lease-")), "{l:?}");
                l
            }
            _ => {
                let l = children(admin, &dir).await;
                assert!(l.iter().all(|n| n.len() == 32), "{l:?}");
                assert_eq!(&admin.get_data(&dir).await.unwrap().0[..], b"2");
                l
            }
        };
        assert!(leases.len() <= 3, "{layout}: {leases:?}");
        assert!(
            still_blocked(&mut third).await,
            "{layout}: a third permit of 2"
        );
        let token = p2.token();
        p1.release().await.unwrap();
        let p3 = guard("the third permit", third).await.unwrap().unwrap();
        assert!(p3.token() > token, "{layout}: tokens grow");
        p2.release().await.unwrap();
        p3.release().await.unwrap();
        if layout == Layout::Kazoo {
            // kazoo keeps max in the node, as zksync does: a different number is refused.
            let wrong = Semaphore::new(c.clone(), &dir, 3)
                .with_layout(layout)
                .acquire()
                .await;
            assert!(
                matches!(wrong, Err(Error::SemaphoreMismatch { .. })),
                "{wrong:?}"
            );
        }
        for cl in [a, b, c] {
            cl.close().await;
        }
    }
    ns.cleanup().await;
}
