//! A tiny TCP forwarder on 127.0.0.1 that a test can cut or black-hole, to make one client
//! lose its connection (or its whole session) while the others stay connected.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Default)]
struct Flags {
    /// Relay nothing (bytes are held back, new connections hang): a partition.
    blackhole: AtomicBool,
    /// Forward the next client chunk, then close that connection without relaying replies.
    cut_after_next_request: AtomicBool,
    /// Bumped to close every current connection.
    generation: AtomicU64,
}

/// A forwarder from `addr` to one ZooKeeper server.
pub struct Forwarder {
    pub addr: String,
    flags: Arc<Flags>,
    cut_tx: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Forwarder {
    pub async fn start(target: &str) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let flags = Arc::new(Flags::default());
        let (cut_tx, cut_rx) = watch::channel(0u64);
        let target = target.to_string();
        let f = flags.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    return;
                };
                let _ = inbound.set_nodelay(true);
                let (target, flags, cut_rx) = (target.clone(), f.clone(), cut_rx.clone());
                tokio::spawn(async move { relay(inbound, &target, flags, cut_rx).await });
            }
        });
        Forwarder {
            addr,
            flags,
            cut_tx,
            task,
        }
    }

    /// Closes every current connection (the session survives; the client reconnects).
    pub fn cut(&self) {
        let g = self.flags.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.cut_tx.send(g);
    }

    /// Partition on/off. Turning it off also closes the held connections.
    pub fn blackhole(&self, on: bool) {
        self.flags.blackhole.store(on, Ordering::SeqCst);
        if !on {
            self.cut();
        }
    }

    /// The next request reaches the server, but its connection drops before any reply.
    pub fn cut_after_next_request(&self) {
        self.flags
            .cut_after_next_request
            .store(true, Ordering::SeqCst);
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

async fn relay(
    mut inbound: TcpStream,
    target: &str,
    flags: Arc<Flags>,
    mut cut_rx: watch::Receiver<u64>,
) {
    let start_gen = *cut_rx.borrow_and_update();
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        return;
    };
    let _ = outbound.set_nodelay(true);
    let (mut ri, mut wi) = inbound.split();
    let (mut ro, mut wo) = outbound.split();
    let mut bi = vec![0u8; 64 * 1024];
    let mut bo = vec![0u8; 64 * 1024];
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
                if flags.cut_after_next_request.swap(false, Ordering::SeqCst) {
                    // Give the server time to read the request before we vanish.
                    let _ = wo.flush().await;
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    return;
                }
            }
            r = ro.read(&mut bo) => {
                let n = match r { Ok(0) | Err(_) => return, Ok(n) => n };
                if flags.blackhole.load(Ordering::SeqCst) { continue; }
                if wi.write_all(&bo[..n]).await.is_err() { return; }
            }
            _ = cut_rx.changed() => return,
        }
    }
}
