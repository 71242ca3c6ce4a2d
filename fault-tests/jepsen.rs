//! A mutual-exclusion checker under random faults, in the spirit of Jepsen.
//!
//! Workers (each a client through one random proxy) loop: acquire the lock, run a short
//! critical section, release. A section counts only if its guard is not `lost()` when it
//! ends; the checker then requires, for every pair of counted sections of which at least one
//! is a writer's: they do not overlap in time, and the earlier one has the smaller fencing
//! token. Meanwhile a fault task disables proxies (short cuts and cuts long enough to expire
//! sessions), adds latency, and restarts servers (one at a time, the leader included).

use crate::support::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zksync::recipes::{LockKind, RwLock};
use zksync::{Client, ConnectOptions};

/// One critical section whose guard was not lost when it ended.
#[derive(Debug, Clone)]
pub struct Section {
    pub worker: usize,
    pub kind: LockKind,
    pub token: i64,
    /// Since the start of the run (one monotonic clock for every worker).
    pub start: Duration,
    pub end: Duration,
}

/// Every violation of mutual exclusion and of fencing-token order among `sections`.
pub fn violations(sections: &[Section]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in sections.iter().enumerate() {
        for b in &sections[i + 1..] {
            if a.kind == LockKind::Read && b.kind == LockKind::Read {
                continue; // readers share
            }
            if a.start < b.end && b.start < a.end {
                out.push(format!("overlap: {a:?} and {b:?}"));
                continue;
            }
            let (first, second) = if a.end <= b.start { (a, b) } else { (b, a) };
            if first.token >= second.token {
                out.push(format!(
                    "token order: {first:?} ended before {second:?} started, with a token not smaller"
                ));
            }
        }
    }
    out
}

/// A small xorshift generator (the tests need no rand crate).
struct Rng(u64);

