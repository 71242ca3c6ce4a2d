//! The public `Client` handle: cheap to clone, every call a request to the driver task.

use super::command::Command;
use super::lease::LeaseCell;
use super::multi::{Op, OpResult, ReadOp, ReadResult};
use super::publish::SessionInfo;
use super::sink::{Reply, Sink};
use super::types::{AddWatchMode, CreateMode, WatcherType};
use super::watch::{OneshotWatch, PersistentWatch, StateChanges};
use crate::error::{Error, Result};
use crate::path::{validate_path, validate_sequential_prefix};
use crate::proto::{
    add_watch_mode, Acl, AddWatchRequest, CheckVersionRequest, ChildNames, ClientInfo,
    CreateRequest, CreateTtlRequest, DeleteRequest, ErrorCode, MultiOp, MultiReadOp, MultiResult,
    PathRequest, PathWatchRequest, Request, Response, SetAclRequest, SetDataRequest, Stat,
    WatchesRequest,
};
use crate::session::{Chroot, SessionState, WatchKind};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// A ZooKeeper client: one session, one connection, many requests in flight.
///
/// Cheap to clone (an `Arc`); all clones share the session. Dropping the last clone, or
/// calling [`Client::close`], ends the session with closeSession so the server removes its
/// ephemeral nodes at once.
///
/// # What happens on faults
/// - **Connection lost** (state `Disconnected`): every request in flight fails with
///   [`Error::ConnectionLoss`] (it may or may not have been applied). New requests wait for
///   the reconnect (bounded by `max_queued_requests` and `request_timeout`). The client
///   reconnects to the next server with the same session, re-sends credentials and
///   re-registers every watch; a watch whose node changed meanwhile fires at once.
/// - **Session expired** (state `Expired`, said by a server or judged by this client after
///   not hearing from any server for the whole session timeout): every pending request and
///   every watch fails with [`Error::SessionExpired`]; every later call fails the same way at
///   once. Ephemeral nodes of the session are gone. Make a new `Client` to go on.
///
/// # Cancellation
/// Every `async` method can be cancelled: dropped at an `.await`, by a timeout or a
/// `select!`. Its docs say what that leaves behind, following one rule: nothing is sent
/// before the future is first polled; after that the request is with the driver, and a
/// dropped call drops only the reply. The operation may still be applied, as after
/// [`Error::ConnectionLoss`]; a watch it asked for may still be set, and fires into nothing.
///
/// ```no_run
/// # async fn f() -> zksync::Result<()> {
/// use zksync::{Client, CreateMode};
/// let client = Client::connect("127.0.0.1:2181").await?;
/// client.create("/greeting", b"hello", CreateMode::Persistent).await?;
/// let (data, stat) = client.get_data("/greeting").await?;
/// assert_eq!(&data[..], b"hello");
/// client.delete("/greeting", Some(stat.version)).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(super) inner: Arc<Inner>,
}

/// What every clone of a client shares (built by `connect`).
pub(super) struct Inner {
    pub(super) tx: mpsc::UnboundedSender<Command>,
    pub(super) state: watch::Receiver<SessionState>,
    pub(super) chroot: Chroot,
    pub(super) default_acl: Vec<Acl>,
    /// Session id, password and negotiated timeout, published at every handshake (the id
    /// changes once if a read-only server granted the first session: see `read_only`).
    pub(super) session_rx: watch::Receiver<Option<SessionInfo>>,
    /// The session's lease, as the driver last published it.
    pub(super) lease: Arc<LeaseCell>,
    /// Set by the first `close()` on any clone: the session is ending at this process's request.
    pub(super) closing: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("session_id", &format_args!("{:#x}", self.session_id()))
            .field("state", &self.state())
            .finish()
    }
}

fn version(v: Option<i32>) -> i32 {
    v.unwrap_or(-1)
}

impl Client {
    // `connect` and `connect_with` are in `connect.rs`.

    // ----- session information -----

    /// The current session state.
    pub fn state(&self) -> SessionState {
        *self.inner.state.borrow()
    }

