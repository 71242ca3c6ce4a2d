//! The scale scenarios of issue 16: how cost grows with contenders, waiters, locks held and
//! watches (`handoff` and `double-barrier` in bench.rs take `--clients` up to thousands too).
//!
//! Memory is reported three ways, because they answer different questions:
//! - `max_rss_kb`: the process's peak RSS (VmHWM), what `/usr/bin/time` reports;
//! - `rss_kb`: RSS at the scenario's steady point (all sessions up, everything held or queued);
//! - `heap_kb`: live heap bytes at that point, counted by the bench binary's global allocator
//!   (exact, unlike RSS, which keeps what the allocator has not returned to the kernel).
//!
//! `*_per_session_kb` subtract what the process had before the sessions were opened and divide
//! by their number.

use super::{connect, ms, percentile, root, sorted, Args, Outcome};
use futures_util::stream::{self, FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zksync::recipes::RwLock;
use zksync::{Client, CreateMode, SessionState};

/// The system allocator, counting live bytes (one relaxed atomic add per call).
pub struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only a counter is updated besides.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(l);
        if !p.is_null() {
            LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        }
        q
    }
}

/// Live heap, kB.
pub fn heap_kb() -> i64 {
    LIVE.load(Ordering::Relaxed) as i64 / 1024
}

/// Current RSS (VmRSS), kB.
pub fn rss_kb() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Peak RSS (VmHWM), kB.
pub fn peak_rss_kb() -> i64 {
    super::usage().2 as i64
}

/// What the process held before the sessions were opened.
#[derive(Clone, Copy)]
pub struct Baseline {
    rss: i64,
    heap: i64,
}

impl Baseline {
    pub fn now() -> Baseline {
        Baseline {
            rss: rss_kb(),
            heap: heap_kb(),
        }
    }

    /// `rss_kb`, `heap_kb` now, and per session (`n` sessions; or per lock/watch: `unit`);
    /// `peak_per_*` from the peak RSS so far.
    pub fn fields(&self, prefix: &str, n: usize, unit: &str) -> Vec<(String, String)> {
        let (rss, heap, peak) = (rss_kb(), heap_kb(), peak_rss_kb());
        let per = |v: i64, base: i64| format!("{:.1}", (v - base) as f64 / n.max(1) as f64);
        vec![
            (format!("{prefix}rss_kb"), rss.to_string()),
            (format!("{prefix}heap_kb"), heap.to_string()),
            (format!("{prefix}rss_per_{unit}_kb"), per(rss, self.rss)),
            (format!("{prefix}heap_per_{unit}_kb"), per(heap, self.heap)),
            (
                format!("{prefix}peak_rss_per_{unit}_kb"),
                per(peak, self.rss),
            ),
        ]
    }
}

/// CPU time (user + sys, ms, in /proc's 10 ms ticks) used so far by the server processes
/// whose pids `ZKSYNC_BENCH_SERVER_PIDS` lists (comma-separated; `scripts/bench` sets it for
/// the local ensemble it runs against), or `None` when it is not set. With the client's own
/// CPU over the same span it says whether a span was bound by the client or by the servers.
pub fn servers_cpu_ms() -> Option<f64> {
    let pids = std::env::var("ZKSYNC_BENCH_SERVER_PIDS").ok()?;
    let mut total = 0.0;
    for pid in pids.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
        total += (ticks(11)? + ticks(12)?) * 10.0; // USER_HZ 100
    }
    Some(total)
}

/// Opens `k` sessions, at most 64 handshakes at a time (each a quorum write on the servers).
/// Returns them and the seconds it took.
pub async fn connect_many(servers: &str, k: usize) -> (Vec<Client>, f64) {
    let t = Instant::now();
    let clients: Vec<Client> = stream::iter(0..k)
        .map(|_| connect(servers))
        .buffer_unordered(64)
        .collect()
        .await;
    (clients, t.elapsed().as_secs_f64())
}

