//! A mutual-exclusion checker under faults, in the spirit of Jepsen.
//!
//! Workers (each a client through one random proxy) loop: acquire the lock (`RwLock` read or
//! write, or `Mutex`), run a critical section of one or several steps, release. Before each step
//! the worker checks that the lock is still held (`is_lost()`, which judges the lease on the
//! clock) and then writes to a fenced register (`register`), sometimes slowly. A fault task
//! (`faults`) injects random faults and faults aimed at the windows the workers announce: a
//! guard held, a create in flight, an unlock, a handoff. The checker (`checker`) requires, for
//! every pair of sections of which one is a writer's, that they did not overlap (a section
//! ends at its holder's last check that the lock was held) and that the earlier one had the
//! smaller fencing token; the register must never have accepted an older token after a newer
//! one, nor interleaved two holders' writes; no holder may have acted after its lease ran out.
//! Each run prints one line:
//! `fault-power: <N> sections, <M> hit by a fault (<P>%), <L> lost mid-section, <R> stale writes rejected, violations: <V>`
//! and fails on any violation or if fewer than 10 % of the sections had a fault land in them.

mod checker;
mod faults;
mod register;
mod workload;

use crate::support::*;
use checker::{hit, violations};
use faults::{FaultLog, Plan};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use workload::Shared;
use zksync::recipes::LockKind;

/// A small xorshift generator (the tests need no rand crate).
pub struct Rng(u64);

impl Rng {
    pub fn seeded(salt: u64) -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Rng((nanos ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = (hi - lo).as_millis() as u64;
        lo + Duration::from_millis(self.below(span + 1))
    }
}

const WORKERS: usize = 8;
const SESSION: Duration = Duration::from_secs(3);

/// One run's workload.
struct Workload {
    name: &'static str,
    acquisitions: usize,
    read_share: u64,
    mutex_share: u64,
}

/// One run: `WORKERS` workers sharing `w.acquisitions` acquisitions, under faults.
async fn run(f: &Fault, w: Workload) {
    let name = w.name;
    let dir = f.path(name);
    let t0 = Instant::now();
    let (phases, phases_rx) = tokio::sync::broadcast::channel(1024);
    let shared = Arc::new(Shared::new(
        t0,
        dir.clone(),
        f.proxies[..5].to_vec(),
        SESSION,
        w.read_share,
        w.mutex_share,
        phases,
    ));
    let stop = AtomicBool::new(false);
    let log = FaultLog::new(t0);
    // Two injectors side by side: one aims at the windows the workers announce, one strikes at
    // random (so faults also overlap).
    let aimed = Plan {
        session: SESSION,
        targeted: 100,
        seed: 0xfa17,
    };
    let random = Plan {
        targeted: 0,
        seed: 0x5eed,
        ..aimed.clone()
    };
    let per_worker = w.acquisitions.div_ceil(WORKERS);
    let mut workers = Vec::new();
    for id in 0..WORKERS {
        workers.push(tokio::spawn(workload::worker(
            id,
            per_worker,
            shared.clone(),
        )));
    }
    let work = async {
        let mut errors = Vec::new();
        for w in workers {
            match w.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(e),
                Err(e) => errors.push(format!("worker panicked: {e}")),
            }
        }
        stop.store(true, Ordering::SeqCst);
        errors
    };
    // A hang guard only: 2 to 4 acquisitions a second under these faults, with a wide margin.
    let limit = Duration::from_secs(120 + w.acquisitions as u64);
    let (errors, ()) = guard_for(
        &format!("{name}: the workers and the fault task"),
        limit,
        async {
            let (errors, (), (), ()) = tokio::join!(
                work,
                faults::inject(f, &aimed, &stop, &log, phases_rx.resubscribe()),
                faults::inject(f, &random, &stop, &log, phases_rx),
                faults::tidy(f, &dir, &stop, &log),
            );
            (errors, ())
        },
    )
    .await;
    let took = t0.elapsed();
    reset_proxies().await;
    // Writes still travelling to the register land within 3.3 s.
    tokio::time::sleep(Duration::from_millis(3_500)).await;

