//! Benchmark scenarios; one JSON line per run, comparable with `../shared/bench/c-client-bench`.
//!
//! ```text
//! cargo run --release --example bench -- --scenario get --ops 200000 --window 1000
//! ```
//! Flags: `--servers HOSTS` (default `$ZOOKEEPER_PEERS`, then 127.0.0.1:2181), `--scenario
//! get|create|sync-get|lock-cycle|handoff|barrier|double-barrier`, `--ops N`, `--window W`,
//! `--clients K`, `--no-coalesce` (read every reply as it arrives). CPU time and peak RSS are the whole process's (as `/usr/bin/time` reports
//! them for the C client).

use futures_util::stream::{FuturesUnordered, StreamExt};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zksync::recipes::{Barrier, DoubleBarrier, RwLock};
use zksync::{Client, ConnectOptions, CreateMode};

struct Args {
    servers: String,
    scenario: String,
    ops: u64,
    window: u64,
    clients: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        servers: std::env::var("ZOOKEEPER_PEERS").unwrap_or_else(|_| "127.0.0.1:2181".into()),
        scenario: "get".into(),
        ops: 0,
        window: 0,
        clients: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--servers" => a.servers = val()?,
            "--scenario" => a.scenario = val()?,
            "--ops" => a.ops = val()?.parse().map_err(|e| format!("--ops: {e}"))?,
            "--window" => a.window = val()?.parse().map_err(|e| format!("--window: {e}"))?,
            "--clients" => a.clients = Some(val()?.parse().map_err(|e| format!("--clients: {e}"))?),
            "--no-coalesce" => COALESCE.store(false, Ordering::Relaxed),
            "-h" | "--help" => {
                println!("usage: bench [--servers HOSTS] [--scenario NAME] [--ops N] [--window W] [--clients K] [--no-coalesce]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let (ops, window) = match a.scenario.as_str() {
        "get" => (200_000, 1000),
        "create" => (20_000, 1000),
        "sync-get" => (20_000, 1),
        "lock-cycle" => (2_000, 1),
        "handoff" => (2_000, 1),
        "barrier" => (5, 1),
        "double-barrier" => (20, 1),
        s => return Err(format!("unknown scenario {s}")),
    };
    if a.ops == 0 {
        a.ops = ops;
    }
    if a.window == 0 {
        a.window = window;
    }
    Ok(a)
}

/// Process CPU (user, sys) seconds and peak RSS (kB), from /proc.
fn usage() -> (f64, f64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let tick = 100.0; // USER_HZ on Linux
    let user = fields
        .get(11)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / tick;
    let sys = fields
        .get(12)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / tick;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (user, sys, rss)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

struct Outcome {
    ops: u64,
    errors: u64,
    secs: f64,
    extra: Vec<(String, String)>,
}

/// `--no-coalesce`: every session reads each reply as it arrives (`coalesce_replies(false)`).
static COALESCE: AtomicBool = AtomicBool::new(true);

async fn connect(servers: &str) -> Client {
    ConnectOptions::default()
        .session_timeout(Duration::from_secs(10))
        .coalesce_replies(COALESCE.load(Ordering::Relaxed))
        .connect(servers)
        .await
        .unwrap_or_else(|e| {
            eprintln!("bench: cannot connect to {servers}: {e}");
            std::process::exit(2)
        })
}

fn root(name: &str) -> String {
    format!("/bench-zksync-{name}-{}", std::process::id())
}

/// Runs `ops` calls of `f` with at most `window` in flight; returns (errors, seconds).
///
/// All calls run in this one task (a `FuturesUnordered` refilled as calls finish), the way
/// the C client's benchmark drives its window with callbacks: a spawned task per window slot
/// would add its own memory (about 300 bytes each) and scheduling to what is measured.
async fn pipelined<F, Fut>(client: &Client, ops: u64, window: u64, f: F) -> (u64, f64)
where
    F: Fn(Client, u64) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t0 = Instant::now();
    let mut errors = 0;
    let mut next = 0;
    let mut running = FuturesUnordered::new();
    while next < window.min(ops) {
        running.push(f(client.clone(), next));
        next += 1;
    }
    while let Some(ok) = running.next().await {
        if !ok {
            errors += 1;
        }
        if next < ops {
            running.push(f(client.clone(), next));
            next += 1;
        }
    }
    (errors, t0.elapsed().as_secs_f64())
}

/// A client and a fresh 32-byte node to work on.
async fn with_root(a: &Args, name: &str) -> (Client, String) {
    let c = connect(&a.servers).await;
    let r = root(name);
    c.create(&r, &[b'x'; 32], CreateMode::Persistent)
        .await
        .expect("create root");
    (c, r)
}

/// Removes the node of [`with_root`] and closes the session.
async fn finish(c: Client, r: &str) {
    c.delete(r, None).await.expect("delete root");
    c.close().await;
}

async fn run_get(a: &Args) -> Outcome {
    let (c, r) = with_root(a, "get").await;
    // An Arc, so a worker's next request costs no path allocation of the harness's own.
    let path: Arc<str> = Arc::from(r.as_str());
    let (errors, secs) = pipelined(&c, a.ops, a.window, move |c, _| {
        let path = path.clone();
        async move { c.get_data(&path).await.is_ok() }
    })
    .await;
    finish(c, &r).await;
    Outcome {
        ops: a.ops,
        errors,
        secs,
        extra: vec![],
    }
}

async fn run_create(a: &Args) -> Outcome {
    let (c, r) = with_root(a, "create").await;
    let r2 = r.clone();
    let (errors, secs) = pipelined(&c, a.ops, a.window, move |c, i| {
        let p = format!("{r2}/n{i}");
        async move {
            c.create(&p, &[b'x'; 32], CreateMode::Persistent)
                .await
                .is_ok()
        }
    })
    .await;
    let r3 = r.clone();
    pipelined(&c, a.ops, a.window, move |c, i| {
        let p = format!("{r3}/n{i}");
        async move { c.delete(&p, None).await.is_ok() }
    })
    .await;
    finish(c, &r).await;
    Outcome {
        ops: a.ops,
        errors,
        secs,
        extra: vec![],
    }
}

async fn run_sync_get(a: &Args) -> Outcome {
    let (c, r) = with_root(a, "sget").await;
    let mut errors = 0;
    let mut lat = Vec::with_capacity(a.ops as usize);
    let t0 = Instant::now();
    for _ in 0..a.ops {
        let t = Instant::now();
        if c.get_data(&r).await.is_err() {
            errors += 1;
        }
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let secs = t0.elapsed().as_secs_f64();
    finish(c, &r).await;
    Outcome {
        ops: a.ops,
        errors,
        secs,
        extra: latency_fields(lat),
    }
}

fn latency_fields(mut lat: Vec<f64>) -> Vec<(String, String)> {
    lat.sort_by(|x, y| x.partial_cmp(y).unwrap());
    vec![
        ("p50_ms".into(), format!("{:.3}", percentile(&lat, 0.5))),
        ("p99_ms".into(), format!("{:.3}", percentile(&lat, 0.99))),
    ]
}

async fn run_lock_cycle(a: &Args) -> Outcome {
    let c = connect(&a.servers).await;
    let r = root("lock");
    let lock = RwLock::new(c.clone(), &r);
    // Warm up: creates the lock node's parent.
    lock.write()
        .await
        .expect("lock")
        .unlock()
        .await
        .expect("unlock");
    let mut errors = 0;
    let mut lat = Vec::with_capacity(a.ops as usize);
    let t0 = Instant::now();
    for _ in 0..a.ops {
        let t = Instant::now();
        match lock.write().await {
            Ok(g) => {
                if g.unlock().await.is_err() {
                    errors += 1;
                }
            }
            Err(_) => errors += 1,
        }
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let secs = t0.elapsed().as_secs_f64();
    c.delete(&r, None).await.expect("delete lock dir");
    c.close().await;
    Outcome {
        ops: a.ops,
        errors,
        secs,
        extra: latency_fields(lat),
    }
}

async fn run_handoff(a: &Args) -> Outcome {
    let k = a.clients.unwrap_or(20);
    let r = root("handoff");
    let mut clients = Vec::new();
    for _ in 0..k {
        clients.push(connect(&a.servers).await);
    }
    RwLock::new(clients[0].clone(), &r)
        .write()
        .await
        .expect("lock")
        .unlock()
        .await
        .expect("unlock");
    let count = Arc::new(AtomicU64::new(0));
    let waits = Arc::new(std::sync::Mutex::new(Vec::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in &clients {
        let (lock, count, waits, errors, n) = (
            RwLock::new(c.clone(), &r),
            count.clone(),
            waits.clone(),
            errors.clone(),
            a.ops,
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let t = Instant::now();
                let g = match lock.write().await {
                    Ok(g) => g,
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                };
                let i = count.fetch_add(1, Ordering::SeqCst);
                if i < n {
                    waits.lock().unwrap().push(t.elapsed().as_secs_f64() * 1e3);
                }
                let _ = g.unlock().await;
                if i + 1 >= n {
                    break;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    let mut extra = latency_fields(waits.lock().unwrap().clone());
    extra.push(("clients".into(), k.to_string()));
    let _ = clients[0].delete(&r, None).await;
    for c in clients {
        c.close().await;
    }
    Outcome {
        ops: a.ops,
        errors: errors.load(Ordering::Relaxed),
        secs,
        extra,
    }
}

async fn run_barrier(a: &Args) -> Outcome {
    let k = a.clients.unwrap_or(50);
    let r = root("barrier");
    let setter = connect(&a.servers).await;
    let mut waiters = Vec::new();
    for _ in 0..k {
        waiters.push(connect(&a.servers).await);
    }
    let b = Barrier::new(setter.clone(), &r);
    let mut rounds = Vec::new();
    let t_all = Instant::now();
    for _ in 0..a.ops {
        b.set().await.expect("set");
        let (armed_tx, mut armed_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for c in &waiters {
            let (w, armed_tx) = (Barrier::new(c.clone(), &r), armed_tx.clone());
            tasks.push(tokio::spawn(async move {
                // The wait's watch is armed by its first request; is_set() before it proves
                // the waiter's session is ready.
                let _ = w.is_set().await;
                let _ = armed_tx.send(());
                w.wait().await.is_ok().then(Instant::now)
            }));
        }
        for _ in 0..k {
            armed_rx.recv().await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await; // let every wait() arm its watch
        let t = Instant::now();
        b.unset().await.expect("unset");
        let mut last = t;
        for task in tasks {
            if let Some(done) = task.await.unwrap() {
                last = last.max(done);
            }
        }
        rounds.push(last.duration_since(t).as_secs_f64() * 1e3);
    }
    let secs = t_all.elapsed().as_secs_f64();
    rounds.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let median = percentile(&rounds, 0.5);
    setter.close().await;
    for c in waiters {
        c.close().await;
    }
    Outcome {
        ops: a.ops,
        errors: 0,
        secs,
        extra: vec![
            ("release_ms_median".into(), format!("{median:.3}")),
            ("clients".into(), k.to_string()),
        ],
    }
}

async fn run_double_barrier(a: &Args) -> Outcome {
    let k = a.clients.unwrap_or(10);
    let r = root("dbarrier");
    let mut clients = Vec::new();
    for _ in 0..k {
        clients.push(connect(&a.servers).await);
    }
    let mut rounds = Vec::new();
    let mut errors = 0;
    let t_all = Instant::now();
    for round in 0..a.ops {
        let t = Instant::now();
        let mut tasks = Vec::new();
        for (i, c) in clients.iter().enumerate() {
            let b = DoubleBarrier::new(c.clone(), &format!("{r}-{round}"), &format!("p{i:03}"), k);
            tasks.push(tokio::spawn(async move {
                b.enter().await?;
                b.leave().await
            }));
        }
        for task in tasks {
            if task.await.unwrap().is_err() {
                errors += 1;
            }
        }
        rounds.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let secs = t_all.elapsed().as_secs_f64();
    rounds.sort_by(|x, y| x.partial_cmp(y).unwrap());
    for c in clients {
        c.close().await;
    }
    Outcome {
        ops: a.ops,
        errors,
        secs,
        extra: vec![
            (
                "round_ms_median".into(),
                format!("{:.3}", percentile(&rounds, 0.5)),
            ),
            ("clients".into(), k.to_string()),
        ],
    }
}

fn main() {
    let a = parse_args().unwrap_or_else(|e| {
        eprintln!("bench: {e}");
        std::process::exit(2)
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let o = rt.block_on(async {
        match a.scenario.as_str() {
            "get" => run_get(&a).await,
            "create" => run_create(&a).await,
            "sync-get" => run_sync_get(&a).await,
            "lock-cycle" => run_lock_cycle(&a).await,
            "handoff" => run_handoff(&a).await,
            "barrier" => run_barrier(&a).await,
            _ => run_double_barrier(&a).await,
        }
    });
    let (user, sys, rss) = usage();
    let mut line = format!(
        "{{\"client\":\"zksync\",\"scenario\":\"{}\",\"ops\":{},\"window\":{},\"errors\":{},\"secs\":{:.3},\"ops_per_sec\":{:.0},\"cpu_user_s\":{:.2},\"cpu_sys_s\":{:.2},\"cpu_us_per_op\":{:.2},\"max_rss_kb\":{}",
        a.scenario,
        o.ops,
        a.window,
        o.errors,
        o.secs,
        o.ops as f64 / o.secs,
        user,
        sys,
        (user + sys) * 1e6 / o.ops as f64,
        rss
    );
    if !COALESCE.load(Ordering::Relaxed) {
        line.push_str(",\"coalesce\":false");
    }
    for (k, v) in o.extra {
        let quoted = v.parse::<f64>().is_err();
        if quoted {
            line.push_str(&format!(",\"{k}\":\"{v}\""));
        } else {
            line.push_str(&format!(",\"{k}\":{v}"));
        }
    }
    line.push('}');
    println!("{line}");
}
