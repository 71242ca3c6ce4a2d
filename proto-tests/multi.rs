//! Transactions: `multi` (all or nothing, with `check`) and `multi_read`.

use zksync::{CreateMode, Error, ErrorCode, Op, OpResult, ReadOp, ReadResult};
use zksync_test_support::*;

#[tokio::test]
async fn multi_success_applies_everything_in_order() {
    let ns = Namespace::new("multi-ok").await;
    let c = client().await;
    let (a, b, gone) = (ns.path("a"), ns.path("b"), ns.path("gone"));
    c.create(&b, b"old", CreateMode::Persistent).await.unwrap();
    c.create(&gone, b"", CreateMode::Persistent).await.unwrap();
    let seq_prefix = ns.path("s-");
    let results = c
        .multi(vec![
            Op::create(&a, b"new", CreateMode::Persistent),
            Op::check(&a, Some(0)),
            Op::set_data(&b, b"changed", Some(0)),
            Op::check(&b, Some(1)),
            Op::delete(&gone, Some(0)),
            Op::create(&ns.path("a/child"), b"", CreateMode::Persistent),
            Op::create(&seq_prefix, b"", CreateMode::PersistentSequential),
            Op::check(&ns.root, None),
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 8);
    assert_eq!(
        results[0],
        OpResult::Create {
            path: a.clone(),
            stat: None
        }
    );
    assert_eq!(results[1], OpResult::Check);
    let OpResult::SetData { stat } = &results[2] else {
        panic!("{:?}", results[2])
    };
    assert_eq!((stat.version, stat.data_length), (1, 7));
    assert_eq!(results[3], OpResult::Check);
    assert_eq!(results[4], OpResult::Delete);
    assert_eq!(
        results[5],
        OpResult::Create {
            path: ns.path("a/child"),
            stat: None
        }
    );
    let OpResult::Create { path, .. } = &results[6] else {
        panic!("{:?}", results[6])
    };
    let suffix = path.strip_prefix(&seq_prefix).expect("sequential path");
    assert_eq!(suffix.len(), 10);
    assert_eq!(results[7], OpResult::Check);
    // Every effect is visible, all from one transaction (same zxid).
    let (data, sa) = c.get_data(&a).await.unwrap();
    assert_eq!(&data[..], b"new");
    let (data, sb) = c.get_data(&b).await.unwrap();
    assert_eq!(&data[..], b"changed");
    assert_eq!(sa.czxid, sb.mzxid, "one transaction, one zxid");
    assert_eq!(c.exists(&gone).await, Ok(None));
    assert!(c.exists(path).await.unwrap().is_some());
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn multi_creates_containers_and_ttl_nodes_with_stat() {
    let ns = Namespace::new("multi-ext").await;
    let c = client().await;
    let ttl = std::time::Duration::from_secs(3600);
    let results = c
        .multi(vec![
            Op::create(&ns.path("c"), b"", CreateMode::Container),
            Op::create(&ns.path("t"), b"", CreateMode::PersistentWithTtl(ttl)),
            Op::create(&ns.path("e"), b"", CreateMode::Ephemeral),
        ])
        .await
        .unwrap();
    // The server answers container and TTL creates inside multi with create2 results.
    for (i, name) in ["c", "t"].into_iter().enumerate() {
        let OpResult::Create { path, stat } = &results[i] else {
            panic!("{:?}", results[i])
        };
        assert_eq!(path, &ns.path(name));
        let stat = stat.clone().expect("create2-style result with Stat");
        assert_eq!(Some(stat), c.exists(path).await.unwrap());
    }
    assert_eq!(
        results[2],
        OpResult::Create {
            path: ns.path("e"),
            stat: None
        }
    );
    assert_eq!(
        c.exists(&ns.path("e"))
            .await
            .unwrap()
            .unwrap()
            .ephemeral_owner,
        c.session_id()
    );
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn multi_failure_names_the_op_and_applies_nothing() {
    let ns = Namespace::new("multi-fail").await;
    let c = client().await;
    let (a, b) = (ns.path("a"), ns.path("b"));
    c.create(&b, b"old", CreateMode::Persistent).await.unwrap();
    let cases: Vec<(Vec<Op>, usize, ErrorCode)> = vec![
        (
            vec![
                Op::create(&a, b"", CreateMode::Persistent),
                Op::set_data(&b, b"x", Some(7)),
                Op::create(&ns.path("c"), b"", CreateMode::Persistent),
            ],
            1,
            ErrorCode::BadVersion,
        ),
        (
            vec![
                Op::create(&a, b"", CreateMode::Persistent),
                Op::check(&ns.path("missing"), None),
            ],
            1,
            ErrorCode::NoNode,
        ),
        (
            // The check sees the set_data before it (version 1); the create then fails.
            vec![
                Op::set_data(&b, b"x", None),
                Op::check(&b, Some(1)),
                Op::create(&b, b"", CreateMode::Persistent),
            ],
            2,
            ErrorCode::NodeExists,
        ),
        (vec![Op::delete(&ns.root, None)], 0, ErrorCode::NotEmpty),
        (
            vec![
                Op::create(&a, b"", CreateMode::Ephemeral),
                Op::create(&ns.path("a/x"), b"", CreateMode::Persistent),
            ],
            1,
            ErrorCode::NoChildrenForEphemerals,
        ),
        (
            vec![
                Op::create(&a, b"", CreateMode::Persistent),
                Op::create(&a, b"", CreateMode::Persistent),
            ],
            1,
            ErrorCode::NodeExists,
        ),
    ];
    for (ops, index, code) in cases {
        let what = format!("{ops:?}");
        assert_eq!(
            c.multi(ops).await,
            Err(Error::MultiFailed { index, code }),
            "{what}"
        );
        // Nothing applied.
        assert_eq!(c.exists(&a).await, Ok(None), "{what}");
        assert_eq!(c.exists(&ns.path("c")).await, Ok(None), "{what}");
        let (data, stat) = c.get_data(&b).await.unwrap();
        assert_eq!((&data[..], stat.version), (&b"old"[..], 0), "{what}");
    }
    // The client is fine afterwards.
    c.multi(vec![Op::check(&b, Some(0))]).await.unwrap();
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn multi_client_side_validation() {
    let ns = Namespace::new("multi-valid").await;
    let c = client().await;
    assert!(matches!(
        c.multi(vec![
            Op::create(&ns.path("ok"), b"", CreateMode::Persistent),
            Op::check("bad", None)
        ])
        .await,
        Err(Error::InvalidPath { .. })
    ));
    assert!(matches!(
        c.multi(vec![Op::Create {
            path: ns.path("x"),
            data: Default::default(),
            mode: CreateMode::Persistent,
            acl: Some(vec![])
        }])
        .await,
        Err(Error::InvalidArgument(_))
    ));
    // Nothing was sent: the valid op before the bad one was not applied.
    assert_eq!(c.exists(&ns.path("ok")).await, Ok(None));
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn empty_multi() {
    let ns = Namespace::new("multi-empty").await;
    let c = client().await;
    assert_eq!(c.multi(vec![]).await, Ok(vec![]));
    assert_eq!(c.multi_read(vec![]).await, Ok(vec![]));
    assert!(c.exists(&ns.root).await.unwrap().is_some());
    ns.cleanup().await;
    c.close().await;
}

#[tokio::test]
async fn multi_read_with_partial_failures() {
    let ns = Namespace::new("multi-read").await;
    let c = client().await;
    let p = ns.path("p");
    c.create(&p, b"data", CreateMode::Persistent).await.unwrap();
    c.create(&ns.path("p/x"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    c.create(&ns.path("p/y"), b"", CreateMode::Persistent)
        .await
        .unwrap();
    let results = c
        .multi_read(vec![
            ReadOp::GetData(p.clone()),
            ReadOp::GetData(ns.path("missing")),
            ReadOp::GetChildren(p.clone()),
            ReadOp::GetChildren(ns.path("missing")),
            ReadOp::GetData(ns.path("p/x")),
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 5);
    let ReadResult::Data(data, stat) = &results[0] else {
        panic!("{:?}", results[0])
    };
    assert_eq!(&data[..], b"data");
    assert_eq!(stat.num_children, 2);
    assert_eq!(
        results[1],
        ReadResult::Error(Error::Server(ErrorCode::NoNode))
    );
    let ReadResult::Children(children) = &results[2] else {
        panic!("{:?}", results[2])
    };
    let mut children = children.clone();
    children.sort();
    assert_eq!(children, vec!["x", "y"]);
    assert_eq!(
        results[3],
        ReadResult::Error(Error::Server(ErrorCode::NoNode))
    );
    assert!(matches!(&results[4], ReadResult::Data(d, _) if d.is_empty()));
    // Invalid paths are refused before sending.
    assert!(matches!(
        c.multi_read(vec![ReadOp::GetData("nope".into())]).await,
        Err(Error::InvalidPath { .. })
    ));
    ns.cleanup().await;
    c.close().await;
}