impl Rng {
    fn seeded(salt: u64) -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Rng((nanos ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = (hi - lo).as_millis() as u64;
        lo + Duration::from_millis(self.below(span + 1))
    }
}

const WORKERS: usize = 8;
const ITERATIONS: usize = 40;
const SESSION: Duration = Duration::from_secs(3);
/// An acquire may wait behind a holder whose session is expiring, and behind reconnects:
/// this only catches a hang.
const ACQUIRE_GUARD: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Counts {
    sections: AtomicUsize,
    lost: AtomicUsize,
    acquire_failed: AtomicUsize,
    sessions: AtomicUsize,
}

#[derive(Default, Debug)]
struct Faults {
    cuts: usize,
    long_cuts: usize,
    latency: usize,
    restarts: usize,
}

/// A client through one random proxy; retries others while proxies or servers are down.
async fn new_client(proxies: &[ProxyInfo], rng: &mut Rng) -> Client {
    guard("a new session through some proxy", async {
        loop {
            let p = &proxies[rng.below(proxies.len() as u64) as usize];
            let r = ConnectOptions::default()
                .session_timeout(SESSION)
                .establish_timeout(Duration::from_secs(2))
                .connect(&p.addr)
                .await;
            if let Ok(c) = r {
                return c;
            }
        }
    })
    .await
}

async fn worker(
    id: usize,
    dir: String,
    proxies: Vec<ProxyInfo>,
    read_share: u64,
    t0: Instant,
    sections: Arc<Mutex<Vec<Section>>>,
    counts: Arc<Counts>,
) -> Result<(), String> {
    let mut rng = Rng::seeded(id as u64 + 1);
    let mut client = new_client(&proxies, &mut rng).await;
    counts.sessions.fetch_add(1, Ordering::Relaxed);
    for i in 0..ITERATIONS {
        if client.state().is_terminal() {
            client.close().await;
            client = new_client(&proxies, &mut rng).await;
            counts.sessions.fetch_add(1, Ordering::Relaxed);
        }
        let kind = if rng.below(100) < read_share {
            LockKind::Read
        } else {
            LockKind::Write
        };
        let lock = RwLock::new(client.clone(), &dir);
        let acquired = tokio::time::timeout(ACQUIRE_GUARD, async {
            match kind {
                LockKind::Read => lock.read().await,
                LockKind::Write => lock.write().await,
            }
        })
        .await
        .map_err(|_| {
            format!(
                "worker {id} iteration {i}: {kind:?} acquire hung for {ACQUIRE_GUARD:?} \
                 (session {:#x}, state {:?})",
                client.session_id(),
                client.state()
            )
        })?;
        let g = match acquired {
            Ok(g) => g,
            Err(e) if e.is_terminal() => {
                counts.acquire_failed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Err(e) => return Err(format!("worker {id} iteration {i}: acquire failed: {e:?}")),
        };
        let start = t0.elapsed();
        // The critical work: mostly short, sometimes long enough for a fault to strike
        // while the lock is held (then the guard must report the loss in time).
        let work = if rng.below(10) == 0 {
            100 + rng.below(500)
        } else {
            rng.below(15)
        };
        tokio::time::sleep(Duration::from_millis(work)).await;
        let end = t0.elapsed();
        if g.is_lost() {
            counts.lost.fetch_add(1, Ordering::Relaxed);
        } else {
            sections.lock().unwrap().push(Section {
                worker: id,
                kind,
                token: g.fencing_token(),
                start,
                end,
            });
            counts.sections.fetch_add(1, Ordering::Relaxed);
        }
        match g.unlock().await {
            Ok(()) => {}
            Err(e) if e.is_terminal() => {}
            Err(e) => return Err(format!("worker {id} iteration {i}: unlock failed: {e:?}")),
        }
    }
    client.close().await;
    Ok(())
}

/// Injects faults, one at a time, until `stop`: the first three are one of each kind.
async fn inject_faults(f: &Fault, stop: &AtomicBool, faults: &Mutex<Faults>) {
    let mut rng = Rng::seeded(0xfa17);
    let mut first: Vec<u64> = vec![0, 1, 2];
    // Shuffle the first three so the kinds meet the workload at different moments.
    for i in (1..first.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        first.swap(i, j);
    }
    let mut n = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let kind = first
            .get(n)
            .copied()
            .unwrap_or_else(|| match rng.below(100) {
                0..=44 => 0,
                45..=84 => 1,
                _ => 2,
            });
        n += 1;
        // The first three faults (one of each kind) are brief, so that every kind meets the
        // workload early; later ones vary more.
        let brief = n <= first.len();
        match kind {
            0 => {
                // Disable a proxy: a short cut, or one long enough to expire its clients.
                let p = f.proxies[rng.below(5) as usize].name.clone();
                let long = !brief && rng.below(3) == 0;
                let hold = if long {
                    rng.between(SESSION + Duration::from_millis(500), SESSION * 2)
                } else {
                    rng.between(Duration::from_millis(100), SESSION / 2)
                };
                set_enabled(&p, false).await;
                tokio::time::sleep(hold).await; // the fault held
                set_enabled(&p, true).await;
                let mut fl = faults.lock().unwrap();
                if long {
                    fl.long_cuts += 1
                } else {
                    fl.cuts += 1
                }
            }
            1 => {
                let p = f.proxies[rng.below(5) as usize].name.clone();
                let stream = if rng.below(2) == 0 { DOWN } else { UP };
                let ms = 50 + rng.below(700) as u32;
                add_toxic(&p, stream, Toxic::Latency { ms }).await;
                let hold = if brief {
                    Duration::from_millis(500)
                } else {
                    Duration::from_secs(2)
                };
                tokio::time::sleep(rng.between(Duration::from_millis(300), hold)).await; // the fault held
                clear_toxics(&p).await;
                faults.lock().unwrap().latency += 1;
            }
            _ => {
                let node = 1 + rng.below(5) as usize;
                f.kill_node(node).await;
                let hold = if brief {
                    Duration::from_millis(300)
                } else {
                    Duration::from_secs(2)
                };
                tokio::time::sleep(rng.between(Duration::from_millis(200), hold)).await; // the fault held
                f.start_nodes(&[node]).await;
                faults.lock().unwrap().restarts += 1;
            }
        }
        tokio::time::sleep(rng.between(Duration::from_millis(100), Duration::from_millis(600)))
            .await; // a calm moment between faults
    }
}

/// One run: `WORKERS` workers, `read_share` percent of their acquisitions shared.
async fn run(f: &Fault, name: &str, read_share: u64) {
    let dir = f.path(name);
    let t0 = Instant::now();
    let sections: Arc<Mutex<Vec<Section>>> = Arc::default();
    let counts = Arc::new(Counts::default());
    let stop = AtomicBool::new(false);
    let faults = Mutex::new(Faults::default());
    let mut workers = Vec::new();
    for id in 0..WORKERS {
        workers.push(tokio::spawn(worker(
            id,
            dir.clone(),
            f.proxies[..5].to_vec(),
            read_share,
            t0,
            sections.clone(),
            counts.clone(),
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
    let (errors, ()) = guard_for(
        &format!("{name}: the workers and the fault task"),
        Duration::from_secs(240),
        async { tokio::join!(work, inject_faults(f, &stop, &faults)) },
    )
    .await;
    let took = t0.elapsed();
    reset_proxies().await;

    let mut sections = sections.lock().unwrap().clone();
    sections.sort_by_key(|s| s.start);
    let bad = violations(&sections);
    let readers_overlapping = sections
        .windows(2)
        .filter(|w| w[0].kind == LockKind::Read && w[1].kind == LockKind::Read)
        .filter(|w| w[1].start < w[0].end)
        .count();
    let mut active: Vec<usize> = sections.iter().map(|s| s.worker).collect();
    active.sort();
    active.dedup();
    let faults = std::mem::take(&mut *faults.lock().unwrap());
    eprintln!(
        "jepsen {name}: {WORKERS} workers x {ITERATIONS} iterations in {took:?}: {} sections \
         checked ({} read, {} write, by {} workers; {readers_overlapping} overlapping reader \
         pairs), {} lost \
         (guard reported lost), {} acquires failed with the session, {} sessions; faults: \
         {} short cuts, {} long cuts (expiry), {} latency, {} server restarts; violations: {}",
        counts.sections.load(Ordering::Relaxed),
        sections.iter().filter(|s| s.kind == LockKind::Read).count(),
        sections
            .iter()
            .filter(|s| s.kind == LockKind::Write)
            .count(),
        active.len(),
        counts.lost.load(Ordering::Relaxed),
        counts.acquire_failed.load(Ordering::Relaxed),
        counts.sessions.load(Ordering::Relaxed),
        faults.cuts,
        faults.long_cuts,
        faults.latency,
        faults.restarts,
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
    let attempted = WORKERS * ITERATIONS;
    let done = counts.sections.load(Ordering::Relaxed)
        + counts.lost.load(Ordering::Relaxed)
        + counts.acquire_failed.load(Ordering::Relaxed);
    assert_eq!(done, attempted, "{name}: every iteration accounted for");
    assert!(
        counts.sections.load(Ordering::Relaxed) >= attempted / 2,
        "{name}: too few sections completed to mean anything"
    );
    assert!(
        faults.cuts + faults.long_cuts > 0 && faults.latency > 0 && faults.restarts > 0,
        "{name}: not every kind of fault was injected: {faults:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault test: needs Toxiproxy and the local ensemble (scripts/test runs it)"]
async fn mutual_exclusion_holds_under_random_faults() {
    let f = Fault::begin("jepsen").await;
    run(&f, "writers", 0).await;
    run(&f, "readers-and-writers", 50).await;
    f.finish().await;
}

#[cfg(test)]
mod checker {
    use super::*;

    fn s(worker: usize, kind: LockKind, token: i64, start: u64, end: u64) -> Section {
        Section {
            worker,
            kind,
            token,
            start: Duration::from_millis(start),
            end: Duration::from_millis(end),
        }
    }
    use LockKind::{Read, Write};

    #[test]
    fn accepts_a_correct_history() {
        let h = [
            s(0, Write, 1, 0, 10),
            s(1, Read, 2, 11, 20),
            s(2, Read, 3, 12, 25),
            s(3, Write, 4, 26, 30),
            s(1, Read, 6, 31, 40),
            // A later reader that started first (both readers waited for the same writer).
            s(2, Read, 5, 41, 45),
        ];
        assert!(violations(&h).is_empty(), "{:?}", violations(&h));
    }

    #[test]
    fn finds_overlapping_writers_and_reader_writer_overlap() {
        let v = violations(&[s(0, Write, 1, 0, 10), s(1, Write, 2, 9, 20)]);
        assert_eq!(v.len(), 1);
        assert!(v[0].starts_with("overlap"));
        let v = violations(&[s(0, Read, 1, 0, 10), s(1, Write, 2, 5, 6)]);
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn finds_tokens_going_backwards() {
        let v = violations(&[s(0, Write, 5, 0, 10), s(1, Write, 4, 11, 20)]);
        assert_eq!(v.len(), 1);
        assert!(v[0].starts_with("token order"));
        let v = violations(&[s(0, Read, 5, 0, 10), s(1, Write, 4, 11, 20)]);
        assert_eq!(v.len(), 1);
    }
}
