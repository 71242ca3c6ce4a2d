//! Barrier against a real ensemble.

use crate::common::*;
use zksync::recipes::Barrier;
use zksync::{Error, ErrorCode};

#[tokio::test]
async fn set_unset_and_errors() {
    let ns = Namespace::new("barrier-basic").await;
    let c = client().await;
    let b = Barrier::new(c.clone(), &ns.path("a/b/gate"));
    assert!(!b.is_set().await.unwrap());
    b.wait().await.unwrap(); // not set: returns at once
    b.set().await.unwrap(); // parents created
    assert!(b.is_set().await.unwrap());
    assert_eq!(b.set().await, Err(Error::Server(ErrorCode::NodeExists)));
    b.unset().await.unwrap();
    assert_eq!(b.unset().await, Err(Error::Server(ErrorCode::NoNode)));
    c.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn unset_releases_waiters_on_several_clients() {
    let ns = Namespace::new("barrier-release").await;
    let path = ns.path("gate");
    let setter = client().await;
    let b = Barrier::new(setter.clone(), &path);
    b.set().await.unwrap();
    let mut waiters = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..5 {
        let c = client().await;
        clients.push(c.clone());
        let w = Barrier::new(c, &path);
        waiters.push(tokio::spawn(async move { w.wait().await }));
    }
    for w in &mut waiters {
        assert!(
            still_blocked(w).await,
            "wait returned while the barrier is set"
        );
    }
    b.unset().await.unwrap();
    for w in waiters {
        guard("waiter released", w).await.unwrap().unwrap();
    }
    for c in clients {
        c.close().await;
    }
    setter.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn session_expiry_while_waiting_is_an_error() {
    let ns = Namespace::new("barrier-expiry").await;
    let path = ns.path("gate");
    let setter = client().await;
    Barrier::new(setter.clone(), &path).set().await.unwrap();
    let c = client().await;
    let w = Barrier::new(c.clone(), &path);
    let mut waiter = tokio::spawn(async move { w.wait().await });
    assert!(still_blocked(&mut waiter).await);
    // Expire the waiter's session: attach to it from another client and close it there.
    let thief = zksync::ConnectOptions::default()
        .resume_session(c.session_id(), &c.session_passwd())
        .connect(&peers())
        .await
        .unwrap();
    thief.close().await;
    let r = guard("waiter fails", waiter).await.unwrap();
    assert_eq!(r, Err(Error::SessionExpired));
    assert!(
        Barrier::new(setter.clone(), &path).is_set().await.unwrap(),
        "still set"
    );
    setter.close().await;
    ns.cleanup().await;
}