/// Waits until `c` holds at least `n` watches (counted when the server's reply arrived).
pub async fn until_watches(c: &Client, n: usize) {
    while c.watch_count().await < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn field(k: &str, v: f64, d: usize) -> (String, String) {
    (k.to_string(), format!("{v:.d$}"))
}

/// `many-locks`: one session takes `--ops` locks (default 10,000) on different paths, `--window`
/// acquires in flight (default 1,000), arms `lost()` on every guard (one monitor each: a server
/// watch on the node, the session state, the lease), holds them, then releases them all.
///
/// The lock directories are created before and removed after (not timed). Reports the time to
/// acquire all (`acquire_secs`, also the line's `secs`), to arm every `lost()` until the
/// server holds each watch (`arm_secs`), to release all (`release_secs`); memory while all are
/// held (`rss_kb`, `heap_kb`, per lock) and after the release (`after_heap_kb`: what the
/// session keeps of 10,000 released locks).
pub async fn run_many_locks(a: &Args) -> Outcome {
    let n = a.ops as usize;
    let window = a.window as usize;
    let base = Baseline::now();
    let c = connect(&a.servers).await;
    let r = root("locks");
    c.create(&r, b"", CreateMode::Persistent)
        .await
        .expect("create root");
    let dirs: Arc<Vec<String>> = Arc::new((0..n).map(|i| format!("{r}/l{i:05}")).collect());
    let created = each(n, window, |i| {
        let (c, dirs) = (c.clone(), dirs.clone());
        async move {
            c.create(&dirs[i], b"", CreateMode::Persistent)
                .await
                .is_ok()
        }
    })
    .await;
    assert_eq!(created, n, "creating the lock directories");
    let mut errors = 0;

    // Acquire all, `window` at a time.
    let t = Instant::now();
    let mut guards = Vec::with_capacity(n);
    let mut running = FuturesUnordered::new();
    let mut next = 0;
    while next < n || !running.is_empty() {
        while next < n && running.len() < window {
            let lock = RwLock::new(c.clone(), &dirs[next]);
            running.push(async move { lock.write().await });
            next += 1;
        }
        match running.next().await {
            Some(Ok(g)) => guards.push(g),
            Some(Err(_)) => errors += 1,
            None => {}
        }
    }
    let acquire_secs = t.elapsed().as_secs_f64();

    // Arm lost() on each: the first call starts the guard's monitor, which lives as long as the
    // guard (a dropped lost() future leaves it running).
    let t = Instant::now();
    for g in &guards {
        assert!(g.lost().now_or_never().is_none(), "a fresh lock lost");
    }
    until_watches(&c, guards.len()).await;
    let arm_secs = t.elapsed().as_secs_f64();

    // Hold: a second of pings and lease renewals with everything armed.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let lost = guards.iter().filter(|g| g.is_lost()).count();
    let held = base.fields("", n, "lock");

    let t = Instant::now();
    let held_n = guards.len();
    let released = each_owned(guards, window, |g| async move { g.unlock().await.is_ok() }).await;
    let release_secs = t.elapsed().as_secs_f64();
    errors += (held_n - released) as u64;
    // Let the monitors see their nodes go (each ends when its watch fires).
    while c.watch_count().await > 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::task::yield_now().await;
    let after_heap = heap_kb();

    let removed = each(n, window, |i| {
        let (c, dirs) = (c.clone(), dirs.clone());
        async move { c.delete(&dirs[i], None).await.is_ok() }
    })
    .await;
    assert_eq!(removed, n, "removing the lock directories");
    c.delete(&r, None).await.expect("delete root");
    c.close().await;

    let mut extra = vec![
        ("locks".into(), n.to_string()),
        field("acquire_secs", acquire_secs, 3),
        field("arm_secs", arm_secs, 3),
        field("release_secs", release_secs, 3),
        field("release_per_sec", held_n as f64 / release_secs, 0),
        ("lost".into(), lost.to_string()),
    ];
    extra.extend(held);
    extra.push(("after_heap_kb".into(), after_heap.to_string()));
    Outcome {
        ops: a.ops,
        errors,
        secs: acquire_secs,
        extra,
        cpu: None,
    }
}

/// Runs `f(0..n)` with at most `window` in flight; returns how many said true.
async fn each<F, Fut>(n: usize, window: usize, f: F) -> usize
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    stream::iter(0..n)
        .map(f)
        .buffer_unordered(window.max(1))
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await
}

/// Runs `f` on each item of `items` (by value) with at most `window` in flight.
async fn each_owned<T, F, Fut>(items: Vec<T>, window: usize, f: F) -> usize
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    stream::iter(items)
        .map(f)
        .buffer_unordered(window.max(1))
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await
}

