//! A tiny TCP forwarder on 127.0.0.1 to one ZooKeeper server, that a test (or the demo) can cut,
//! cut off or black-hole, to make one client lose its connection (or its whole session) while
//! the others stay connected.
//!
//! It follows the ZooKeeper framing in both directions (4-byte length; the first frame each way
//! is the handshake, then request headers `xid, op` and reply headers `xid, zxid, err`), so a
//! cut can be aimed at one request and can report what it did: which request got through and
//! how the server answered the reply it swallowed.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use zksync::proto::OpCode;

/// How long a cut waits for the server's reply to the request it let through.
const REPLY_WAIT: Duration = Duration::from_secs(5);

/// A connection cut by [`Forwarder::cut_after_next_request`] or [`Forwarder::cut_after_next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The request that reached the server just before the cut.
    pub op: OpCode,
    /// Its xid.
    pub xid: i32,
    /// The error code of the server's reply to it, read and dropped by the forwarder (so the
    /// server did process the request): `Some(0)` means it was applied. `None` if no reply
    /// came within 5 s.
    pub reply_err: Option<i32>,
}

/// Which request a cut waits for.
enum Arm {
    /// Any request but a ping.
    Any,
    /// The first request with one of these ops.
    Ops(Vec<OpCode>),
}

impl Arm {
    fn matches(&self, op: OpCode) -> bool {
        match self {
            Arm::Any => op != OpCode::Ping,
            Arm::Ops(ops) => ops.contains(&op),
        }
    }
}

#[derive(Default)]
struct Flags {
    /// Relay nothing (bytes are held back, new connections hang): a partition.
    blackhole: AtomicBool,
    /// Close new connections right after accepting them (set by `cut_off`).
    refuse: AtomicBool,
    /// Forward up to a matching request, then close that connection without relaying replies.
    armed: Mutex<Option<Arm>>,
    /// Bumped to close every current connection.
    generation: AtomicU64,
    /// Connections accepted so far.
    accepted: AtomicUsize,
    /// Connections open now.
    active: AtomicUsize,
}

/// A forwarder from `addr` to one ZooKeeper server. Dropping it closes every connection.
pub struct Forwarder {
    /// Where clients connect (`127.0.0.1:<port>`): the connect string for this forwarder.
    pub addr: String,
    flags: Arc<Flags>,
    cut_tx: watch::Sender<u64>,
    cuts: watch::Receiver<Vec<Cut>>,
    task: tokio::task::JoinHandle<()>,
}

