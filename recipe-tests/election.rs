//! Election against a real ensemble.

use crate::rwlock::watched_paths;
use std::time::{Duration, Instant};
use zksync::recipes::{Election, LockLost};
use zksync::ConnectOptions;
use zksync_test_support::*;

#[tokio::test]
async fn first_candidate_leads_and_resign_hands_over_at_once() {
    let ns = Namespace::new("elect-resign").await;
    let dir = ns.path("election");
    let a = client().await;
    let b = client().await;
    let ea = Election::new(a.clone(), &dir).with_id(b"alpha");
    let eb = Election::new(b.clone(), &dir).with_id(b"beta");
    assert_eq!(ea.leader().await.unwrap(), None, "no election yet");
    let la = guard("alpha leads", ea.campaign()).await.unwrap();
    assert_eq!(la.id(), b"alpha");
    let mut b_campaign = tokio::spawn(async move { eb.campaign().await });
    let admin = ns.synced_admin().await;
    wait_children(admin, &dir, |c| c.len() == 2).await;
    assert!(still_blocked(&mut b_campaign).await, "two leaders");
    let seen = Election::new(admin.clone(), &dir)
        .leader()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (&seen.id[..], seen.token, seen.session_id),
        (&b"alpha"[..], la.token(), a.session_id())
    );
    assert_eq!(seen.node, la.node_path());
    let (_, st) = admin.get_data(la.node_path()).await.unwrap();
    assert_eq!(la.token(), st.czxid, "the token is the node's czxid");
    let a_token = la.token();
    la.resign().await.unwrap();
    let lb = guard("beta leads after the resign", b_campaign)
        .await
        .unwrap()
        .unwrap();
    assert!(lb.token() > a_token, "the token grows with each leader");
    let seen = ea.leader().await.unwrap().unwrap();
    assert_eq!(&seen.id[..], b"beta");
    lb.resign().await.unwrap();
    assert_eq!(ea.leader().await.unwrap(), None, "nobody leads");
    a.close().await;
    b.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn observe_sees_each_leader_once_and_in_order() {
    let ns = Namespace::new("elect-observe").await;
    let dir = ns.path("election");
    let obs = client().await;
    let mut changes = Election::new(obs.clone(), &dir).observe();
    let mut clients = Vec::new();
    let mut campaigns = Vec::new();
    for id in ["c1", "c2", "c3"] {
        let c = client().await;
        let e = Election::new(c.clone(), &dir).with_id(id.as_bytes());
        campaigns.push(tokio::spawn(async move { e.campaign().await }));
        clients.push(c);
        wait_children(&obs, &dir, |ch| ch.len() == clients.len()).await;
    }
    let first = guard("c1 observed", changes.next()).await.unwrap();
    assert_eq!(&first.id[..], b"c1");
    let l1 = guard("c1 leads", campaigns.remove(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.token, l1.token());
    // Nothing new while c1 leads: the same leader is not reported again.
    let mut again = Box::pin(changes.next());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut again)
            .await
            .is_err(),
        "the same leader reported twice"
    );
    l1.resign().await.unwrap();
    let second = guard("c2 observed", &mut again).await.unwrap();
    drop(again);
    assert_eq!(&second.id[..], b"c2");
    assert!(second.token > first.token);
    let _l2 = guard("c2 leads", campaigns.remove(0))
        .await
        .unwrap()
        .unwrap();
    // c2's session ends (closeSession removes its node at once): c3 next.
    clients.remove(1).close().await;
    let third = guard("c3 observed", changes.next()).await.unwrap();
    assert_eq!(&third.id[..], b"c3");
    assert!(third.token > second.token);
    let l3 = guard("c3 leads", campaigns.remove(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(l3.token(), third.token);
    l3.resign().await.unwrap();
    for c in clients {
        c.close().await;
    }
    obs.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn a_cut_off_leader_knows_it_lost_before_the_next_one_leads() {
    let ns = Namespace::new("elect-cut").await;
    let dir = ns.path("election");
    let fwd = Forwarder::start(&peer_list()[0]).await;
    let leader = ConnectOptions::default()
        .session_timeout(Duration::from_millis(2000))
        .connect(&fwd.addr)
        .await
        .unwrap();
    let l = Election::new(leader.clone(), &dir)
        .with_id(b"old")
        .campaign()
        .await
        .unwrap();
    let wc = client().await;
    let e = Election::new(wc.clone(), &dir).with_id(b"new");
    let next = tokio::spawn(async move {
        let l = e.campaign().await;
        (Instant::now(), l)
    });
    wait_children(&wc, &dir, |c| c.len() == 2).await;
    let cut_at = Instant::now();
    fwd.blackhole(true);
    let lost = guard("the old leader's loss", l.lost()).await;
    let lost_at = Instant::now();
    assert_eq!(lost, LockLost::LeaseExpired);
    let (led_at, nl) = guard("the next leader", next).await.unwrap();
    let nl = nl.unwrap();
    assert!(
        lost_at <= led_at && l.valid_until() <= led_at,
        "the new leader led {:?} after the cut, the old one knew {:?} after it, its lease ran {:?} past the cut",
        led_at - cut_at,
        lost_at - cut_at,
        l.valid_until().saturating_duration_since(cut_at)
    );
    assert!(nl.token() > l.token());
    assert!(l.is_lost());
    nl.resign().await.unwrap();
    drop(l);
    wc.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn cancelled_campaign_and_dropped_leadership_leave_no_node() {
    let ns = Namespace::new("elect-cancel").await;
    let dir = ns.path("election");
    let c = client().await;
    let l = Election::new(c.clone(), &dir).campaign().await.unwrap();
    let c2 = client().await;
    let e2 = Election::new(c2.clone(), &dir);
    let mut campaign = Box::pin(e2.campaign());
    let admin = ns.synced_admin().await;
    tokio::select! {
        r = &mut campaign => panic!("two leaders: {r:?}"),
        _ = wait_children(admin, &dir, |ch| ch.len() == 2) => {}
    }
    drop(campaign);
    wait_children(admin, &dir, |ch| ch.len() == 1).await;
    drop(l); // resigns through the driver
    wait_children(admin, &dir, |ch| ch.is_empty()).await;
    c.close().await;
    c2.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn each_candidate_watches_only_the_one_before_it() {
    let ns = Namespace::new("elect-herd").await;
    let dir = ns.path("election");
    let host = peer_list()[0].clone();
    let admin = client_to(&host).await;
    let leader = Election::new(admin.clone(), &dir).campaign().await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut clients = Vec::new();
    for _ in 0..8 {
        let c = client_to(&host).await;
        clients.push(c.clone());
        let e = Election::new(c, &dir);
        let tx = tx.clone();
        tokio::spawn(async move {
            let l = e.campaign().await.unwrap();
            let _ = tx.send(l);
        });
    }
    wait_children(&admin, &dir, |c| c.len() == 9).await;
    let watched = guard("8 watches armed", async {
        loop {
            let w = watched_paths(&host, &dir).await;
            if w.values().sum::<usize>() >= 8 {
                return w;
            }
            tokio::time::sleep(Duration::from_millis(50)).await; // polling the server's view
        }
    })
    .await;
    assert_eq!(
        watched.len(),
        8,
        "each candidate watches another node: {watched:?}"
    );
    assert!(watched.values().all(|&n| n == 1), "{watched:?}");
    assert!(!watched.contains_key(&dir), "nobody watches the children");
    let mut token = leader.token();
    leader.resign().await.unwrap();
    for _ in 0..8 {
        let l = guard("next leader", rx.recv()).await.unwrap();
        assert!(l.token() > token);
        token = l.token();
        l.resign().await.unwrap();
    }
    for c in clients {
        c.close().await;
    }
    admin.close().await;
    ns.cleanup().await;
}