    let mut sections = shared.sections.lock().unwrap().clone();
    sections.sort_by_key(|s| s.start);
    let mut bad = violations(&sections);
    bad.extend(shared.register.violations());
    bad.extend(shared.lapsed.lock().unwrap().iter().cloned());
    let windows = log.windows();
    let hit_count = sections.iter().filter(|s| hit(s, &windows)).count();
    let counts = &shared.counts;
    let lost = sections.iter().filter(|s| s.lost).count();
    let mut workers_active: Vec<usize> = sections.iter().map(|s| s.worker).collect();
    workers_active.sort();
    workers_active.dedup();
    // Which kinds of fault landed in sections.
    let mut hits_by_kind = std::collections::BTreeMap::<&str, usize>::new();
    for s in &sections {
        for w in windows.iter().filter(|w| hit(s, std::slice::from_ref(w))) {
            *hits_by_kind.entry(w.kind).or_default() += 1;
        }
    }
    let percent = 100.0 * hit_count as f64 / sections.len().max(1) as f64;
    eprintln!(
        "jepsen {name}: {} workers, {} acquisitions ({} read, {} write of which {} through \
         Mutex) in {took:?}; {} acquires failed with the session, {} sessions; faults: {} ({}); \
         sections hit by kind: {hits_by_kind:?}",
        workers_active.len(),
        sections.len(),
        sections.iter().filter(|s| s.kind == LockKind::Read).count(),
        sections
            .iter()
            .filter(|s| s.kind == LockKind::Write)
            .count(),
        counts.mutex.load(Ordering::Relaxed),
        counts.acquire_failed.load(Ordering::Relaxed),
        counts.sessions.load(Ordering::Relaxed),
        log.total(),
        log.summary(),
    );
    eprintln!(
        "fault-power: {} sections, {hit_count} hit by a fault ({percent:.0}%), {lost} lost \
         mid-section, {} stale writes rejected, violations: {}",
        sections.len(),
        shared.register.rejected(),
        bad.len()
    );
    for v in bad.iter().take(20) {
        eprintln!("  violation: {v}");
    }
    if !errors.is_empty() {
        // The lock's queue as the servers see it, for the report.
        if let Ok((mut children, _)) = f.admin.get_children(&dir).await {
            children.sort();
            for c in children {
                let owner = f
                    .admin
                    .exists(&format!("{dir}/{c}"))
                    .await
                    .ok()
                    .flatten()
                    .map(|st| st.ephemeral_owner);
                eprintln!("  queue: {c} owner {owner:x?}");
            }
        }
    }
    assert!(errors.is_empty(), "{name}: worker errors: {errors:#?}");
    assert!(bad.is_empty(), "{name}: {} violations", bad.len());
    let done = sections.len() + counts.acquire_failed.load(Ordering::Relaxed);
    assert_eq!(
        done,
        per_worker * WORKERS,
        "{name}: every iteration accounted for"
    );
    assert!(
        sections.len() >= done / 2,
        "{name}: too few sections to mean anything"
    );
    assert!(
        percent >= 10.0,
        "{name}: faults landed in only {percent:.1}% of the sections (at least 10% required)"
    );
}

/// A count from the environment, or `default`.
fn env_count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn mutual_exclusion_holds_under_random_and_targeted_faults() {
    // ZKSYNC_JEPSEN_ACQUISITIONS: per run (default 160).
    let acquisitions = env_count("ZKSYNC_JEPSEN_ACQUISITIONS", 160);
    let f = Fault::begin("jepsen").await;
    let writers = Workload {
        name: "writers",
        acquisitions,
        read_share: 0,
        mutex_share: 30,
    };
    run(&f, writers).await;
    let mixed = Workload {
        name: "readers-and-writers",
        acquisitions,
        read_share: 50,
        mutex_share: 30,
    };
    run(&f, mixed).await;
    f.finish().await;
}

/// The soak: `ZKSYNC_SOAK_ACQUISITIONS` acquisitions (default 300: the short version the test
/// suite runs; `scripts/soak` runs 10,000) of read, write and `Mutex` locks under the same
/// faults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test and scripts/soak run it)"]
async fn soak() {
    let acquisitions = env_count("ZKSYNC_SOAK_ACQUISITIONS", 300);
    let f = Fault::begin("soak").await;
    let mix = Workload {
        name: "soak",
        acquisitions,
        read_share: 30,
        mutex_share: 30,
    };
    run(&f, mix).await;
    f.finish().await;
}