impl Forwarder {
    pub async fn start(target: &str) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let flags = Arc::new(Flags::default());
        let (cut_tx, cut_rx) = watch::channel(0u64);
        let (cuts_tx, cuts) = watch::channel(Vec::new());
        let cuts_tx = Arc::new(cuts_tx);
        let target = target.to_string();
        let f = flags.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    return;
                };
                f.accepted.fetch_add(1, Ordering::SeqCst);
                // The cut generation this connection belongs to, taken before `refuse` is
                // read: a `cut_off` after this point is seen either way.
                let mut cut_rx = cut_rx.clone();
                let start_gen = *cut_rx.borrow_and_update();
                if f.refuse.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let _ = inbound.set_nodelay(true);
                let (target, flags, cuts_tx) = (target.clone(), f.clone(), cuts_tx.clone());
                tokio::spawn(async move {
                    flags.active.fetch_add(1, Ordering::SeqCst);
                    relay(inbound, &target, &flags, start_gen, cut_rx, &cuts_tx).await;
                    flags.active.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Forwarder {
            addr,
            flags,
            cut_tx,
            cuts,
            task,
        }
    }

    /// Closes every current connection (the session survives; the client reconnects, through
    /// this forwarder too).
    pub fn cut(&self) {
        let g = self.flags.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.cut_tx.send(g);
    }

    /// Closes every current connection and, until [`Forwarder::restore`], closes new ones right
    /// after accepting them: the client loses its connection and cannot get a new one through
    /// this forwarder, while its session lives on in the ensemble (until it expires).
    pub fn cut_off(&self) {
        self.flags.refuse.store(true, Ordering::SeqCst);
        self.cut();
    }

    /// Ends a [`Forwarder::cut_off`]: new connections are relayed again.
    pub fn restore(&self) {
        self.flags.refuse.store(false, Ordering::SeqCst);
    }

    /// Partition on/off. Turning it off also closes the held connections.
    pub fn blackhole(&self, on: bool) {
        self.flags.blackhole.store(on, Ordering::SeqCst);
        if !on {
            self.cut();
        }
    }

    /// The next request (pings do not count) reaches the server, but its connection drops
    /// before the reply: the forwarder reads the server's reply and throws it away, then
    /// closes the connection. Later connections are relayed normally.
    pub fn cut_after_next_request(&self) {
        *self.flags.armed.lock().unwrap() = Some(Arm::Any);
    }

    /// As [`Forwarder::cut_after_next_request`], for the next request with one of `ops`
    /// (other requests before it are relayed normally).
    pub fn cut_after_next(&self, ops: &[OpCode]) {
        *self.flags.armed.lock().unwrap() = Some(Arm::Ops(ops.to_vec()));
    }

    /// The cuts made so far.
    pub fn cuts(&self) -> Vec<Cut> {
        self.cuts.borrow().clone()
    }

    /// Waits until `n` cuts were made (the cut connections are closed); returns all of them.
    /// Not hang-guarded: wrap it in a guard.
    pub async fn wait_cuts(&self, n: usize) -> Vec<Cut> {
        let mut rx = self.cuts.clone();
        let cuts = rx
            .wait_for(|c| c.len() >= n)
            .await
            .expect("forwarder gone")
            .clone();
        cuts
    }

    /// Connections accepted so far (also those closed at once during a cut-off).
    pub fn accepted(&self) -> usize {
        self.flags.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub fn active(&self) -> usize {
        self.flags.active.load(Ordering::SeqCst)
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

/// Splits one direction of a connection into frames; the first frame is the handshake.
#[derive(Default)]
struct Frames {
    buf: Vec<u8>,
    seen: usize,
}

impl Frames {
    /// Adds bytes; returns the headers' first 16 bytes (or fewer) of every frame completed,
    /// skipping the handshake.
    fn push(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while self.buf.len() >= 4 {
            let len = i32::from_be_bytes(self.buf[..4].try_into().unwrap()).max(0) as usize;
            if self.buf.len() < 4 + len {
                break;
            }
            let frame: Vec<u8> = self.buf.drain(..4 + len).skip(4).take(16).collect();
            self.seen += 1;
            if self.seen > 1 {
                out.push(frame);
            }
        }
        out
    }
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Relays one connection until either side closes it or a cut (a generation after
/// `start_gen`) ends it.
async fn relay(
    mut inbound: TcpStream,
    target: &str,
    flags: &Flags,
    start_gen: u64,
    mut cut_rx: watch::Receiver<u64>,
    cuts: &watch::Sender<Vec<Cut>>,
) {
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        return;
    };
    let _ = outbound.set_nodelay(true);
    let (mut ri, mut wi) = inbound.split();
    let (mut ro, mut wo) = outbound.split();
    let mut bi = vec![0u8; 64 * 1024];
    let mut bo = vec![0u8; 64 * 1024];
    let (mut requests, mut replies) = (Frames::default(), Frames::default());
    loop {
        if flags.blackhole.load(Ordering::SeqCst) {
            // Hold everything until the partition ends (then cut() closes us).
            if cut_rx.changed().await.is_err() || *cut_rx.borrow() != start_gen {
                return;
            }
            continue;
        }
        tokio::select! {
            r = ri.read(&mut bi) => {
                let n = match r { Ok(0) | Err(_) => return, Ok(n) => n };
                if flags.blackhole.load(Ordering::SeqCst) { continue; }
                if wo.write_all(&bi[..n]).await.is_err() { return; }
                let hit = requests.push(&bi[..n]).into_iter().find_map(|h| {
                    let (xid, op) = (be_i32(&h, 0)?, OpCode::from_i32(be_i32(&h, 4)?));
                    let mut armed = flags.armed.lock().unwrap();
                    if armed.as_ref().is_some_and(|a| a.matches(op)) {
                        *armed = None;
                        Some((xid, op))
                    } else {
                        None
                    }
                });
                if let Some((xid, op)) = hit {
                    // The request is with the server: swallow its reply (the proof it was
                    // processed), then vanish without having relayed it.
                    let _ = wo.flush().await;
                    let reply_err = tokio::time::timeout(REPLY_WAIT, async {
                        loop {
                            let n = match ro.read(&mut bo).await {
                                Ok(0) | Err(_) => return None,
                                Ok(n) => n,
                            };
                            for h in replies.push(&bo[..n]) {
                                if be_i32(&h, 0) == Some(xid) {
                                    return be_i32(&h, 12);
                                }
                            }
                        }
                    })
                    .await
                    .ok()
                    .flatten();
                    cuts.send_modify(|c| c.push(Cut { op, xid, reply_err }));
                    return;
                }
            }
            r = ro.read(&mut bo) => {
                let n = match r { Ok(0) | Err(_) => return, Ok(n) => n };
                if flags.blackhole.load(Ordering::SeqCst) { continue; }
                if wi.write_all(&bo[..n]).await.is_err() { return; }
                replies.push(&bo[..n]);
            }
            _ = cut_rx.changed() => return,
        }
    }
}
