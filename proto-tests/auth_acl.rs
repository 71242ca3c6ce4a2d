//! Digest authentication and ACL enforcement; authentication failure ends the session.

use zksync::{perms, Acl, ConnectOptions, CreateMode, Error, ErrorCode, Id, SessionState};
use zksync_test_support::*;

fn digest_acl(user: &str, password: &str, perms: i32) -> Vec<Acl> {
    vec![Acl {
        perms,
        id: Id {
            scheme: "digest".into(),
            id: digest_id(user, password),
        },
    }]
}

#[tokio::test]
async fn digest_acl_is_enforced_until_the_right_credentials_are_added() {
    let ns = Namespace::new("digest").await;
    let owner = client().await;
    owner.add_auth("digest", b"alice:wonderland").await.unwrap();
    let p = ns.path("secret");
    owner
        .create_with_acl(
            &p,
            b"treasure",
            CreateMode::Persistent,
            digest_acl("alice", "wonderland", perms::ALL),
        )
        .await
        .unwrap();
    let (data, _) = owner.get_data(&p).await.unwrap();
    assert_eq!(&data[..], b"treasure");

    let stranger = client().await;
    stranger.sync(&p).await.unwrap();
    let no_auth = Error::Server(ErrorCode::NoAuth);
    assert_eq!(
        stranger.get_data(&p).await.map(|_| ()),
        Err(no_auth.clone())
    );
    assert_eq!(
        stranger.get_children(&p).await.map(|_| ()),
        Err(no_auth.clone())
    );
    assert_eq!(
        stranger.set_data(&p, b"x", None).await.map(|_| ()),
        Err(no_auth.clone())
    );
    assert_eq!(
        stranger
            .create(&ns.path("secret/c"), b"", CreateMode::Persistent)
            .await
            .map(|_| ()),
        Err(no_auth.clone())
    );
    // exists needs no permission.
    assert!(stranger.exists(&p).await.unwrap().is_some());
    // getACL without READ|ADMIN is refused as well.
    assert_eq!(stranger.get_acl(&p).await.map(|_| ()), Err(no_auth.clone()));

    // The wrong password is accepted as credentials (digest auth never fails) but grants nothing.
    stranger.add_auth("digest", b"alice:guess").await.unwrap();
    assert_eq!(
        stranger.get_data(&p).await.map(|_| ()),
        Err(no_auth.clone())
    );
    assert!(stranger.state().is_connected());
    // The right one opens the node.
    stranger
        .add_auth("digest", b"alice:wonderland")
        .await
        .unwrap();
    let (data, _) = stranger.get_data(&p).await.unwrap();
    assert_eq!(&data[..], b"treasure");
    stranger.set_data(&p, b"mine now", None).await.unwrap();
    let (acl, _) = stranger.get_acl(&p).await.unwrap();
    assert_eq!(acl, digest_acl("alice", "wonderland", perms::ALL));

    // Credentials given at connect time work the same.
    let configured = ConnectOptions::default()
        .session_timeout(TEST_SESSION)
        .auth("digest", b"alice:wonderland")
        .connect(&peers())
        .await
        .unwrap();
    configured.sync(&p).await.unwrap();
    let (data, _) = configured.get_data(&p).await.unwrap();
    assert_eq!(&data[..], b"mine now");
    let ids = configured.who_am_i().await.unwrap();
    assert!(
        ids.iter()
            .any(|i| i.auth_scheme == "digest" && i.user == "alice"),
        "{ids:?}"
    );

    // Cleanup needs the credentials: the namespace admin cannot delete below a node it cannot
    // list, so remove the node here.
    owner.delete(&p, None).await.unwrap();
    configured.close().await;
    stranger.close().await;
    owner.close().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn auth_scheme_acl_expands_to_the_session_identity() {
    let ns = Namespace::new("authscheme").await;
    let owner = client().await;
    owner.add_auth("digest", b"bob:builder").await.unwrap();
    let p = ns.path("mine");
    owner
        .create_with_acl(&p, b"x", CreateMode::Persistent, Acl::creator_all())
        .await
        .unwrap();
    // The server replaced `auth:` with the digest identity of the creator.
    let (acl, _) = owner.get_acl(&p).await.unwrap();
    assert_eq!(acl, digest_acl("bob", "builder", perms::ALL));
    // Unreadable for others; readable with bob's credentials.
    let other = client().await;
    other.sync(&p).await.unwrap();
    assert_eq!(
        other.get_data(&p).await.map(|_| ()),
        Err(Error::Server(ErrorCode::NoAuth))
    );
    other.add_auth("digest", b"bob:builder").await.unwrap();
    assert_eq!(&other.get_data(&p).await.unwrap().0[..], b"x");
    // A mixed ACL: world may read, only bob may write.
    let mut mixed = digest_acl("bob", "builder", perms::ALL);
    mixed.extend(Acl::read_unsafe());
    owner.set_acl(&p, mixed, None).await.unwrap();
    let anyone = client().await;
    anyone.sync(&p).await.unwrap();
    assert_eq!(&anyone.get_data(&p).await.unwrap().0[..], b"x");
    assert_eq!(
        anyone.set_data(&p, b"y", None).await.map(|_| ()),
        Err(Error::Server(ErrorCode::NoAuth))
    );
    owner.delete(&p, None).await.unwrap();
    for c in [owner, other, anyone] {
        c.close().await;
    }
    ns.cleanup().await;
}

#[tokio::test]
async fn auth_failure_ends_the_session() {
    let ns = Namespace::new("authfail").await;
    let c = client().await;
    let p = ns.path("n");
    c.create(&p, b"", CreateMode::Ephemeral).await.unwrap();
    let (_, _, watch) = c.get_data_w(&p).await.unwrap();
    let mut persistent = c
        .add_watch(&ns.root, zksync::AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    let ended = {
        let c = c.clone();
        tokio::spawn(async move { c.session_ended().await })
    };
    // There is no provider for this scheme: the server answers AUTHFAILED and closes.
    assert_eq!(
        c.add_auth("no-such-scheme", b"whatever").await,
        Err(Error::AuthFailed)
    );
    wait_state(&c, "AuthFailed", |s| s == SessionState::AuthFailed).await;
    assert_eq!(
        within("session_ended", ended).await.unwrap(),
        Error::AuthFailed
    );
    // Everything fails with AuthFailed from now on, at once.
    assert_eq!(c.exists(&p).await, Err(Error::AuthFailed));
    assert_eq!(
        c.create(&ns.path("x"), b"", CreateMode::Persistent)
            .await
            .map(|_| ()),
        Err(Error::AuthFailed)
    );
    assert_eq!(within("watch", watch).await, Err(Error::AuthFailed));
    assert_eq!(
        within("persistent watch", persistent.next()).await,
        Some(Err(Error::AuthFailed))
    );
    assert_eq!(
        within("persistent watch end", persistent.next()).await,
        None
    );
    assert_eq!(c.state(), SessionState::AuthFailed);
    ns.cleanup().await;
}

#[tokio::test]
async fn auth_failure_with_credentials_given_at_connect() {
    let ns = Namespace::new("authfail-connect").await;
    // The handshake succeeds, then the credentials sent right after it are refused: connect
    // may return before or after that, either way the session ends with AuthFailed.
    let result = ConnectOptions::default()
        .session_timeout(TEST_SESSION)
        .auth("no-such-scheme", b"x")
        .connect(&peers())
        .await;
    match result {
        Err(e) => assert_eq!(e, Error::AuthFailed),
        Ok(c) => {
            assert_eq!(
                within("session_ended", c.session_ended()).await,
                Error::AuthFailed
            );
            assert_eq!(c.exists(&ns.root).await, Err(Error::AuthFailed));
            assert_eq!(c.state(), SessionState::AuthFailed);
        }
    }
    ns.cleanup().await;
}

/// The digest ids above are computed by the test support crate: its SHA-1 and base64 first.
#[test]
fn sha1_and_base64_vectors() {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(
        hex(&sha1(b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_eq!(
        hex(&sha1(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
    );
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    // The superDigest example from ZooKeeper's administrator guide (super:test).
    assert_eq!(
        digest_id("super", "test"),
        "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
    );
}
