//! A tiny in-memory ZooKeeper server ([`MemZk`]) that speaks enough of the protocol for the
//! recipes to run against it, and can lose a create's reply and then lag: the situation a
//! real ensemble cannot be made to produce on cue (the client reconnects to a server that has
//! not applied the create yet).
//!
//! Supported: handshake (new sessions and resumption of a known one; an unknown session is
//! told it expired), ping, auth, setWatches(2), checkWatches/removeWatches (always OK),
//! create/create2/createContainer/createTTL (persistent, ephemeral, sequential with a
//! per-parent `%010d` counter; NoNode, NodeExists, NoChildrenForEphemerals), delete (version,
//! NotEmpty), exists, getData, setData, getChildren, getChildren2, sync, multi (create, delete,
//! setData, check; atomic), multiRead, closeSession (removes the session's ephemeral nodes).
//! Anything else gets `Unimplemented`. Watches are accepted and never fire; sessions never
//! expire on their own; ACLs are ignored.
//!
//! The fault ([`MemZk::lose_next_create_reply_under`]): the next successful create of a child
//! of the given parent is applied, then its connection is closed without an answer (nor an
//! answer to anything sent after it). From then on the server "lags": reads (exists, getData,
//! getChildren, multiRead) do not show that node until a `sync`; after a sync they show
//! everything. Writes always see the whole tree (a follower forwards them to the leader).

use crate::fake::{opts, read_frame};
use bytes::{Bytes, BytesMut};
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use zksync::proto::{
    create_mode, encode_frame_with, ConnectRequest, ConnectResponse, CreateRequest, Decode, Encode,
    MultiOp, MultiReadOp, MultiResult, ReplyHeader, Request, RequestHeader, Response,
};
use zksync::recipes::RwLock;
use zksync::{ErrorCode, Stat};
use zksync_test_support::guard;

/// The first session id [`MemZk`] hands out (then +1 for each new session).
pub(crate) const MEM_SESSION: i64 = 0x6d65_6d00_0000_0001;

#[derive(Debug, Clone)]
struct Node {
    data: Bytes,
    stat: Stat,
    /// The counter for sequential children.
    seq: i32,
}

#[derive(Debug, Clone, Default)]
struct Tree {
    nodes: BTreeMap<String, Node>,
    zxid: i64,
    sessions: HashSet<i64>,
    next_session: i64,
    /// The armed fault: lose the reply of the next successful create below this parent.
    lose_create_under: Option<String>,
    /// Applied, but not visible to reads until a sync.
    lagging: HashSet<String>,
    /// Every node created, in order.
    creates: Vec<String>,
    /// Creates whose reply was lost.
    lost_replies: Vec<String>,
    /// Sync requests served.
    syncs: usize,
}

/// What to do with the connection after a request.
enum Flow {
    Answer,
    AnswerAndClose,
    /// Close the connection without answering.
    Drop,
}