    /// A `watch` receiver of the session state: always the latest state, and `changed()` to wait.
    #[must_use = "the receiver is the only way to see the state it watches"]
    pub fn state_watch(&self) -> watch::Receiver<SessionState> {
        self.inner.state.clone()
    }

    /// Every state transition from now on, in order (starting with the current state).
    pub fn state_changes(&self) -> StateChanges {
        let (tx, rx) = mpsc::unbounded_channel();
        if self
            .inner
            .tx
            .send(Command::SubscribeStates(tx.clone()))
            .is_err()
        {
            let _ = tx.send(self.state());
        }
        StateChanges { rx }
    }

    fn session_info(&self) -> Option<SessionInfo> {
        self.inner.session_rx.borrow().clone()
    }

    /// The session id (0 before the session is established). A session granted by a read-only
    /// server is known to that server only: when the client reaches a read-write server it is
    /// given a new session, and this id changes once (see
    /// [`ConnectOptions::read_only`](crate::ConnectOptions::read_only)).
    pub fn session_id(&self) -> i64 {
        self.session_info().map_or(0, |s| s.0)
    }

    /// The session password (with the id, lets another client attach to this session).
    pub fn session_passwd(&self) -> Bytes {
        self.session_info().map_or_else(Bytes::new, |s| s.1)
    }

    /// The session timeout granted by the server.
    pub fn session_timeout(&self) -> Duration {
        self.session_info().map_or(Duration::ZERO, |s| s.2)
    }

    /// The session's lease: the latest instant before which no server can have expired this
    /// session (`None` before the first session is established).
    ///
    /// It is the send time of the latest request, ping or handshake that a server answered and
    /// that the leader must have heard of, plus the granted session timeout, less 1 % of it for
    /// the difference between clock rates. A follower answers requests itself and passes the
    /// session's "touch" on to the leader only at the leader's next ping (within a quarter of
    /// the session timeout, since ZooKeeper's tick is at most half of it), so a contact counts
    /// only once the same server has answered a request sent that long after it: the bound holds
    /// even if that follower died before passing the latest touch on. Read on this process's
    /// monotonic clock, without a round trip: it is right also after a pause of the process (a
    /// stall, a SIGSTOP) before the client's driver has run again.
    ///
    /// Before it, no other session can have been granted what this session's ephemeral nodes
    /// hold (a lock, a participant slot). After it, without a newer contact, another may have:
    /// stop acting on the lock, and rely on fencing. The assumptions: the servers' tick is at
    /// most half the session timeout (ZooKeeper's `minSessionTimeout` default of two ticks),
    /// and the clocks' rates differ by less than 1 %.
    pub fn session_valid_until(&self) -> Option<std::time::Instant> {
        self.inner.lease.get()
    }