/// `watches`: one session sets `--ops` watches (default 100,000; `exists` on missing paths,
/// `--window` in flight), then loses its connection and reconnects with them.
///
/// The session talks to the first server of `--servers` through a cuttable forwarder of the
/// tests (test-support, running on a thread of its own). `set_secs`: setting them all;
/// `reconnect_ms` (the line's `p50_ms` too): from the cut to the answer of the first request
/// sent after the session was connected again, which the server answers only after every
/// SetWatches batch the client sent on reconnecting (replies come in order);
/// `connected_ms`: from the cut to the state `Connected`. Checked afterwards: the session
/// still counts every watch, and creating one of the watched paths fires its watch (the
/// server re-registered them). Memory with every watch set.
pub async fn run_watches(a: &Args) -> Outcome {
    let n = a.ops as usize;
    let window = a.window as usize;
    let first = a
        .servers
        .split(',')
        .next()
        .expect("a server")
        .trim()
        .to_string();
    let (fwd_tx, fwd_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("forwarder runtime");
        rt.block_on(async move {
            let f = Arc::new(zksync_test_support::forwarder::Forwarder::start(&first).await);
            fwd_tx.send(f.clone()).expect("forwarder handle");
            std::future::pending::<()>().await
        })
    });
    let fwd = fwd_rx.recv().expect("forwarder started");
    let base = Baseline::now();
    let c = connect(&fwd.addr).await;
    let r = root("watches");
    let paths: Arc<Vec<String>> = Arc::new((0..n).map(|i| format!("{r}/w{i:06}")).collect());

    let t = Instant::now();
    let mut watches = Vec::with_capacity(n);
    let mut running = FuturesUnordered::new();
    let mut next = 0;
    let mut errors = 0;
    while next < n || !running.is_empty() {
        while next < n && running.len() < window {
            let (c, paths) = (c.clone(), paths.clone());
            running.push(async move { (next, c.exists_w(&paths[next]).await) });
            next += 1;
        }
        match running.next().await {
            Some((i, Ok((None, w)))) => watches.push((i, w)),
            Some(_) => errors += 1,
            None => {}
        }
    }
    let set_secs = t.elapsed().as_secs_f64();
    let count = c.watch_count().await;
    let held = base.fields("", n, "watch");
    let path_bytes: usize = paths.iter().map(|p| p.len() + 4).sum();

    let mut states = c.state_changes();
    let t = Instant::now();
    fwd.cut();
    let mut left = false;
    let connected_at = loop {
        match states.next().await {
            Some(SessionState::Connected) if left => break Instant::now(),
            Some(SessionState::Connected) => {}
            Some(s) if s.is_terminal() => panic!("session ended on reconnect: {s:?}"),
            Some(_) => left = true,
            None => panic!("state stream ended"),
        }
    };
    c.exists(&r)
        .await
        .expect("first request after reconnecting");
    let reconnect_ms = ms(t.elapsed());
    let connected_ms = ms(connected_at - t);
    let count_after = c.watch_count().await;

    // One watch fires for a create, so the server holds it again.
    let (i, w) = watches.swap_remove(watches.len() / 2);
    c.create(&r, b"", CreateMode::Persistent)
        .await
        .expect("create root");
    c.create(&paths[i], b"", CreateMode::Persistent)
        .await
        .expect("create watched");
    let fired = tokio::time::timeout(Duration::from_secs(10), w)
        .await
        .is_ok_and(|e| e.is_ok());
    if !fired {
        errors += 1;
    }
    c.delete(&paths[i], None).await.expect("delete watched");
    c.delete(&r, None).await.expect("delete root");
    drop(watches);
    c.close().await;

    let mut extra = vec![
        ("watches".into(), count.to_string()),
        ("watches_after".into(), count_after.to_string()),
        ("fired".into(), fired.to_string()),
        field("set_secs", set_secs, 3),
        field("set_per_sec", n as f64 / set_secs, 0),
        field("connected_ms", connected_ms, 1),
        field("reconnect_ms", reconnect_ms, 1),
        field("p50_ms", reconnect_ms, 1),
        ("path_bytes".into(), path_bytes.to_string()),
        (
            "set_watches_batches".into(),
            path_bytes.div_ceil(SET_WATCHES_BATCH_BYTES).to_string(),
        ),
    ];
    extra.extend(held);
    Outcome {
        ops: a.ops,
        errors,
        secs: set_secs,
        extra,
        cpu: None,
    }
}

/// The library's bound on the path bytes of one SetWatches packet (`SET_WATCHES_BATCH_BYTES`
/// in src/session/watches.rs, not exported): `set_watches_batches` is the number of packets
/// the reconnect sends for the watches set here.
const SET_WATCHES_BATCH_BYTES: usize = 128 * 1024;

/// The p50 and p99 of `v`, in ms.
pub fn p50_p99(v: Vec<f64>) -> (f64, f64) {
    let v = sorted(v);
    (percentile(&v, 0.5), percentile(&v, 0.99))
}