fn parent_of(path: &str) -> Option<&str> {
    if path == "/" || !path.starts_with('/') || path.ends_with('/') {
        return None;
    }
    let i = path.rfind('/')?;
    Some(if i == 0 { "/" } else { &path[..i] })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Tree {
    fn new() -> Tree {
        let mut t = Tree {
            next_session: MEM_SESSION,
            ..Tree::default()
        };
        t.nodes.insert(
            "/".into(),
            Node {
                data: Bytes::new(),
                stat: Stat::default(),
                seq: 0,
            },
        );
        t
    }

    fn children_of(&self, path: &str) -> Vec<String> {
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| k.len() > prefix.len() && !k[prefix.len()..].contains('/'))
            .map(|(k, _)| k[prefix.len()..].to_string())
            .collect()
    }

    /// The node as a (possibly lagging) server's reads see it.
    fn visible(&self, path: &str) -> Option<&Node> {
        if self.lagging.contains(path) {
            return None;
        }
        self.nodes.get(path)
    }

    fn visible_children(&self, path: &str) -> Result<Vec<String>, ErrorCode> {
        self.visible(path).ok_or(ErrorCode::NoNode)?;
        Ok(self
            .children_of(path)
            .into_iter()
            .filter(|c| !self.lagging.contains(&join(path, c)))
            .collect())
    }

    fn create(&mut self, session: i64, r: &CreateRequest) -> Result<(String, Stat), ErrorCode> {
        use create_mode::*;
        let sequential = matches!(
            r.flags,
            PERSISTENT_SEQUENTIAL | EPHEMERAL_SEQUENTIAL | PERSISTENT_SEQUENTIAL_WITH_TTL
        );
        let ephemeral = matches!(r.flags, EPHEMERAL | EPHEMERAL_SEQUENTIAL);
        let parent = parent_of(&r.path).ok_or(ErrorCode::BadArguments)?;
        let pnode = self.nodes.get_mut(parent).ok_or(ErrorCode::NoNode)?;
        if pnode.stat.ephemeral_owner != 0 {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let path = if sequential {
            let p = format!("{}{:010}", r.path, pnode.seq);
            pnode.seq += 1;
            p
        } else {
            r.path.clone()
        };
        if self.nodes.contains_key(&path) {
            return Err(ErrorCode::NodeExists);
        }
        self.zxid += 1;
        let zxid = self.zxid;
        let pnode = self.nodes.get_mut(parent).expect("parent");
        pnode.stat.cversion += 1;
        pnode.stat.num_children += 1;
        pnode.stat.pzxid = zxid;
        let now = now_ms();
        let stat = Stat {
            czxid: zxid,
            mzxid: zxid,
            ctime: now,
            mtime: now,
            pzxid: zxid,
            ephemeral_owner: if ephemeral { session } else { 0 },
            data_length: r.data.len() as i32,
            ..Stat::default()
        };
        self.nodes.insert(
            path.clone(),
            Node {
                data: r.data.clone(),
                stat: stat.clone(),
                seq: 0,
            },
        );
        self.creates.push(path.clone());
        Ok((path, stat))
    }

    fn delete(&mut self, path: &str, version: i32) -> Result<(), ErrorCode> {
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        let parent = parent_of(path).ok_or(ErrorCode::BadArguments)?.to_string();
        if version != -1 && version != node.stat.version {
            return Err(ErrorCode::BadVersion);
        }
        if !self.children_of(path).is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        self.nodes.remove(path);
        self.lagging.remove(path);
        self.zxid += 1;
        let pnode = self.nodes.get_mut(&parent).expect("parent");
        pnode.stat.cversion += 1;
        pnode.stat.num_children -= 1;
        pnode.stat.pzxid = self.zxid;
        Ok(())
    }

    fn set_data(&mut self, path: &str, data: &Bytes, version: i32) -> Result<Stat, ErrorCode> {
        self.zxid += 1;
        let zxid = self.zxid;
        let node = self.nodes.get_mut(path).ok_or(ErrorCode::NoNode)?;
        if version != -1 && version != node.stat.version {
            return Err(ErrorCode::BadVersion);
        }
        node.data = data.clone();
        node.stat.version += 1;
        node.stat.mzxid = zxid;
        node.stat.mtime = now_ms();
        node.stat.data_length = data.len() as i32;
        Ok(node.stat.clone())
    }

    fn check(&self, path: &str, version: i32) -> Result<(), ErrorCode> {
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        if version != -1 && version != node.stat.version {
            return Err(ErrorCode::BadVersion);
        }
        Ok(())
    }

    fn multi_op(&mut self, session: i64, op: &MultiOp) -> Result<MultiResult, ErrorCode> {
        Ok(match op {
            // A 3.8 server answers create2 inside a multi with a plain create result.
            MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => {
                MultiResult::Create {
                    path: self.create(session, r)?.0,
                }
            }
            MultiOp::CreateTtl(r) => MultiResult::Create {
                path: self.create(session, &ttl_as_create(r))?.0,
            },
            MultiOp::Delete(r) => {
                self.delete(&r.path, r.version)?;
                MultiResult::Delete
            }
            MultiOp::SetData(r) => MultiResult::SetData {
                stat: self.set_data(&r.path, &r.data, r.version)?,
            },
            MultiOp::Check(r) => {
                self.check(&r.path, r.version)?;
                MultiResult::Check
            }
            _ => return Err(ErrorCode::Unimplemented),
        })
    }

    fn read_op(&self, op: &MultiReadOp) -> MultiResult {
        match op {
            MultiReadOp::GetData(r) => match self.visible(&r.path) {
                Some(n) => MultiResult::GetData {
                    data: n.data.clone(),
                    stat: n.stat.clone(),
                },
                None => MultiResult::Error(ErrorCode::NoNode),
            },
            MultiReadOp::GetChildren(r) => match self.visible_children(&r.path) {
                Ok(children) => MultiResult::GetChildren { children },
                Err(e) => MultiResult::Error(e),
            },
            _ => MultiResult::Error(ErrorCode::Unimplemented),
        }
    }

    fn handle(&mut self, session: i64, req: Request) -> (Result<Response, ErrorCode>, Flow) {
        use Request as R;
        let answer = |r| (r, Flow::Answer);
        match req {
            R::Create(ref r) | R::Create2(ref r) | R::CreateContainer(ref r) => {
                let plain = matches!(req, R::Create(_));
                let result = self.create(session, r);
                if let Ok((path, _)) = &result {
                    if parent_of(path) == self.lose_create_under.as_deref() {
                        self.lose_create_under = None;
                        self.lagging.insert(path.clone());
                        self.lost_replies.push(path.clone());
                        return (Err(ErrorCode::ConnectionLoss), Flow::Drop);
                    }
                }
                answer(result.map(|(path, stat)| {
                    if plain {
                        Response::Create { path }
                    } else {
                        Response::Create2 { path, stat }
                    }
                }))
            }
            R::CreateTtl(r) => answer(
                self.create(session, &ttl_as_create(&r))
                    .map(|(path, stat)| Response::Create2 { path, stat }),
            ),
            R::Delete(r) => answer(self.delete(&r.path, r.version).map(|()| Response::Empty)),
            R::Exists(r) => answer(
                self.visible(&r.path)
                    .map(|n| Response::Stat(n.stat.clone()))
                    .ok_or(ErrorCode::NoNode),
            ),
            R::GetData(r) => answer(
                self.visible(&r.path)
                    .map(|n| Response::GetData {
                        data: n.data.clone(),
                        stat: n.stat.clone(),
                    })
                    .ok_or(ErrorCode::NoNode),
            ),
            R::SetData(r) => answer(
                self.set_data(&r.path, &r.data, r.version)
                    .map(Response::Stat),
            ),
            R::GetChildren(r) => answer(
                self.visible_children(&r.path)
                    .map(|children| Response::Children(children.iter().collect())),
            ),
            R::GetChildren2(r) => {
                answer(
                    self.visible_children(&r.path)
                        .map(|children| Response::Children2 {
                            children: children.iter().collect(),
                            stat: self.nodes[&r.path].stat.clone(),
                        }),
                )
            }
            R::Sync(r) => {
                // The server catches up with the leader: everything is visible from now on.
                self.syncs += 1;
                self.lagging.clear();
                answer(Ok(Response::Sync { path: r.path }))
            }
            R::Multi(ops) => {
                let before = self.clone();
                let mut results = Vec::new();
                for (i, op) in ops.iter().enumerate() {
                    match self.multi_op(session, op) {
                        Ok(r) => results.push(r),
                        Err(code) => {
                            *self = before;
                            let results = (0..ops.len())
                                .map(|j| {
                                    MultiResult::Error(match j.cmp(&i) {
                                        std::cmp::Ordering::Less => ErrorCode::Ok,
                                        std::cmp::Ordering::Equal => code,
                                        std::cmp::Ordering::Greater => {
                                            ErrorCode::RuntimeInconsistency
                                        }
                                    })
                                })
                                .collect();
                            return answer(Ok(Response::Multi(results)));
                        }
                    }
                }
                answer(Ok(Response::Multi(results)))
            }
            R::MultiRead(ops) => answer(Ok(Response::Multi(
                ops.iter().map(|op| self.read_op(op)).collect(),
            ))),
            R::Ping
            | R::Auth(_)
            | R::SetWatches(_)
            | R::SetWatches2(_)
            | R::CheckWatches(_)
            | R::RemoveWatches(_) => answer(Ok(Response::Empty)),
            R::CloseSession => {
                let mine: Vec<String> = self
                    .nodes
                    .iter()
                    .filter(|(_, n)| n.stat.ephemeral_owner == session)
                    .map(|(k, _)| k.clone())
                    .collect();
                for p in mine {
                    let _ = self.delete(&p, -1);
                }
                self.sessions.remove(&session);
                (Ok(Response::Empty), Flow::AnswerAndClose)
            }
            _ => answer(Err(ErrorCode::Unimplemented)),
        }
    }

    fn connect(&mut self, req: &ConnectRequest) -> ConnectResponse {
        let session_id = if req.session_id == 0 {
            let id = self.next_session;
            self.next_session += 1;
            self.sessions.insert(id);
            id
        } else if self.sessions.contains(&req.session_id) {
            req.session_id
        } else {
            // Unknown session: the expired answer.
            return ConnectResponse {
                protocol_version: 0,
                time_out: 0,
                session_id: 0,
                passwd: Bytes::from_static(&[0; 16]),
                read_only: false,
            };
        };
        ConnectResponse {
            protocol_version: 0,
            time_out: req.time_out,
            session_id,
            passwd: Bytes::from_static(&[9; 16]),
            read_only: false,
        }
    }
}

fn ttl_as_create(r: &zksync::proto::CreateTtlRequest) -> CreateRequest {
    CreateRequest {
        path: r.path.clone(),
        data: r.data.clone(),
        acl: r.acl.clone(),
        flags: r.flags,
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The in-memory server: a listener on 127.0.0.1 and the shared tree.
pub(crate) struct MemZk {
    pub(crate) addr: SocketAddr,
    tree: Arc<Mutex<Tree>>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::AbortHandle,
}

impl MemZk {
    pub(crate) async fn start() -> MemZk {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tree = Arc::new(Mutex::new(Tree::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (t, a) = (tree.clone(), accepted.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    return;
                };
                a.fetch_add(1, Ordering::SeqCst);
                let _ = s.set_nodelay(true);
                tokio::spawn(serve(t.clone(), s));
            }
        })
        .abort_handle();
        MemZk {
            addr,
            tree,
            accepted,
            task,
        }
    }

    pub(crate) fn hosts(&self) -> String {
        self.addr.to_string()
    }

    /// Connections accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Creates a persistent node (its parent must exist), as set-up.
    pub(crate) fn create_persistent(&self, path: &str) {
        let req = CreateRequest {
            path: path.into(),
            flags: create_mode::PERSISTENT,
            ..CreateRequest::default()
        };
        self.tree
            .lock()
            .unwrap()
            .create(0, &req)
            .unwrap_or_else(|e| panic!("create {path}: {e:?}"));
    }

    /// Arms the fault: the next successful create of a child of `parent` is applied, its
    /// connection closed without an answer, and the node hidden from reads until a sync.
    pub(crate) fn lose_next_create_reply_under(&self, parent: &str) {
        self.tree.lock().unwrap().lose_create_under = Some(parent.into());
    }

    /// Every node created so far (full paths, in order), set-up included.
    pub(crate) fn creates(&self) -> Vec<String> {
        self.tree.lock().unwrap().creates.clone()
    }

    /// The creates whose reply was lost.
    pub(crate) fn lost_replies(&self) -> Vec<String> {
        self.tree.lock().unwrap().lost_replies.clone()
    }

    /// The children of `path` as they really are (not as a lagging read sees them).
    pub(crate) fn children(&self, path: &str) -> Vec<String> {
        self.tree.lock().unwrap().children_of(path)
    }

    /// Sync requests served so far.
    pub(crate) fn syncs(&self) -> usize {
        self.tree.lock().unwrap().syncs
    }
}

impl Drop for MemZk {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply_frame(xid: i32, zxid: i64, result: &Result<Response, ErrorCode>) -> Vec<u8> {
    let mut b = BytesMut::new();
    encode_frame_with(&mut b, |b| {
        let err = match result {
            Ok(_) => ErrorCode::Ok,
            Err(e) => *e,
        };
        ReplyHeader { xid, zxid, err }.encode(b);
        if let Ok(r) = result {
            r.encode_body(b);
        }
    });
    b.to_vec()
}

async fn serve(tree: Arc<Mutex<Tree>>, mut s: TcpStream) {
    let Some(mut f) = read_frame(&mut s).await else {
        return;
    };
    let Ok(req) = ConnectRequest::decode(&mut f) else {
        return;
    };
    let resp = tree.lock().unwrap().connect(&req);
    let mut b = BytesMut::new();
    encode_frame_with(&mut b, |b| resp.encode(b));
    if s.write_all(&b).await.is_err() || resp.session_id == 0 {
        return;
    }
    let session = resp.session_id;
    while let Some(mut f) = read_frame(&mut s).await {
        let Ok(header) = RequestHeader::decode(&mut f) else {
            return;
        };
        let Ok(req) = Request::decode(header.op, &mut f) else {
            return;
        };
        let (frame, flow) = {
            let mut t = tree.lock().unwrap();
            let (result, flow) = t.handle(session, req);
            (reply_frame(header.xid, t.zxid, &result), flow)
        };
        match flow {
            Flow::Drop => return,
            Flow::Answer => {
                if s.write_all(&frame).await.is_err() {
                    return;
                }
            }
            Flow::AnswerAndClose => {
                let _ = s.write_all(&frame).await;
                return;
            }
        }
    }
}

#[tokio::test]
async fn mem_zk_serves_the_client() {
    // The fake itself: enough of ZooKeeper for a lock round and the usual calls.
    let zk = MemZk::start().await;
    let c = guard("connect", opts().connect(&zk.hosts())).await.unwrap();
    let (p, st) = c
        .create("/a", b"x", zksync::CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!((p.as_str(), st.version), ("/a", 0));
    let (s1, _) = c
        .create("/a/n-", b"", zksync::CreateMode::EphemeralSequential)
        .await
        .unwrap();
    let (s2, st2) = c
        .create("/a/n-", b"", zksync::CreateMode::EphemeralSequential)
        .await
        .unwrap();
    assert_eq!(
        (s1.as_str(), s2.as_str()),
        ("/a/n-0000000000", "/a/n-0000000001")
    );
    assert_eq!(st2.ephemeral_owner, c.session_id());
    assert!(st2.czxid > st.czxid);
    assert_eq!(
        c.create("/a", b"", zksync::CreateMode::Persistent).await,
        Err(zksync::Error::Server(ErrorCode::NodeExists))
    );
    assert_eq!(
        c.create("/b/c", b"", zksync::CreateMode::Persistent).await,
        Err(zksync::Error::Server(ErrorCode::NoNode))
    );
    let (mut children, _) = c.get_children("/a").await.unwrap();
    children.sort();
    assert_eq!(children, vec!["n-0000000000", "n-0000000001"]);
    c.sync("/a").await.unwrap();
    c.set_data("/a", b"y", Some(0)).await.unwrap();
    assert_eq!(&c.get_data("/a").await.unwrap().0[..], b"y");
    assert_eq!(
        c.delete("/a", None).await,
        Err(zksync::Error::Server(ErrorCode::NotEmpty))
    );
    let g = guard("write lock", RwLock::new(c.clone(), "/l/lock").write())
        .await
        .unwrap();
    assert_eq!(zk.children("/l/lock").len(), 1);
    g.unlock().await.unwrap();
    assert!(zk.children("/l/lock").is_empty());
    c.close().await;
    assert!(
        zk.children("/a").is_empty(),
        "closeSession removes ephemerals"
    );
}

#[tokio::test]
async fn a_lost_create_reply_and_a_lagging_server_make_no_second_lock_node() {
    let zk = MemZk::start().await;
    zk.create_persistent("/lag");
    zk.create_persistent("/lag/lock");
    let c = guard("connect", opts().connect(&zk.hosts())).await.unwrap();
    zk.lose_next_create_reply_under("/lag/lock");
    let g = guard("write lock", RwLock::new(c.clone(), "/lag/lock").write())
        .await
        .unwrap();
    // The fault landed: the lock node's create was applied, its reply lost, and the client
    // came back on a new connection (same session).
    let lost = zk.lost_replies();
    assert_eq!(lost.len(), 1, "one create reply lost: {lost:?}");
    assert!(zk.accepted() >= 2, "the client reconnected");
    let made: Vec<String> = zk
        .creates()
        .into_iter()
        .filter(|p| p.starts_with("/lag/lock/"))
        .collect();
    eprintln!("lock nodes created: {made:?}, syncs: {}", zk.syncs());
    assert_eq!(
        made, lost,
        "the lock node whose reply was lost must be adopted, not joined by a second one"
    );
    assert_eq!(zk.children("/lag/lock").len(), 1);
    assert_eq!(
        g.node_path(),
        lost[0],
        "the guard holds the node that was created"
    );
    g.unlock().await.unwrap();
    assert!(zk.children("/lag/lock").is_empty());
    c.close().await;
}