    /// Runs `task` on the runtime of this client's driver. Needs no runtime in the caller, so
    /// a `Drop` implementation can hand clean-up (deletes of its nodes) to it; the task runs while
    /// the session lives, and [`Client::close`] (or the drop of the last handle, which the task
    /// usually holds a clone of) waits up to 2 s for such tasks before closing the session. If
    /// the client's driver is gone (its runtime shut down), the task is dropped without running.
    pub fn background<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let _ = self.inner.tx.send(Command::Background(Box::pin(task)));
    }

    /// Number of watch registrations this client holds: one-shot watches not yet fired
    /// (including ones whose future was dropped, which stay until the server fires them or the
    /// client reconnects) and persistent watches. For diagnostics and tests.
    ///
    /// **Cancel-safety:** a dropped call changes nothing.
    pub async fn watch_count(&self) -> usize {
        let (tx, rx) = oneshot::channel();
        if self.inner.tx.send(Command::WatchCount(tx)).is_err() {
            return 0;
        }
        rx.await.unwrap_or(0)
    }

    /// The chroot of this client, if any.
    pub fn chroot(&self) -> Option<&str> {
        self.inner.chroot.prefix()
    }

    /// Resolves when the session ends (expired, auth failed or closed), with the error that
    /// every call fails with from then on. Recipes use it to report lost locks.
    ///
    /// **Cancel-safety:** a dropped call changes nothing (it only waits).
    pub async fn session_ended(&self) -> Error {
        let mut rx = self.inner.state.clone();
        loop {
            if let Some(e) = terminal_error(*rx.borrow_and_update()) {
                return e;
            }
            if rx.changed().await.is_err() {
                return terminal_error(*rx.borrow()).unwrap_or(Error::Closed);
            }
        }
    }

    /// True once [`Client::close`] was called on this client or any clone: the session is
    /// ending (or has ended) at this process's request. The server deletes the session's
    /// ephemeral nodes, and sends their watch events, *before* it confirms the close, so a
    /// watcher that sees its own node go can tell by this that nobody else deleted it.
    pub fn is_closing(&self) -> bool {
        self.inner
            .closing
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Closes the session: the server deletes its ephemeral nodes at once. Waits until the
    /// server confirmed (or a short deadline passed). Other clones fail with [`Error::Closed`].
    ///
    /// **Cancel-safety:** once polled, the close is with the driver: a dropped call drops only the
    /// wait for the server's confirmation, and the session is closed all the same.
    pub async fn close(&self) {
        self.inner
            .closing
            .store(true, std::sync::atomic::Ordering::Release);
        let _ = self.inner.tx.send(Command::Close);
        let mut rx = self.inner.state.clone();
        while !rx.borrow_and_update().is_terminal() {
            if rx.changed().await.is_err() {
                break;
            }
        }
    }

    // ----- plumbing -----

    /// Hands the request to the driver at once and returns a future of its reply. Not an
    /// `async fn` on purpose: the request is moved into the channel before anything awaits, so
    /// the future (which lives as long as the request is in flight) holds only the receiver,
    /// not the request: about 200 bytes less per request in flight.
    fn call(
        &self,
        request: Request,
        watch: Option<(WatchKind, Sink)>,
    ) -> impl std::future::Future<Output = Result<Response>> + '_ {
        let (tx, rx) = oneshot::channel();
        let command = Command::Request {
            request: Box::new(request),
            watch,
            reply: Reply(tx),
        };
        let sent = self.inner.tx.send(command).is_ok();
        async move {
            if !sent {
                return Err(terminal_error(self.state()).unwrap_or(Error::Closed));
            }
            match rx.await {
                Ok(r) => r,
                Err(_) => Err(terminal_error(self.state()).unwrap_or(Error::Closed)),
            }
        }
    }

    fn server_path(&self, path: &str) -> Result<String> {
        validate_path(path)?;
        Ok(self.inner.chroot.apply(path))
    }

    /// The server path of a node to delete. The root cannot be deleted, and under a chroot
    /// "/" is the chroot node: refused too, as the reference client does, rather than
    /// deleting the node the whole client lives in.
    fn delete_path(&self, path: &str) -> Result<String> {
        let server = self.server_path(path)?;
        if path == "/" {
            return Err(Error::InvalidPath {
                path: path.to_string(),
                reason: "the root cannot be deleted",
            });
        }
        Ok(server)
    }

    fn client_path(&self, path: String) -> String {
        self.inner.chroot.strip_owned(path)
    }

    fn once() -> (Sink, OneshotWatch) {
        let (tx, rx) = oneshot::channel();
        (Sink::Once(Some(tx)), OneshotWatch { rx })
    }

    // ----- operations -----

    /// Creates a node with the client's default ACL; returns its actual path (with the
    /// sequence suffix for sequential modes) and Stat.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply; the node may still be created.
    pub async fn create(
        &self,
        path: &str,
        data: &[u8],
        mode: CreateMode,
    ) -> Result<(String, Stat)> {
        let acl = self.inner.default_acl.clone();
        self.create_with_acl(path, data, mode, acl).await
    }

    /// Creates a node with an explicit ACL.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply; the node may still be created.
    pub async fn create_with_acl(
        &self,
        path: &str,
        data: &[u8],
        mode: CreateMode,
        acl: Vec<Acl>,
    ) -> Result<(String, Stat)> {
        let request = self.create_request(path, data, mode, acl)?;
        match self.call(request, None).await? {
            Response::Create2 { path, stat } => Ok((self.client_path(path), stat)),
            other => Err(unexpected(other)),
        }
    }

    fn create_request(
        &self,
        path: &str,
        data: &[u8],
        mode: CreateMode,
        acl: Vec<Acl>,
    ) -> Result<Request> {
        if mode.is_sequential() {
            validate_sequential_prefix(path)?;
        } else {
            validate_path(path)?;
        }
        if acl.is_empty() {
            return Err(Error::InvalidArgument("ACL must not be empty".into()));
        }
        let server_path = self.inner.chroot.apply(path);
        let data = Bytes::copy_from_slice(data);
        let flags = mode.flags();
        Ok(match mode.ttl() {
            Some(ttl) => {
                let ttl = ttl.as_millis() as i64;
                if ttl <= 0 {
                    return Err(Error::InvalidArgument("TTL must be at least 1 ms".into()));
                }
                Request::CreateTtl(CreateTtlRequest {
                    path: server_path,
                    data,
                    acl,
                    flags,
                    ttl,
                })
            }
            None if mode == CreateMode::Container => Request::CreateContainer(CreateRequest {
                path: server_path,
                data,
                acl,
                flags,
            }),
            None => Request::Create2(CreateRequest {
                path: server_path,
                data,
                acl,
                flags,
            }),
        })
    }

    /// Deletes a node if its version matches (`None`: any version).
    ///
    /// **Cancel-safety:** a dropped call drops only the reply; the node may still be deleted.
    pub async fn delete(&self, path: &str, version: Option<i32>) -> Result<()> {
        let path = self.delete_path(path)?;
        let req = Request::Delete(DeleteRequest {
            path,
            version: self::version(version),
        });
        self.call(req, None).await.map(|_| ())
    }

    /// The node's Stat, or `None` if it does not exist.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply (a read changes nothing).
    pub async fn exists(&self, path: &str) -> Result<Option<Stat>> {
        let req = Request::Exists(PathWatchRequest {
            path: self.server_path(path)?,
            watch: false,
        });
        exists_result(self.call(req, None).await)
    }

    /// Like [`Client::exists`], and a watch that fires when the node is created (if missing),
    /// or changed or deleted (if present).
    ///
    /// **Cancel-safety:** a dropped call drops only the reply and its watch; the server may still
    /// set the watch, which then fires into nothing.
    pub async fn exists_w(&self, path: &str) -> Result<(Option<Stat>, OneshotWatch)> {
        let req = Request::Exists(PathWatchRequest {
            path: self.server_path(path)?,
            watch: true,
        });
        let (sink, w) = Self::once();
        let stat = exists_result(self.call(req, Some((WatchKind::Data, sink))).await)?;
        Ok((stat, w))
    }

    /// The node's data and Stat.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply (a read changes nothing).
    pub async fn get_data(&self, path: &str) -> Result<(Bytes, Stat)> {
        let req = Request::GetData(PathWatchRequest {
            path: self.server_path(path)?,
            watch: false,
        });
        data_result(self.call(req, None).await?)
    }

    /// Like [`Client::get_data`], and a watch that fires when the data changes or the node is
    /// deleted. (No watch is set if the node does not exist: use [`Client::exists_w`].)
    ///
    /// **Cancel-safety:** a dropped call drops only the reply and its watch; the server may still
    /// set the watch, which then fires into nothing.
    pub async fn get_data_w(&self, path: &str) -> Result<(Bytes, Stat, OneshotWatch)> {
        let req = Request::GetData(PathWatchRequest {
            path: self.server_path(path)?,
            watch: true,
        });
        let (sink, w) = Self::once();
        let (d, s) = data_result(self.call(req, Some((WatchKind::Data, sink))).await?)?;
        Ok((d, s, w))
    }

    /// Sets the node's data if its version matches (`None`: any version); returns the new Stat.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply; the data may still be set.
    pub async fn set_data(&self, path: &str, data: &[u8], version: Option<i32>) -> Result<Stat> {
        let req = Request::SetData(SetDataRequest {
            path: self.server_path(path)?,
            data: Bytes::copy_from_slice(data),
            version: self::version(version),
        });
        stat_result(self.call(req, None).await?)
    }

    /// The node's children (names, not paths, unsorted) and its Stat.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply (a read changes nothing).
    pub async fn get_children(&self, path: &str) -> Result<(Vec<String>, Stat)> {
        let req = Request::GetChildren2(PathWatchRequest {
            path: self.server_path(path)?,
            watch: false,
        });
        let (children, stat) = children_result(self.call(req, None).await?)?;
        Ok((children.to_vec(), stat))
    }

    /// Like [`Client::get_children`], with the names left in the reply's bytes: a
    /// [`ChildNames`] to iterate as `&str`, with no allocation per name (for listing large
    /// directories often, as the recipes' queues do). It holds the whole reply: drop it once
    /// the names are used.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply (a read changes nothing).
    pub async fn get_children_names(&self, path: &str) -> Result<(ChildNames, Stat)> {
        let req = Request::GetChildren2(PathWatchRequest {
            path: self.server_path(path)?,
            watch: false,
        });
        children_result(self.call(req, None).await?)
    }

    /// Like [`Client::get_children`], and a watch that fires when a child is added or removed
    /// or the node is deleted.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply and its watch; the server may still
    /// set the watch, which then fires into nothing.
    pub async fn get_children_w(&self, path: &str) -> Result<(Vec<String>, Stat, OneshotWatch)> {
        let req = Request::GetChildren2(PathWatchRequest {
            path: self.server_path(path)?,
            watch: true,
        });
        let (sink, w) = Self::once();
        let (c, s) = children_result(self.call(req, Some((WatchKind::Child, sink))).await?)?;
        Ok((c.to_vec(), s, w))
    }

    /// The node's ACL and Stat.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply (a read changes nothing).
    pub async fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat)> {
        let req = Request::GetAcl(PathRequest {
            path: self.server_path(path)?,
        });
        match self.call(req, None).await? {
            Response::GetAcl { acl, stat } => Ok((acl, stat)),
            other => Err(unexpected(other)),
        }
    }

    /// Sets the node's ACL if its ACL version matches (`None`: any version).
    ///
    /// **Cancel-safety:** a dropped call drops only the reply; the ACL may still be set.
    pub async fn set_acl(&self, path: &str, acl: Vec<Acl>, version: Option<i32>) -> Result<Stat> {
        if acl.is_empty() {
            return Err(Error::InvalidArgument("ACL must not be empty".into()));
        }
        let req = Request::SetAcl(SetAclRequest {
            path: self.server_path(path)?,
            acl,
            version: self::version(version),
        });
        stat_result(self.call(req, None).await?)
    }

    /// Waits until the server this client is connected to has caught up with the leader for
    /// `path`, so a following read sees every write committed before the call.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply (a sync changes nothing).
    pub async fn sync(&self, path: &str) -> Result<()> {
        let req = Request::Sync(PathRequest {
            path: self.server_path(path)?,
        });
        self.call(req, None).await.map(|_| ())
    }

    /// Runs `ops` as one transaction: all are applied, or none
    /// ([`Error::MultiFailed`] names the failing operation).
    ///
    /// ```no_run
    /// # async fn f(client: zksync::Client) -> zksync::Result<()> {
    /// use zksync::{CreateMode, Op};
    /// client.multi(vec![
    ///     Op::check("/config", Some(3)),
    ///     Op::create("/config/v4", b"...", CreateMode::Persistent),
    /// ]).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// **Cancel-safety:** a dropped call drops only the reply; the transaction may still be applied
    /// (all of it or none).
    pub async fn multi(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        let mut wire = Vec::with_capacity(ops.len());
        for op in ops {
            wire.push(match op {
                Op::Create {
                    path,
                    data,
                    mode,
                    acl,
                } => {
                    let acl = acl.unwrap_or_else(|| self.inner.default_acl.clone());
                    match self.create_request(&path, &data, mode, acl)? {
                        Request::Create2(r) => MultiOp::Create(r),
                        Request::CreateContainer(r) => MultiOp::CreateContainer(r),
                        Request::CreateTtl(r) => MultiOp::CreateTtl(r),
                        _ => unreachable!("create_request makes only create requests"),
                    }
                }
                Op::Delete { path, version } => MultiOp::Delete(DeleteRequest {
                    path: self.delete_path(&path)?,
                    version: self::version(version),
                }),
                Op::SetData {
                    path,
                    data,
                    version,
                } => MultiOp::SetData(SetDataRequest {
                    path: self.server_path(&path)?,
                    data,
                    version: self::version(version),
                }),
                Op::Check { path, version } => MultiOp::Check(CheckVersionRequest {
                    path: self.server_path(&path)?,
                    version: self::version(version),
                }),
            });
        }
        let results = match self.call(Request::Multi(wire), None).await? {
            Response::Multi(r) => r,
            other => return Err(unexpected(other)),
        };
        if let Some(index) = results.iter().position(|r| matches!(r, MultiResult::Error(c) if *c != ErrorCode::Ok && *c != ErrorCode::RuntimeInconsistency)) {
            let MultiResult::Error(code) = results[index] else { unreachable!() };
            return Err(Error::MultiFailed { index, code });
        }
        results
            .into_iter()
            .map(|r| match r {
                MultiResult::Create { path } => Ok(OpResult::Create {
                    path: self.client_path(path),
                    stat: None,
                }),
                MultiResult::Create2 { path, stat } => Ok(OpResult::Create {
                    path: self.client_path(path),
                    stat: Some(stat),
                }),
                MultiResult::Delete => Ok(OpResult::Delete),
                MultiResult::SetData { stat } => Ok(OpResult::SetData { stat }),
                MultiResult::Check => Ok(OpResult::Check),
                other => Err(Error::Protocol(format!(
                    "unexpected multi result {other:?}"
                ))),
            })
            .collect()
    }

    /// Runs several reads in one round trip. Each read succeeds or fails on its own.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply (reads change nothing).
    pub async fn multi_read(&self, ops: Vec<ReadOp>) -> Result<Vec<ReadResult>> {
        let mut wire = Vec::with_capacity(ops.len());
        for op in ops {
            wire.push(match op {
                ReadOp::GetData(p) => MultiReadOp::GetData(PathWatchRequest {
                    path: self.server_path(&p)?,
                    watch: false,
                }),
                ReadOp::GetChildren(p) => MultiReadOp::GetChildren(PathWatchRequest {
                    path: self.server_path(&p)?,
                    watch: false,
                }),
            });
        }
        match self.call(Request::MultiRead(wire), None).await? {
            Response::Multi(results) => Ok(results
                .into_iter()
                .map(|r| match r {
                    MultiResult::GetData { data, stat } => ReadResult::Data(data, stat),
                    MultiResult::GetChildren { children } => ReadResult::Children(children),
                    MultiResult::Error(code) => ReadResult::Error(Error::from_code(code)),
                    other => ReadResult::Error(Error::Protocol(format!(
                        "unexpected read result {other:?}"
                    ))),
                })
                .collect()),
            other => Err(unexpected(other)),
        }
    }

    /// Adds credentials to the session (e.g. `add_auth("digest", b"user:pw")`); they are
    /// re-sent after every reconnect. Wrong credentials end the session with
    /// [`Error::AuthFailed`].
    ///
    /// **Cancel-safety:** a dropped call drops only the reply; the credentials may still be added
    /// (and re-sent after reconnects).
    pub async fn add_auth(&self, scheme: &str, auth: &[u8]) -> Result<()> {
        let req = Request::Auth(crate::proto::AuthPacket {
            type_: 0,
            scheme: scheme.to_string(),
            auth: Bytes::copy_from_slice(auth),
        });
        self.call(req, None).await.map(|_| ())
    }

    /// Paths of the ephemeral nodes of this session whose path starts with `prefix`
    /// (`/` for all).
    ///
    /// **Cancel-safety:** a dropped call drops only the reply (a read changes nothing).
    pub async fn get_ephemerals(&self, prefix: &str) -> Result<Vec<String>> {
        let req = Request::GetEphemerals(PathRequest {
            path: self.server_path(prefix)?,
        });
        match self.call(req, None).await? {
            Response::Ephemerals(v) => Ok(v.into_iter().map(|p| self.client_path(p)).collect()),
            other => Err(unexpected(other)),
        }
    }

    /// Number of descendants of `path` (children, grandchildren, ...).
    ///
    /// **Cancel-safety:** a dropped call drops only the reply (a read changes nothing).
    pub async fn get_all_children_number(&self, path: &str) -> Result<i32> {
        let req = Request::GetAllChildrenNumber(PathRequest {
            path: self.server_path(path)?,
        });
        match self.call(req, None).await? {
            Response::AllChildrenNumber(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    /// The identities this session is authenticated as.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply (a read changes nothing).
    pub async fn who_am_i(&self) -> Result<Vec<ClientInfo>> {
        match self.call(Request::WhoAmI, None).await? {
            Response::WhoAmI(v) => Ok(v),
            other => Err(unexpected(other)),
        }
    }

    /// Adds a persistent watch on `path` (or its whole subtree, recursive mode). Events keep
    /// coming until the session ends or the watch is removed; it survives reconnects.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply and the watch; the server may still
    /// add the watch, whose events then go nowhere (it is not re-registered after a reconnect).
    pub async fn add_watch(&self, path: &str, mode: AddWatchMode) -> Result<PersistentWatch> {
        let (kind, m) = match mode {
            AddWatchMode::Persistent => (WatchKind::Persistent, add_watch_mode::PERSISTENT),
            AddWatchMode::PersistentRecursive => (
                WatchKind::PersistentRecursive,
                add_watch_mode::PERSISTENT_RECURSIVE,
            ),
        };
        let req = Request::AddWatch(AddWatchRequest {
            path: self.server_path(path)?,
            mode: m,
        });
        let (tx, rx) = mpsc::unbounded_channel();
        self.call(req, Some((kind, Sink::Stream(tx)))).await?;
        Ok(PersistentWatch { rx })
    }

    /// Removes this client's watches of `kind` on `path`, on the server and locally; each
    /// removed watch receives a `*WatchRemoved` event. Fails with `NoWatcher` if there is none.
    ///
    /// **Cancel-safety:** a dropped call drops only the reply; the watches may still be removed
    /// (and get their `*WatchRemoved` events).
    pub async fn remove_watches(&self, path: &str, kind: WatcherType) -> Result<()> {
        let req = Request::RemoveWatches(WatchesRequest {
            path: self.server_path(path)?,
            type_: kind.as_i32(),
        });
        self.call(req, None).await.map(|_| ())
    }

    /// Asks the server whether this client has watches of `kind` on `path` (`NoWatcher` if not).
    ///
    /// **Cancel-safety:** a dropped call drops only the reply (a check changes nothing).
    pub async fn check_watches(&self, path: &str, kind: WatcherType) -> Result<()> {
        let req = Request::CheckWatches(WatchesRequest {
            path: self.server_path(path)?,
            type_: kind.as_i32(),
        });
        self.call(req, None).await.map(|_| ())
    }
}

/// The error every call fails with in state `s`, if it is terminal.
pub(super) fn terminal_error(s: SessionState) -> Option<Error> {
    match s {
        SessionState::Expired => Some(Error::SessionExpired),
        SessionState::AuthFailed => Some(Error::AuthFailed),
        SessionState::Closed => Some(Error::Closed),
        _ => None,
    }
}

fn unexpected(r: Response) -> Error {
    Error::Protocol(format!("unexpected response {r:?}"))
}

fn exists_result(r: Result<Response>) -> Result<Option<Stat>> {
    match r {
        Ok(Response::Stat(s)) => Ok(Some(s)),
        Ok(other) => Err(unexpected(other)),
        Err(e) if e.is_no_node() => Ok(None),
        Err(e) => Err(e),
    }
}

fn data_result(r: Response) -> Result<(Bytes, Stat)> {
    match r {
        Response::GetData { data, stat } => Ok((data, stat)),
        other => Err(unexpected(other)),
    }
}

fn stat_result(r: Response) -> Result<Stat> {
    match r {
        Response::Stat(s) => Ok(s),
        other => Err(unexpected(other)),
    }
}

fn children_result(r: Response) -> Result<(ChildNames, Stat)> {
    match r {
        Response::Children2 { children, stat } => Ok((children, stat)),
        other => Err(unexpected(other)),
    }
}
