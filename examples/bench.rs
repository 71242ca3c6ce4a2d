//! Benchmark scenarios; one JSON line per run, comparable with `../shared/bench/c-client-bench`.
//!
//! ```text
//! cargo run --release --example bench -- --scenario get --ops 200000 --window 1000
//! ```
//! Flags: `--servers HOSTS` (default `$ZOOKEEPER_PEERS`, then 127.0.0.1:2181), `--scenario
//! get|create|sync-get|lock-cycle|handoff|barrier|double-barrier|election-failover|semaphore-cycle|
//! many-locks|watches`,
//! `--ops N`, `--window W`, `--clients K`, `--warmup N`, `--no-coalesce` (read every reply as it
//! arrives), `--tls-ca FILE [--tls-cert FILE --tls-key FILE]` (TLS to the servers' secure ports;
//! build with `--features tls`; the JSON line then says `"tls":true`). CPU
//! time and peak RSS are the whole process's (as `/usr/bin/time` reports them for the C client),
//! except in `semaphore-cycle`, whose CPU is that of its semaphore blocks only (see there).
//! `election-failover` and `semaphore-cycle` carry their own same-run comparisons.
//!
//! The scale scenarios (issue 16; see `bench/scale.rs` for how memory is reported):
//! `handoff --clients K [--warmup N]`, `barrier --clients K`, `double-barrier --clients K`
//! (sessions opened 64 at a time, spread over `--servers`), `many-locks` (one session,
//! `--ops` locks held at once) and `watches` (one session, `--ops` watches, then a reconnect).

#[path = "bench/scale.rs"]
mod scale;

#[global_allocator]
static ALLOC: scale::Counting = scale::Counting;

use futures_util::stream::{FuturesUnordered, StreamExt};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zksync::recipes::{Barrier, DoubleBarrier, Election, RwLock, Semaphore};
use zksync::{Client, ConnectOptions, CreateMode};

