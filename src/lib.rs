//! # zksync
//!
//! ZooKeeper's coordination recipes for Rust services: a read-write lock (and a mutex), a
//! semaphore, leader election, a barrier and a double barrier, over a ZooKeeper client written
//! from the wire protocol up.
//!
//! The client owns its session: it knows when the session is at risk (disconnected), when it
//! is gone (expired, judged by the server *or* by this client's own clock), and what that
//! means for every request, watch and lock. The recipes turn that into guarantees you can
//! state: a lock guard tells you when it is lost, every acquire is cancel-safe, a failed
//! acquire never leaves a node behind.
//!
//! Runtime dependencies: `tokio`, `bytes`, `tokio-util`, `thiserror`. Nothing else (the
//! optional `tracing` feature adds `tracing`; the optional `sasl` feature `md-5` and
//! `getrandom`; the optional `tls` feature rustls, tokio-rustls and rustls-pki-types; the
//! optional `gssapi` feature `libgssapi`, a binding to the system's MIT Kerberos library).
//!
//! ## Connecting
//!
//! ```
//! # async fn doc() -> zksync::Result<()> {
//! # let hosts = std::env::var("ZOOKEEPER_PEERS").unwrap_or("127.0.0.1:2181".into());
//! use std::time::Duration;
//! use zksync::{ConnectOptions, CreateMode};
//!
//! let client = ConnectOptions::default()
//!     .session_timeout(Duration::from_secs(6))
//!     .connect(&hosts) // "host:port,host:port[/chroot]"
//!     .await?;
//! # let path = format!("/zksync-doc-connect-{}", std::process::id());
//! let (created, stat) = client.create(&path, b"hello", CreateMode::Ephemeral).await?;
//! let (data, _, watch) = client.get_data_w(&created).await?;
//! assert_eq!(&data[..], b"hello");
//! client.set_data(&created, b"bye", Some(stat.version)).await?;
//! let event = watch.await?; // one-shot watch: a future
//! assert_eq!(event.event_type, zksync::EventType::NodeDataChanged);
//! client.close().await;     // ephemeral nodes go at once
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(doc()).unwrap();
//! ```
//!
//! ## SASL
//!
//! With the `sasl` feature, `ConnectOptions::sasl_digest_md5` authenticates with DIGEST-MD5
//! (ZooKeeper's `DigestLoginModule`) on every connection, before any request goes out; wrong
//! credentials fail `connect` with [`Error::AuthFailed`] at once.
//!
#![cfg_attr(feature = "sasl", doc = "```no_run")]
#![cfg_attr(not(feature = "sasl"), doc = "```ignore")]
//! # async fn doc() -> zksync::Result<()> {
//! let password = std::env::var("ZK_PASSWORD").expect("ZK_PASSWORD");
//! let client = zksync::ConnectOptions::default()
//!     .sasl_digest_md5("alice", &password)
//!     .connect("127.0.0.1:2181")
//!     .await?;
//! let me = client.who_am_i().await?; // [ClientInfo { auth_scheme: "sasl", user: "alice" }]
//! # Ok(()) }
//! ```
//!
//! With the `gssapi` feature (Kerberos V5; it links the system's `libgssapi_krb5`, so building
//! it needs `libkrb5-dev`, and `libclang` for the binding's bindgen),
//! `ConnectOptions::sasl_gssapi` authenticates with the process's Kerberos credentials (a
//! ticket cache after `kinit`, `KRB5CCNAME`, or a client keytab in `KRB5_CLIENT_KTNAME`) to the
//! servers' principal `zookeeper/<host>`; no ticket or an unknown service fail `connect` with
//! [`Error::AuthFailed`] at once, the GSS-API error in the debug log.
//!
#![cfg_attr(feature = "gssapi", doc = "```no_run")]
#![cfg_attr(not(feature = "gssapi"), doc = "```ignore")]
//! # async fn doc() -> zksync::Result<()> {
//! // KRB5CCNAME=FILE:/tmp/krb5cc_app (after `kinit -k -t app.keytab app@EXAMPLE.COM`)
//! let client = zksync::ConnectOptions::default()
//!     .sasl_gssapi() // service principal zookeeper/zk1.example.com@EXAMPLE.COM, ...
//!     .connect("zk1.example.com:2181,zk2.example.com:2181,zk3.example.com:2181")
//!     .await?;
//! let me = client.who_am_i().await?; // [ClientInfo { auth_scheme: "sasl", user: "app@EXAMPLE.COM" }]
//! # Ok(()) }
//! ```
//!
//! ## Read-write lock
//!
//! ```
//! # async fn doc() -> zksync::Result<()> {
//! # let hosts = std::env::var("ZOOKEEPER_PEERS").unwrap_or("127.0.0.1:2181".into());
//! # let path = format!("/zksync-doc-lock-{}", std::process::id());
//! use std::time::Duration;
//! use zksync::{recipes::RwLock, Client};
//!
//! let client = Client::connect(&hosts).await?;
//! let lock = RwLock::new(client.clone(), &path);
//!
//! let r1 = lock.read().await?;            // readers share
//! let r2 = lock.read().await?;
//! assert!(lock.try_write().await?.is_none());
//! r1.unlock().await?;
//! r2.unlock().await?;
//!
//! // A timed acquire is just a timeout: a dropped acquire deletes its node.
//! let w = tokio::time::timeout(Duration::from_secs(5), lock.write()).await.expect("free")?;
//! let token = w.fencing_token();          // grows with every new holder
//! assert!(!w.is_lost());
//! w.unlock().await?;
//! # client.delete(&path, None).await?;
//! # let _ = token;
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(doc()).unwrap();
//! ```
//!
//! ## A held lock: fencing token and lease
//!
//! A lock is lost when its session expires (the holder was cut off, or its process paused,
//! for the session timeout). The guard's *lease*, [`recipes::LockGuard::valid_until`], is the
//! latest instant before which no server can have expired the session, judged on this process's
//! clock: check it before each externally visible step. The *fencing token* (the lock node's
//! czxid, larger for every later holder for the life of the ensemble) lets the protected
//! resource reject a stale holder's late writes; it is the real protection.
//!
//! ```
//! # async fn doc() -> zksync::Result<()> {
//! # let hosts = std::env::var("ZOOKEEPER_PEERS").unwrap_or("127.0.0.1:2181".into());
//! # let path = format!("/zksync-doc-lease-{}", std::process::id());
//! use std::time::{Duration, Instant};
//! use zksync::{recipes::Mutex, Client};
//!
//! let client = Client::connect(&hosts).await?;
//! let guard = Mutex::new(client.clone(), &path).lock().await?;
//! let token = guard.fencing_token();
//! let mut highest_accepted = 0; // kept by the protected store, not by the lock holder
//! for _step in 0..3 {
//!     // Is the lock certainly ours for the next 100 ms (what one step takes at most)?
//!     if guard.valid_until() < Instant::now() + Duration::from_millis(100) {
//!         break; // the lease is about to run out: stop before acting
//!     }
//!     // The store accepts the write only if the token is not below the highest it has seen.
//!     assert!(token >= highest_accepted);
//!     highest_accepted = token;
//! }
//! assert!(!guard.is_lost()); // true once the lease passed without contact, or the node went
//! guard.unlock().await?;
//! # client.delete(&path, None).await?;
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(doc()).unwrap();
//! ```
//!
//! ## Barrier
//!
//! ```
//! # async fn doc() -> zksync::Result<()> {
//! # let hosts = std::env::var("ZOOKEEPER_PEERS").unwrap_or("127.0.0.1:2181".into());
//! # let path = format!("/zksync-doc-barrier-{}", std::process::id());
//! use zksync::{recipes::Barrier, Client};
//!
//! let client = Client::connect(&hosts).await?;
//! let gate = Barrier::new(client.clone(), &path);
//! gate.set().await?;
//! let waiter = tokio::spawn({
//!     let gate = gate.clone();
//!     async move { gate.wait().await }   // blocks while the barrier is set
//! });
//! gate.unset().await?;                   // releases every waiter, on every client
//! waiter.await.unwrap()?;
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(doc()).unwrap();
//! ```
//!
//! ## Double barrier
//!
//! ```
//! # async fn doc() -> zksync::Result<()> {
//! # let hosts = std::env::var("ZOOKEEPER_PEERS").unwrap_or("127.0.0.1:2181".into());
//! # let path = format!("/zksync-doc-dbarrier-{}", std::process::id());
//! use zksync::{recipes::DoubleBarrier, Client};
//!
//! let mut workers = Vec::new();
//! for id in ["a", "b", "c"] {
//!     let client = Client::connect(&hosts).await?;
//!     let barrier = DoubleBarrier::new(client, &path, id, 3);
//!     workers.push(tokio::spawn(async move {
//!         barrier.enter().await?;   // all three are in
//!         // ... work ...
//!         barrier.leave().await     // all three are out; the barrier's nodes are removed
//!     }));
//! }
//! for w in workers {
//!     w.await.unwrap()?;
//! }
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(doc()).unwrap();
//! ```
//!
//! ## Semaphore
//!
//! At most `max` holders at once across processes; the others queue in arrival order. The
//! number is kept in the semaphore's node: a process that asks for another one gets
//! [`Error::SemaphoreMismatch`].
//!
//! ```
//! # async fn doc() -> zksync::Result<()> {
//! # let hosts = std::env::var("ZOOKEEPER_PEERS").unwrap_or("127.0.0.1:2181".into());
//! # let path = format!("/zksync-doc-semaphore-{}", std::process::id());
//! use zksync::{recipes::Semaphore, Client};
//!
//! let client = Client::connect(&hosts).await?;
//! let slots = Semaphore::new(client.clone(), &path, 2);
//! let a = slots.acquire().await?;
//! let b = slots.acquire().await?;
//! assert!(slots.try_acquire().await?.is_none()); // both permits are out
//! assert!(b.token() > a.token());                // fencing tokens, as for locks
//! a.release().await?;
//! let c = slots.try_acquire().await?.expect("a permit is free again");
//! // Another process that thinks there are 3 permits is refused, not let in.
//! let wrong = Semaphore::new(client.clone(), &path, 3).acquire().await;
//! assert!(matches!(wrong, Err(zksync::Error::SemaphoreMismatch { .. })));
//! b.release().await?;
//! c.release().await?;
//! # // The refused attempt's node is removed by the driver, in the background: closing the
//! # // session removes it for sure (its ephemeral nodes go with it) before the clean-up.
//! # client.close().await;
//! # Client::connect(&hosts).await?.delete(&path, None).await?;
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(doc()).unwrap();
//! ```
//!
//! ## Leader election
//!
//! One leader at a time; the next candidate leads as soon as the leader resigns or its
//! session ends. A [`recipes::Leadership`] has the same token, lease and `lost()` as a lock
//! guard: a leader must stop leading when `lost()` resolves.
//!
//! ```
//! # async fn doc() -> zksync::Result<()> {
//! # let hosts = std::env::var("ZOOKEEPER_PEERS").unwrap_or("127.0.0.1:2181".into());
//! # let path = format!("/zksync-doc-election-{}", std::process::id());
//! use zksync::{recipes::Election, Client};
//!
//! let a = Client::connect(&hosts).await?;
//! let b = Client::connect(&hosts).await?;
//! let mut changes = Election::new(a.clone(), &path).observe();
//! let first = Election::new(a.clone(), &path).with_id(b"a").campaign().await?;
//! let next = tokio::spawn({
//!     let election = Election::new(b.clone(), &path).with_id(b"b");
//!     async move { election.campaign().await } // waits while "a" leads
//! });
//! assert_eq!(&changes.next().await?.id[..], b"a");
//! let first_token = first.token();              // fence the leader's writes with it
//! first.resign().await?;                        // "b" leads at once
//! let second = next.await.unwrap()?;
//! assert!(second.token() > first_token);
//! assert_eq!(&changes.next().await?.id[..], b"b");
//! second.resign().await?;
//! # a.delete(&path, None).await?;
//! # b.close().await;
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(doc()).unwrap();
//! ```
//!
//! ## What happens when things go wrong
//!
//! | event | requests in flight | queued requests | watches | locks held |
//! |---|---|---|---|---|
//! | connection lost | fail with [`Error::ConnectionLoss`] (may have been applied) | wait for the reconnect (bounded) | kept, re-registered on reconnect; fire at once if the node changed meanwhile | still held; once the lease runs out without contact, `LockGuard::lost()` resolves (`LeaseExpired`) |
//! | session expired (server said so, or no server answered for the whole session timeout) | fail with [`Error::SessionExpired`] | fail | fail with `SessionExpired` | lost: `LockGuard::lost()` resolves |
//! | client closed | fail with [`Error::Closed`] | fail | fail | released (the server deletes ephemeral nodes) |
//!
//! The client is terminal after expiry: create a new [`Client`] to go on. The recipes keep
//! the rules of [`recipes`] (one watch per waiter, protected creates, cancel-safety).
//!
//! A client that allows read-only servers ([`ConnectOptions::read_only`]) may be served by a
//! server cut off from the quorum: state `ConnectedReadOnly`, reads and watches work, writes
//! fail with `NotReadOnly`. It keeps probing the other hosts and moves to a read-write one as
//! soon as one answers; a session a read-only server created is replaced by a new one then.
//!
//! ## Errors and their causes
//!
//! Every call fails with one [`Error`]. Its `Display` is one line an operator can act on;
//! `source()` leads to the cause as a value. A `connect` that establishes no session in time
//! fails with [`Error::Unreachable`], which names every server with what happened there last
//! (a [`ConnectionError`]: the operating system's `io::Error` for a refused connect or a name
//! that does not resolve, a connect or handshake timeout, a closed connection, a protocol
//! violation with its reason, a read-only server's refusal).
//!
//! ```
//! # async fn doc() {
//! use std::error::Error as _;
//! use std::time::Duration;
//! use zksync::{ConnectOptions, ConnectionError, Error};
//!
//! # let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
//! let err = ConnectOptions::default()
//!     .establish_timeout(Duration::from_millis(300))
//!     .connect(&format!("127.0.0.1:{port}")) // nothing listens there
//!     .await
//!     .unwrap_err();
//! // "no session established within 300ms; 127.0.0.1:…: Connection refused (os error 111)"
//! assert!(err.to_string().contains(&format!("127.0.0.1:{port}: ")));
//! let Error::Unreachable(unreachable) = &err else { panic!("{err}") };
//! let latest = unreachable.latest().expect("the server was tried");
//! assert!(matches!(latest.error, Some(ConnectionError::Io(_))));
//! // The chain: Error -> ConnectionError -> std::io::Error.
//! let io = err.source().and_then(|cause| cause.source());
//! let io = io.and_then(|e| e.downcast_ref::<std::io::Error>()).expect("an OS error");
//! assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
//! # }
//! # tokio::runtime::Runtime::new().unwrap().block_on(doc());
//! ```
//!
//! Requests in flight on a connection that drops fail with [`Error::ConnectionLoss`] whatever
//! the cause (or [`Error::FrameTooLarge`] for an oversized reply); the client reconnects on its
//! own.
//!
//! ## The `tls` feature
//!
//! Off by default. With it, `ConnectOptions::tls` connects to the servers' `secureClientPort`
//! over TLS (rustls with the `ring` provider): the servers' certificates are verified against
//! the CA bundle given and their host names, a client certificate can be presented (mutual
//! TLS), and every connection uses it (reconnects, the read-write probes of read-only mode).
//! A failed handshake shows in [`Error::Unreachable`] as a [`ConnectionError::Tls`] that says
//! why, with rustls' error as its `source()`.
//!
//! ```no_run
//! # #[cfg(feature = "tls")]
//! # async fn doc() -> zksync::Result<()> {
//! use zksync::{ConnectOptions, TlsOptions};
//!
//! let client = ConnectOptions::default()
//!     .tls(
//!         TlsOptions::ca_file("/etc/zookeeper/tls/ca.pem")
//!             .client_cert_files("/etc/zookeeper/tls/client.pem", "/etc/zookeeper/tls/client-key.pem"),
//!     )
//!     .connect("zk1:2281,zk2:2281,zk3:2281")
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! ## The `tracing` feature
//!
//! Off by default; without it no logging code is compiled at all. With it the client logs
//! through [`tracing`](https://docs.rs/tracing) at debug level: session state transitions,
//! every connection attempt, each failed attempt or dropped connection with its cause (so every
//! reconnect comes with its reason), the session granted or ended, and each watch set and fired
//! (what the recipes wait on). Install any subscriber, e.g. `tracing_subscriber::fmt()` with
//! `RUST_LOG=zksync=debug`, to see lines such as
//! `connection lost to 127.0.0.1:2181: nothing heard from the server for 4s`.
//!
//! ## Layers and paths
//!
//! Every public item has one path. The client API is at the crate root: [`Client`],
//! [`ConnectOptions`], the argument and result types of its calls, its watches, [`Error`] and
//! its causes, and the ZooKeeper vocabulary the calls use ([`Stat`], [`ChildNames`], [`Acl`],
//! [`Id`], [`perms`], [`ErrorCode`], [`EventType`], [`SessionState`], [`WatchedEvent`]).
//! [`recipes`] holds the recipes, written on that public API only, and [`paths`] two path
//! helpers.
//! [`proto`] is the jute codec (pure functions over bytes: records, requests, responses,
//! framing), for tools and tests that speak the wire protocol themselves. The session state
//! machine (no IO, no clock) and the tokio driver behind [`Client`] are private.
//!
//! Types that can grow with ZooKeeper or with this crate are `#[non_exhaustive]`: the errors
//! ([`Error`], [`ConnectionError`], [`proto::DecodeError`], [`proto::FrameError`], and the
//! per-server report [`HostAttempt`]), [`SessionState`], [`EventType`], [`CreateMode`],
//! [`AddWatchMode`], [`WatcherType`], the multi operations and their results ([`Op`],
//! [`OpResult`], [`ReadOp`], [`ReadResult`]), [`recipes::LockLost`], [`recipes::Layout`], [`recipes::naming::QueueKind`], and the protocol's codes
//! and messages ([`ErrorCode`], [`proto::OpCode`], [`proto::Request`], [`proto::Response`],
//! [`proto::MultiOp`], [`proto::MultiReadOp`], [`proto::MultiResult`]). A `match` on them
//! needs a wildcard arm.
//!
//! [`Client`], the lock guard, the recipes and the errors are `Send + Sync`, and the future
//! of every call is `Send` (asserted at compile time). Every call can be cancelled; what a
//! dropped call leaves behind is in each method's docs (for the client: only the reply is
//! dropped, the operation may still be applied).
#![warn(missing_docs)]

mod client;
mod error;
mod path;
pub mod proto;
pub mod recipes;
mod send_sync;
mod session;
mod trace;

#[cfg(feature = "tls")]
pub use client::TlsOptions;
pub use client::{
    AddWatchMode, Client, ConnectOptions, CreateMode, OneshotWatch, Op, OpResult, PersistentWatch,
    ReadOp, ReadResult, StateChanges, WatcherType,
};
pub use error::{ConnectionError, Error, HostAttempt, Result, Unreachable};
pub use path::{validate_path, validate_sequential_prefix};
pub use proto::error_code::ErrorCode;
pub use proto::records::acl::{perms, Acl, Id};
pub use proto::records::children::ChildNames;
pub use proto::records::stat::Stat;
pub use session::{EventType, SessionState, WatchedEvent};

/// Path helpers shared by the client and the recipes.
pub mod paths {
    pub use crate::path::{join, parent};
}
