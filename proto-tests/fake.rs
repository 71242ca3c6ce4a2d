//! An in-process fake ZooKeeper server for the tests that need a server to misbehave or to
//! say what no real one can be made to say on cue: frames, replies and handshakes by hand.

use bytes::{Bytes, BytesMut};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zksync::proto::{
    encode_frame_with, ConnectRequest, ConnectResponse, Decode, Encode, ReplyHeader,
};
use zksync::{ConnectOptions, ErrorCode};

pub(crate) const FAKE_SESSION: i64 = 0x5eed_0000_0000_0001;

/// A fake server: runs `script(n, stream)` for the n-th accepted connection (from 0).
pub(crate) struct Fake {
    pub(crate) addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::AbortHandle,
}

impl Fake {
    pub(crate) async fn start<F, Fut>(script: F) -> Fake
    where
        F: Fn(usize, TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    return;
                };
                let n = count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(script(n, s));
            }
        })
        .abort_handle();
        Fake {
            addr,
            accepted,
            task,
        }
    }

    pub(crate) fn hosts(&self) -> String {
        self.addr.to_string()
    }

    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn opts() -> ConnectOptions {
    ConnectOptions::default()
        .session_timeout(Duration::from_secs(4))
        .connect_timeout(Duration::from_millis(500))
        .establish_timeout(Duration::from_secs(2))
}

pub(crate) fn frame(payload: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    encode_frame_with(&mut b, |b| b.extend_from_slice(payload));
    b.to_vec()
}

pub(crate) fn reply(xid: i32, err: ErrorCode, body: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    encode_frame_with(&mut b, |b| {
        ReplyHeader { xid, zxid: 1, err }.encode(b);
        b.extend_from_slice(body);
    });
    b.to_vec()
}

pub(crate) async fn read_frame(s: &mut TcpStream) -> Option<Bytes> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.ok()?;
    let len = i32::from_be_bytes(len);
    let len = usize::try_from(len).ok().filter(|&l| l <= 1 << 21)?;
    let mut buf = vec![0u8; len];
    s.read_exact(&mut buf).await.ok()?;
    Some(buf.into())
}

/// Reads the ConnectRequest.
pub(crate) async fn read_connect(s: &mut TcpStream) -> Option<ConnectRequest> {
    let mut f = read_frame(s).await?;
    ConnectRequest::decode(&mut f).ok()
}

pub(crate) fn connect_response(req: &ConnectRequest) -> Vec<u8> {
    let session_id = if req.session_id != 0 {
        req.session_id
    } else {
        FAKE_SESSION
    };
    connect_response_as(session_id, false)
}

/// A ConnectResponse granting `session_id`, from a read-only server if `read_only`.
pub(crate) fn connect_response_as(session_id: i64, read_only: bool) -> Vec<u8> {
    let resp = ConnectResponse {
        protocol_version: 0,
        time_out: 4000,
        session_id,
        passwd: Bytes::from_static(&[9; 16]),
        read_only,
    };
    let mut b = BytesMut::new();
    encode_frame_with(&mut b, |b| resp.encode(b));
    b.to_vec()
}

/// Reads the ConnectRequest and accepts it.
pub(crate) async fn handshake(s: &mut TcpStream) -> Option<()> {
    let req = read_connect(s).await?;
    s.write_all(&connect_response(&req)).await.ok()
}

/// Reads one request frame: (xid, op).
pub(crate) async fn read_request(s: &mut TcpStream) -> Option<(i32, i32)> {
    let f = read_frame(s).await?;
    if f.len() < 8 {
        return None;
    }
    Some((
        i32::from_be_bytes(f[0..4].try_into().unwrap()),
        i32::from_be_bytes(f[4..8].try_into().unwrap()),
    ))
}

/// A well-behaved server where no node exists: every request gets NONODE, pings, auth and
/// setWatches get OK, closeSession is answered and the connection closed.
pub(crate) async fn serve_well(mut s: TcpStream) {
    if handshake(&mut s).await.is_none() {
        return;
    }
    serve_requests(s).await
}

/// After the handshake: serves like [`serve_well`].
pub(crate) async fn serve_requests(mut s: TcpStream) {
    while let Some((x, op)) = read_request(&mut s).await {
        let err = if x < 0 || op == -11 {
            ErrorCode::Ok
        } else {
            ErrorCode::NoNode
        };
        if s.write_all(&reply(x, err, &[])).await.is_err() || op == -11 {
            return;
        }
    }
}

/// Holds the connection open, reading and ignoring everything.
pub(crate) async fn hold(mut s: TcpStream) {
    let mut sink = [0u8; 1024];
    while matches!(s.read(&mut sink).await, Ok(n) if n > 0) {}
}
