//! Every operation: its success path and typical errors.

use crate::common::*;
use zksync::{CreateMode, Error, ErrorCode};

#[tokio::test]
async fn create_get_set_delete() {
    let ns = Namespace::new("crud").await;
    let c = client().await;
    let p = ns.path("a");
    let (path, stat) = c.create(&p, b"one", CreateMode::Persistent).await.unwrap();
    assert_eq!(path, p);
    assert_eq!(stat.version, 0);
    assert_eq!(stat.data_length, 3);
    let (data, stat) = c.get_data(&p).await.unwrap();
    assert_eq!(&data[..], b"one");
    let stat2 = c.set_data(&p, b"two", Some(stat.version)).await.unwrap();
    assert_eq!(stat2.version, 1);
    assert_eq!(c.set_data(&p, b"x", Some(0)).await, Err(Error::Server(ErrorCode::BadVersion)));
    assert_eq!(c.create(&p, b"", CreateMode::Persistent).await.unwrap_err(), Error::Server(ErrorCode::NodeExists));
    c.delete(&p, Some(1)).await.unwrap();
    assert_eq!(c.exists(&p).await.unwrap(), None);
    assert!(c.delete(&p, None).await.unwrap_err().is_no_node());
    ns.cleanup().await;
    c.close().await;
}