struct Args {
    servers: String,
    scenario: String,
    ops: u64,
    window: u64,
    clients: Option<usize>,
    /// `handoff`: acquisitions before the measured ones (0: measure from the start).
    warmup: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        servers: std::env::var("ZOOKEEPER_PEERS").unwrap_or_else(|_| "127.0.0.1:2181".into()),
        scenario: "get".into(),
        ops: 0,
        window: 0,
        clients: None,
        warmup: 0,
    };
    let mut tls: (Option<String>, Option<String>, Option<String>) = (None, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--servers" => a.servers = val()?,
            "--scenario" => a.scenario = val()?,
            "--ops" => a.ops = val()?.parse().map_err(|e| format!("--ops: {e}"))?,
            "--window" => a.window = val()?.parse().map_err(|e| format!("--window: {e}"))?,
            "--clients" => a.clients = Some(val()?.parse().map_err(|e| format!("--clients: {e}"))?),
            "--warmup" => a.warmup = val()?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--no-coalesce" => COALESCE.store(false, Ordering::Relaxed),
            "--tls-ca" => tls.0 = Some(val()?),
            "--tls-cert" => tls.1 = Some(val()?),
            "--tls-key" => tls.2 = Some(val()?),
            "-h" | "--help" => {
                println!("usage: bench [--servers HOSTS] [--scenario NAME] [--ops N] [--window W] [--clients K] [--warmup N] [--no-coalesce] [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    set_tls(tls)?;
    let (ops, window) = match a.scenario.as_str() {
        "get" => (200_000, 1000),
        "create" => (20_000, 1000),
        "sync-get" => (20_000, 1),
        "lock-cycle" => (2_000, 1),
        "handoff" => (2_000, 1),
        "barrier" => (5, 1),
        "double-barrier" => (20, 1),
        "election-failover" => (200, 1),
        "semaphore-cycle" => (2_000, 1),
        "many-locks" => (10_000, 1000),
        "watches" => (100_000, 1000),
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

/// Process CPU (user, sys) seconds from getrusage: the kernel's precise runtime (split between
/// user and sys by its tick samples), for spans too short for /proc's 10 ms ticks.
fn rusage_cpu() -> (f64, f64) {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(ru.ru_utime), secs(ru.ru_stime))
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
    /// CPU (user, sys) seconds of the measured part, when not the whole process's.
    cpu: Option<(f64, f64)>,
}

/// `--no-coalesce`: every session reads each reply as it arrives (`coalesce_replies(false)`).
static COALESCE: AtomicBool = AtomicBool::new(true);

/// `--tls-ca` (`--tls-cert`, `--tls-key`): every session connects with TLS.
#[cfg(feature = "tls")]
static TLS: std::sync::OnceLock<zksync::TlsOptions> = std::sync::OnceLock::new();

#[cfg(feature = "tls")]
fn set_tls(files: (Option<String>, Option<String>, Option<String>)) -> Result<(), String> {
    match files {
        (None, None, None) => Ok(()),
        (Some(ca), None, None) => {
            let _ = TLS.set(zksync::TlsOptions::ca_file(ca));
            Ok(())
        }
        (Some(ca), Some(cert), Some(key)) => {
            let _ = TLS.set(zksync::TlsOptions::ca_file(ca).client_cert_files(cert, key));
            Ok(())
        }
        _ => Err("--tls-cert and --tls-key go together, and need --tls-ca".into()),
    }
}

#[cfg(not(feature = "tls"))]
fn set_tls(files: (Option<String>, Option<String>, Option<String>)) -> Result<(), String> {
    match files {
        (None, None, None) => Ok(()),
        _ => Err(
            "--tls-* needs the tls feature: cargo run --release --features tls --example bench"
                .into(),
        ),
    }
}

fn tls_on() -> bool {
    #[cfg(feature = "tls")]
    return TLS.get().is_some();
    #[cfg(not(feature = "tls"))]
    false
}

async fn connect(servers: &str) -> Client {
    #[allow(unused_mut)]
    let mut options = ConnectOptions::default()
        .session_timeout(Duration::from_secs(10))
        .coalesce_replies(COALESCE.load(Ordering::Relaxed));
    #[cfg(feature = "tls")]
    if let Some(tls) = TLS.get() {
        options = options.tls(tls.clone());
    }
    options.connect(servers).await.unwrap_or_else(|e| {
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
        cpu: None,
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
        cpu: None,
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
        cpu: None,
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
        cpu: None,
    }
}

/// `handoff`: `--clients K` sessions (default 20; opened 64 at a time, spread over `--servers`)
/// contend for one write lock, one task each, in a loop of acquire + release.
///
/// Without `--warmup`: `--ops` acquisitions, timed from before the first acquire to the last
/// release (what earlier runs measured). With `--warmup N`: the first N acquisitions only fill
/// the queue (K of them: every contender queued once), then `--ops` acquisitions are timed
/// from the grant of acquisition N to that of acquisition N + ops: the steady rate, in which
/// every release wakes one waiter and the releaser queues again at the end. `p50_ms`/`p99_ms`:
/// ask-to-granted of the timed acquisitions. Memory: when the timed window ends (every
/// contender queued: `rss_kb`, `heap_kb`, per session) and after the contenders are done
/// (sessions still open: `after_heap_kb`, `after_heap_per_session_kb`).
async fn run_handoff(a: &Args) -> Outcome {
    let k = a.clients.unwrap_or(20);
    let r = root("handoff");
    let base = scale::Baseline::now();
    let (clients, connect_secs) = scale::connect_many(&a.servers, k).await;
    RwLock::new(clients[0].clone(), &r)
        .write()
        .await
        .expect("lock")
        .unlock()
        .await
        .expect("unlock");
    let (warmup, n) = (a.warmup, a.ops);
    // Acquisitions in all: with a warm-up, one more than measured (its grant ends the window).
    let total = warmup + n + u64::from(warmup > 0);
    let count = Arc::new(AtomicU64::new(0));
    let waits = Arc::new(std::sync::Mutex::new(Vec::new()));
    let window = Arc::new(std::sync::Mutex::new((None, None, Vec::new())));
    let errors = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in &clients {
        let (lock, count, waits, window, errors) = (
            RwLock::new(c.clone(), &r),
            count.clone(),
            waits.clone(),
            window.clone(),
            errors.clone(),
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
                if i >= warmup && i < warmup + n {
                    waits.lock().unwrap().push(t.elapsed().as_secs_f64() * 1e3);
                }
                if warmup > 0 && i == warmup {
                    window.lock().unwrap().0 = Some(Instant::now());
                }
                if warmup > 0 && i == warmup + n {
                    let mut w = window.lock().unwrap();
                    w.1 = Some(Instant::now());
                    w.2 = base.fields("", k, "session");
                }
                let _ = g.unlock().await;
                if i + 1 >= total {
                    break;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut secs = t0.elapsed().as_secs_f64();
    let mut extra = latency_fields(waits.lock().unwrap().clone());
    extra.push(("clients".into(), k.to_string()));
    extra.push(("connect_secs".into(), format!("{connect_secs:.3}")));
    let (start, end, mem) = std::mem::take(&mut *window.lock().unwrap());
    if let (Some(s), Some(e)) = (start, end) {
        secs = (e - s).as_secs_f64();
        extra.push(("warmup".into(), warmup.to_string()));
        extra.extend(mem);
    } else {
        extra.extend(base.fields("", k, "session"));
    }
    let after = base.fields("after_", k, "session");
    extra.extend(after.into_iter().filter(|(f, _)| f.contains("heap")));
    let _ = clients[0].delete(&r, None).await;
    for c in clients {
        c.close().await;
    }
    Outcome {
        ops: n,
        errors: errors.load(Ordering::Relaxed),
        secs,
        extra,
        cpu: None,
    }
}

/// `barrier`: `--clients K` waiters (default 50; sessions opened 64 at a time, spread over
/// `--servers`) wait on a barrier set by one more session; `--ops` rounds. A round starts
/// every wait, waits until each waiter's session holds its watch (the wait is armed: counted
/// when the server's reply arrived), then times from the call of `unset()` to the last waiter
/// back (`release_ms_median` over rounds, `release_ms_max`). Memory with every wait armed, in
/// the last round. CPU over the same span (median over rounds): this process's
/// (`release_client_cpu_ms`) and, with `ZKSYNC_BENCH_SERVER_PIDS`, the servers'
/// (`release_servers_cpu_ms`): on a machine of few cores their sum over the cores bounds the
/// release time from below, whatever the client does.
async fn run_barrier(a: &Args) -> Outcome {
    let k = a.clients.unwrap_or(50);
    let r = root("barrier");
    let base = scale::Baseline::now();
    let setter = connect(&a.servers).await;
    let (waiters, connect_secs) = scale::connect_many(&a.servers, k).await;
    let b = Barrier::new(setter.clone(), &r);
    let mut rounds = Vec::new();
    let (mut client_cpu, mut servers_cpu) = (Vec::new(), Vec::new());
    let mut mem = Vec::new();
    let mut errors = 0;
    let t_all = Instant::now();
    for _ in 0..a.ops {
        b.set().await.expect("set");
        let mut tasks = Vec::new();
        for c in &waiters {
            let w = Barrier::new(c.clone(), &r);
            tasks.push(tokio::spawn(async move {
                w.wait().await.is_ok().then(Instant::now)
            }));
        }
        for c in &waiters {
            scale::until_watches(c, 1).await;
        }
        mem = base.fields("", k, "session");
        let (servers0, (user0, sys0)) = (scale::servers_cpu_ms(), rusage_cpu());
        let t = Instant::now();
        b.unset().await.expect("unset");
        let mut last = t;
        for task in tasks {
            match task.await.unwrap() {
                Some(done) => last = last.max(done),
                None => errors += 1,
            }
        }
        rounds.push(last.duration_since(t).as_secs_f64() * 1e3);
        let (user1, sys1) = rusage_cpu();
        client_cpu.push((user1 + sys1 - user0 - sys0) * 1e3);
        if let (Some(s0), Some(s1)) = (servers0, scale::servers_cpu_ms()) {
            servers_cpu.push(s1 - s0);
        }
    }
    let secs = t_all.elapsed().as_secs_f64();
    rounds.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let median = percentile(&rounds, 0.5);
    setter.close().await;
    for c in waiters {
        c.close().await;
    }
    let mut extra = vec![
        ("release_ms_median".into(), format!("{median:.3}")),
        (
            "release_ms_max".into(),
            format!("{:.3}", rounds.last().copied().unwrap_or_default()),
        ),
        ("clients".into(), k.to_string()),
        ("connect_secs".into(), format!("{connect_secs:.3}")),
        (
            "release_client_cpu_ms".into(),
            format!("{:.1}", percentile(&sorted(client_cpu), 0.5)),
        ),
    ];
    if !servers_cpu.is_empty() {
        extra.push((
            "release_servers_cpu_ms".into(),
            format!("{:.1}", percentile(&sorted(servers_cpu), 0.5)),
        ));
    }
    extra.extend(mem);
    Outcome {
        ops: a.ops,
        errors,
        secs,
        extra,
        cpu: None,
    }
}

/// `double-barrier`: `--clients K` participants (default 10; sessions opened 64 at a time,
/// spread over `--servers`), `--ops` rounds of enter + leave, each on a fresh path; the round
/// is timed from starting every participant to the last one done (`round_ms_median`).
async fn run_double_barrier(a: &Args) -> Outcome {
    let k = a.clients.unwrap_or(10);
    let r = root("dbarrier");
    let base = scale::Baseline::now();
    let (clients, connect_secs) = scale::connect_many(&a.servers, k).await;
    let mut rounds = Vec::new();
    let mut errors = 0;
    let t_all = Instant::now();
    for round in 0..a.ops {
        let t = Instant::now();
        let mut tasks = Vec::new();
        for (i, c) in clients.iter().enumerate() {
            let b = DoubleBarrier::new(c.clone(), &format!("{r}-{round}"), &format!("p{i:04}"), k);
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
    let mem = base.fields("", k, "session");
    let (p50, p99) = scale::p50_p99(rounds.clone());
    for c in clients {
        c.close().await;
    }
    let mut extra = vec![
        ("round_ms_median".into(), format!("{p50:.3}")),
        ("round_ms_p99".into(), format!("{p99:.3}")),
        ("clients".into(), k.to_string()),
        ("connect_secs".into(), format!("{connect_secs:.3}")),
    ];
    extra.extend(mem);
    Outcome {
        ops: a.ops,
        errors,
        secs,
        extra,
        cpu: None,
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|x, y| x.partial_cmp(y).unwrap());
    v
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `election-failover`: how long a waiting candidate takes to lead once the leader is gone.
///
/// Each round, the leader (a session on server `r`) leads and a fresh candidate (a session on
/// server `r + 1` of `--servers`) campaigns; once the candidate's watch on the leader's node is
/// registered, the leader's session is closed (`Client::close`: the server deletes its node in
/// the closeSession transaction) and the round measures from the call of `close()` to the
/// candidate's `campaign()` returning. The candidate then leads the next round, against a new
/// candidate one server further: every server takes both roles. `--ops` is the number of rounds.
///
/// In every round, before the failover and between the same two sessions, it also measures the
/// ensemble's write latency (a create and a delete by the leader's session, each a sample) and
/// the notification latency (the candidate's session watches the node with `exists`; from the
/// leader's write call to the candidate's event). The goal "failover within two write round
/// trips plus one notification" reads as `failover_p50_ms <= budget_p50_ms` (`2 * write_p50_ms +
/// notify_p50_ms`); `budget_ratio_p50` is their quotient (below 1 = within), `budget_ratio_p99`
/// the same with p99s.
async fn run_election_failover(a: &Args) -> Outcome {
    let hosts: Vec<String> = a
        .servers
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(String::from)
        .collect();
    let host = |i: u64| hosts[(i % hosts.len() as u64) as usize].clone();
    let r = root("elect");
    let path = format!("{r}/election");
    let probe = format!("{r}/probe");
    let admin = connect(&a.servers).await;
    admin
        .create(&r, b"", CreateMode::Persistent)
        .await
        .expect("create root");
    let mut leader = connect(&host(0)).await;
    let mut leadership = Election::new(leader.clone(), &path)
        .with_id(b"round-0")
        .campaign()
        .await
        .expect("first campaign");
    let (mut failover, mut closes, mut writes, mut notifies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut errors = 0;
    let t_all = Instant::now();
    for round in 0..a.ops {
        let cand = connect(&host(round + 1)).await;
        let election =
            Election::new(cand.clone(), &path).with_id(format!("round-{}", round + 1).as_bytes());
        let campaign = tokio::spawn(async move {
            let outcome = election.campaign().await;
            (outcome, Instant::now())
        });
        // The candidate waits once its watch on the leader's node is registered (counted when
        // the server's reply arrives, so the server holds it).
        while cand.watch_count().await == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Write and notification latency: the leader's session writes, the candidate's hears.
        for create in [true, false] {
            let (_, watch) = cand.exists_w(&probe).await.expect("exists_w");
            let t = Instant::now();
            let write = async {
                let ok = if create {
                    leader
                        .create(&probe, b"", CreateMode::Persistent)
                        .await
                        .is_ok()
                } else {
                    leader.delete(&probe, None).await.is_ok()
                };
                (ok, Instant::now())
            };
            let event = async {
                let fired = watch.await.is_ok();
                (fired, Instant::now())
            };
            let ((w_ok, w_at), (e_ok, e_at)) = tokio::join!(write, event);
            if w_ok && e_ok {
                writes.push(ms(w_at - t));
                notifies.push(ms(e_at - t));
            } else {
                errors += 1;
            }
        }
        let t0 = Instant::now();
        leader.close().await;
        closes.push(ms(t0.elapsed()));
        let (outcome, at) = campaign.await.expect("campaign task");
        let next = match outcome {
            Ok(l) => {
                failover.push(ms(at - t0));
                l
            }
            Err(e) => {
                eprintln!("bench: round {round}: campaign failed: {e}");
                errors += 1;
                Election::new(cand.clone(), &path)
                    .campaign()
                    .await
                    .expect("campaign again")
            }
        };
        drop(std::mem::replace(&mut leadership, next)); // its session is closed: nothing to do
        leader = cand;
    }
    let secs = t_all.elapsed().as_secs_f64();
    let _ = leadership.resign().await;
    leader.close().await;
    let _ = admin.delete(&path, None).await;
    let _ = admin.delete(&r, None).await;
    admin.close().await;

    let failover = sorted(failover);
    let (writes, notifies, closes) = (sorted(writes), sorted(notifies), sorted(closes));
    let (w50, w99) = (percentile(&writes, 0.5), percentile(&writes, 0.99));
    let (n50, n99) = (percentile(&notifies, 0.5), percentile(&notifies, 0.99));
    let (f50, f99) = (percentile(&failover, 0.5), percentile(&failover, 0.99));
    let budget50 = 2.0 * w50 + n50;
    let budget99 = 2.0 * w99 + n99;
    let field = |k: &str, v: f64| (k.to_string(), format!("{v:.3}"));
    Outcome {
        ops: a.ops,
        errors,
        secs,
        extra: vec![
            field("failover_p50_ms", f50),
            field("failover_p99_ms", f99),
            field("failover_mean_ms", mean(&failover)),
            field(
                "failover_max_ms",
                failover.last().copied().unwrap_or_default(),
            ),
            field("close_p50_ms", percentile(&closes, 0.5)),
            field("write_p50_ms", w50),
            field("write_p99_ms", w99),
            field("notify_p50_ms", n50),
            field("notify_p99_ms", n99),
            field("budget_p50_ms", budget50),
            field("budget_ratio_p50", f50 / budget50),
            field("budget_ratio_p99", f99 / budget99),
            ("servers".into(), hosts.len().to_string()),
        ],
        cpu: None,
    }
}

/// The recipe a block of `semaphore-cycle` runs.
#[derive(Clone, Copy, PartialEq)]
enum Cycled {
    Semaphore,
    Lock,
}

/// One block of acquire/release cycles: `ops` acquisitions shared by one task per client
/// (in a loop of one task when there is one client). Returns (errors, cycle times in ms).
async fn cycle_block(
    clients: &[Client],
    sem_path: &str,
    lock_path: &str,
    max: u32,
    what: Cycled,
    ops: u64,
) -> (u64, Vec<f64>) {
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in clients {
        let sem = Semaphore::new(c.clone(), sem_path, max);
        let lock = RwLock::new(c.clone(), lock_path);
        let count = count.clone();
        tasks.push(tokio::spawn(async move {
            let (mut errors, mut lat) = (0, Vec::new());
            while count.fetch_add(1, Ordering::SeqCst) < ops {
                let t = Instant::now();
                let ok = match what {
                    Cycled::Semaphore => match sem.acquire().await {
                        Ok(p) => p.release().await.is_ok(),
                        Err(_) => false,
                    },
                    Cycled::Lock => match lock.write().await {
                        Ok(g) => g.unlock().await.is_ok(),
                        Err(_) => false,
                    },
                };
                if ok {
                    lat.push(ms(t.elapsed()));
                } else {
                    errors += 1;
                }
            }
            (errors, lat)
        }));
    }
    let (mut errors, mut lat) = (0, Vec::new());
    for t in tasks {
        let (e, l) = t.await.expect("cycle task");
        errors += e;
        lat.extend(l);
    }
    (errors, lat)
}

/// `semaphore-cycle`: acquire + release cycles of a `Semaphore` of 2 permits against the
/// write lock's (what `lock-cycle` and, with clients, `handoff` run), in the same invocation.
///
/// Both recipes run on the same sessions in alternating blocks (20 blocks, 10 of each, `--ops`
/// acquisitions per recipe in all; which goes first alternates), so that whatever else the
/// machine does falls on both alike. Without `--clients`: one session, one cycle at a time
/// (uncontended, like `lock-cycle`); with `--clients K`: K sessions, one task each, contending
/// (like `handoff`; up to 2 hold permits at once, 1 the lock). The line's `ops_per_sec`, CPU
/// (process CPU during the semaphore blocks only, from getrusage) and `p50_ms`/`p99_ms` (one cycle: from asking
/// to released) are the semaphore's; `lock_*` the same for the lock; `sem_vs_lock` the ratio of
/// their throughputs.
async fn run_semaphore_cycle(a: &Args) -> Outcome {
    const MAX: u32 = 2;
    const BLOCKS: u64 = 10;
    let k = a.clients.unwrap_or(1).max(1);
    let r = root("sem");
    let (sem_path, lock_path) = (format!("{r}-sem"), format!("{r}-lock"));
    let mut clients = Vec::new();
    for _ in 0..k {
        clients.push(connect(&a.servers).await);
    }
    // Warm up: creates both nodes (and fixes the semaphore's max).
    for what in [Cycled::Semaphore, Cycled::Lock] {
        let (e, _) = cycle_block(&clients[..1], &sem_path, &lock_path, MAX, what, 1).await;
        assert_eq!(e, 0, "warm-up cycle failed");
    }
    let mut errors = 0;
    let (mut lat, mut secs, mut cpu) =
        ([Vec::new(), Vec::new()], [0.0f64; 2], [(0.0f64, 0.0f64); 2]);
    for b in 0..2 * BLOCKS {
        let (i, what) = if (b % 2 == 0) == (b / 2 % 2 == 0) {
            (0, Cycled::Semaphore)
        } else {
            (1, Cycled::Lock)
        };
        // This block's share of the recipe's ops (the remainder goes to the first blocks).
        let block = b / 2;
        let n = a.ops / BLOCKS + u64::from(block < a.ops % BLOCKS);
        let (u0, s0) = rusage_cpu();
        let t = Instant::now();
        let (e, l) = cycle_block(&clients, &sem_path, &lock_path, MAX, what, n).await;
        secs[i] += t.elapsed().as_secs_f64();
        let (u1, s1) = rusage_cpu();
        cpu[i].0 += u1 - u0;
        cpu[i].1 += s1 - s0;
        errors += e;
        lat[i].extend(l);
    }
    let _ = clients[0].delete(&sem_path, None).await;
    let _ = clients[0].delete(&lock_path, None).await;
    for c in clients {
        c.close().await;
    }
    let [sem_lat, lock_lat] = lat.map(sorted);
    let lock_ops_per_sec = a.ops as f64 / secs[1];
    let field = |k: &str, v: f64, d: usize| (k.to_string(), format!("{v:.d$}"));
    Outcome {
        ops: a.ops,
        errors,
        secs: secs[0],
        extra: vec![
            field("p50_ms", percentile(&sem_lat, 0.5), 3),
            field("p99_ms", percentile(&sem_lat, 0.99), 3),
            ("max_permits".into(), MAX.to_string()),
            ("clients".into(), k.to_string()),
            field("lock_secs", secs[1], 3),
            field("lock_ops_per_sec", lock_ops_per_sec, 0),
            field(
                "lock_cpu_us_per_op",
                (cpu[1].0 + cpu[1].1) * 1e6 / a.ops as f64,
                2,
            ),
            field("lock_p50_ms", percentile(&lock_lat, 0.5), 3),
            field("lock_p99_ms", percentile(&lock_lat, 0.99), 3),
            field("sem_vs_lock", secs[1] / secs[0], 3),
        ],
        cpu: Some(cpu[0]),
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
            "election-failover" => run_election_failover(&a).await,
            "semaphore-cycle" => run_semaphore_cycle(&a).await,
            "many-locks" => scale::run_many_locks(&a).await,
            "watches" => scale::run_watches(&a).await,
            _ => run_double_barrier(&a).await,
        }
    });
    let (mut user, mut sys, rss) = usage();
    if let Some((u, s)) = o.cpu {
        (user, sys) = (u, s);
    }
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
    if tls_on() {
        line.push_str(",\"tls\":true");
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
