//! The faults: random ones (proxy cuts short and long, latency, server restarts), the lock's
//! empty directory tidied away, and targeted ones, aimed at the dangerous windows the workers
//! announce: a guard held, a create in flight, an unlock, a handoff.

use super::checker::FaultWindow;
use super::Rng;
use crate::support::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// What a worker is doing, announced to the fault injector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Its create (and wait) for the lock is under way.
    Acquiring,
    /// It holds the lock, for about `planned_ms`.
    Holding { planned_ms: u64 },
    /// Its unlock (delete) is under way.
    Unlocking,
    /// Between iterations.
    Idle,
}

/// A worker's announcement: it entered `phase`, its session going through `proxy`.
#[derive(Debug, Clone, Copy)]
pub struct PhaseEvent {
    pub worker: usize,
    pub proxy: usize,
    pub phase: Phase,
}

/// The faults injected: windows (for the fault-power count) and counts by kind; also which
/// proxies a fault is working on, so that the two injectors never act on the same proxy at
/// once (one would clear the other's toxic, or re-enable a proxy the other just cut).
pub struct FaultLog {
    t0: Instant,
    windows: Mutex<Vec<FaultWindow>>,
    counts: Mutex<BTreeMap<&'static str, usize>>,
    busy: Mutex<HashSet<usize>>,
}

/// A proxy claimed by one injector's fault; released on drop.
pub struct Claim<'a> {
    log: &'a FaultLog,
    proxy: usize,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.log.busy.lock().unwrap().remove(&self.proxy);
    }
}

impl FaultLog {
    pub fn new(t0: Instant) -> FaultLog {
        FaultLog {
            t0,
            windows: Mutex::default(),
            counts: Mutex::default(),
            busy: Mutex::default(),
        }
    }

    /// Claims proxy `p` for one fault, or `None` if the other injector is working on it.
    fn claim(&self, p: usize) -> Option<Claim<'_>> {
        // The set's lock is released before a Claim exists: dropping one takes it again (and
        // `then_some` would build, and so drop, a Claim even when the proxy is taken).
        let free = self.busy.lock().unwrap().insert(p);
        free.then(|| Claim {
            log: self,
            proxy: p,
        })
    }

    fn record(&self, kind: &'static str, proxy: Option<usize>, start: Instant) {
        self.windows.lock().unwrap().push(FaultWindow {
            start: start - self.t0,
            end: self.t0.elapsed(),
            proxy,
            kind,
        });
        *self.counts.lock().unwrap().entry(kind).or_default() += 1;
    }

    pub fn windows(&self) -> Vec<FaultWindow> {
        self.windows.lock().unwrap().clone()
    }

    /// "kind N, kind N, ..." for the report.
    pub fn summary(&self) -> String {
        let c = self.counts.lock().unwrap();
        let parts: Vec<String> = c.iter().map(|(k, n)| format!("{n} {k}")).collect();
        parts.join(", ")
    }

    pub fn total(&self) -> usize {
        self.counts.lock().unwrap().values().sum()
    }
}

/// The injector's settings.
#[derive(Clone)]
pub struct Plan {
    /// The workers' session timeout: long cuts outlast it.
    pub session: Duration,
    /// Percent of faults aimed at an announced window (the rest are random).
    pub targeted: u64,
    /// Seeds this injector's choices (two run side by side).
    pub seed: u64,
}

/// Injects faults, one at a time, until `stop`.
pub async fn inject(
    f: &Fault,
    plan: &Plan,
    stop: &AtomicBool,
    log: &FaultLog,
    phases: broadcast::Receiver<PhaseEvent>,
) {
    let mut rng = Rng::seeded(plan.seed);
    let mut state: HashMap<usize, PhaseEvent> = HashMap::new();
    let mut phases = phases;
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        // The first three are one of each random kind, so each meets the workload early.
        let targeted = n > 3 && rng.below(100) < plan.targeted;
        if targeted {
            // Most of them at held guards or guards about to be held: only those land inside
            // sections.
            let what = match rng.below(100) {
                0..=24 => 0,
                25..=34 => 1,
                35..=39 => 2,
                40..=44 => 3,
                45..=69 => 5,
                _ => 4,
            };
            // Only what happens from now on counts: start from a fresh receiver.
            phases = phases.resubscribe();
            let wanted = |e: &PhaseEvent| match what {
                // A section longer than a lease: a cut can make the guard lost in the middle.
                0 => matches!(e.phase, Phase::Holding { planned_ms } if planned_ms >= 2_000),
                1 | 5 => e.phase == Phase::Acquiring,
                2 | 3 => e.phase == Phase::Unlocking,
                _ => matches!(e.phase, Phase::Holding { planned_ms } if planned_ms >= 200),
            };
            let within = if what == 0 { 10 } else { 3 };
            let Some(ev) = next_event(&mut phases, &mut state, stop, within, wanted).await else {
                continue;
            };
            match what {
                0 => {
                    hold_cut(
                        f,
                        plan,
                        log,
                        &mut rng,
                        ev.proxy,
                        "cut past the lease while held",
                    )
                    .await
                }
                1 => create_reply_lost(f, log, &mut rng, ev.proxy).await,
                // Latency from the acquire into the section it leads to (most sections are
                // short: a fault must already be there when they start).
                5 => latency(f, log, &mut rng, ev.proxy, "latency while acquiring").await,
                2 => short_cut(f, log, &mut rng, ev.proxy, "cut during unlock").await,
                3 => {
                    // At a handoff: cut a waiter's connection as the holder lets go.
                    let waiter = state
                        .values()
                        .filter(|w| w.worker != ev.worker && w.phase == Phase::Acquiring)
                        .map(|w| w.proxy)
                        .next();
                    if let Some(p) = waiter {
                        short_cut(f, log, &mut rng, p, "cut at a handoff").await;
                    }
                }
                _ => {
                    if rng.below(2) == 0 {
                        short_cut(f, log, &mut rng, ev.proxy, "short cut while held").await;
                    } else {
                        latency(f, log, &mut rng, ev.proxy, "latency while held").await;
                    }
                }
            }
        } else {
            let kind = if n <= 3 { n - 1 } else { rng.below(100) };
            match kind {
                0 | 4..=44 => {
                    let p = rng.below(5) as usize;
                    if n > 4 && rng.below(3) == 0 {
                        let hold = rng.between(plan.session + ms(500), plan.session * 2);
                        cut_for(f, log, p, hold, "long cut (expiry)").await;
                    } else {
                        short_cut(f, log, &mut rng, p, "short cut").await;
                    }
                }
                1 | 45..=74 => {
                    let p = rng.below(5) as usize;
                    latency(f, log, &mut rng, p, "latency").await;
                }
                2..=3 | 75..=99 => {
                    let p = rng.below(5) as usize;
                    let Some(_claim) = log.claim(p) else { continue };
                    let node = f.proxies[p].node;
                    let start = Instant::now();
                    f.kill_node(node).await;
                    tokio::time::sleep(rng.between(ms(200), ms(2000))).await; // the fault held
                    f.start_nodes(&[node]).await;
                    // It hit the sessions on that server (the others may see an election).
                    log.record("server restart", Some(p), start);
                }
                _ => {
                    let p = rng.below(5) as usize;
                    short_cut(f, log, &mut rng, p, "short cut").await;
                }
            }
        }
        // A calm moment between faults.
        tokio::time::sleep(rng.between(ms(50), ms(400))).await;
    }
}

/// A tidy-up job (or ZooKeeper's container reaper): removes the lock's directory whenever it
/// is empty, every 50 ms, until `stop`. Fencing tokens must keep growing across it.
pub async fn tidy(f: &Fault, dir: &str, stop: &AtomicBool, log: &FaultLog) {
    while !stop.load(Ordering::SeqCst) {
        let start = Instant::now();
        if f.admin.delete(dir, None).await.is_ok() {
            log.record("lock directory removed", None, start);
        }
        tokio::time::sleep(ms(50)).await; // the job's pace
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The next announcement that `wanted` accepts (keeping `state` up to date), within `secs`.
async fn next_event(
    phases: &mut broadcast::Receiver<PhaseEvent>,
    state: &mut HashMap<usize, PhaseEvent>,
    stop: &AtomicBool,
    secs: u64,
    wanted: impl Fn(&PhaseEvent) -> bool,
) -> Option<PhaseEvent> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !stop.load(Ordering::SeqCst) {
        match tokio::time::timeout_at(deadline, phases.recv()).await {
            Ok(Ok(ev)) => {
                state.insert(ev.worker, ev);
                if wanted(&ev) {
                    return Some(ev);
                }
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return None,
        }
    }
    None
}

/// Disables proxy `p` for `hold`.
async fn cut_for(f: &Fault, log: &FaultLog, p: usize, hold: Duration, kind: &'static str) {
    let Some(_claim) = log.claim(p) else { return };
    let start = Instant::now();
    set_enabled(&f.proxies[p].name, false).await;
    tokio::time::sleep(hold).await; // the fault held
    set_enabled(&f.proxies[p].name, true).await;
    log.record(kind, Some(p), start);
}

/// Latency of 50 to 750 ms one way on proxy `p`, for 0.3 to 2 s.
async fn latency(f: &Fault, log: &FaultLog, rng: &mut Rng, p: usize, kind: &'static str) {
    let Some(_claim) = log.claim(p) else { return };
    let stream = if rng.below(2) == 0 { DOWN } else { UP };
    let delay = 50 + rng.below(700) as u32;
    let start = Instant::now();
    add_toxic(&f.proxies[p].name, stream, Toxic::Latency { ms: delay }).await;
    tokio::time::sleep(rng.between(ms(300), ms(2000))).await; // the fault held
    clear_toxics(&f.proxies[p].name).await;
    log.record(kind, Some(p), start);
}

/// A cut of 100 ms to 1.5 s (shorter than a lease).
async fn short_cut(f: &Fault, log: &FaultLog, rng: &mut Rng, p: usize, kind: &'static str) {
    cut_for(f, log, p, rng.between(ms(100), ms(1500)), kind).await;
}

/// A cut of a holder's connection past its lease (the guard must say so before anybody else
/// acquires), often past its session (then another worker takes over).
async fn hold_cut(
    f: &Fault,
    plan: &Plan,
    log: &FaultLog,
    rng: &mut Rng,
    p: usize,
    kind: &'static str,
) {
    let hold = rng.between(plan.session * 2 / 3, plan.session * 3 / 2);
    cut_for(f, log, p, hold, kind).await;
}

/// The reply to a create is lost: replies stop (the request still reaches the server and is
/// applied), then the connection is cut; the worker must find its node again, not make a second.
async fn create_reply_lost(f: &Fault, log: &FaultLog, rng: &mut Rng, p: usize) {
    let Some(_claim) = log.claim(p) else { return };
    let start = Instant::now();
    let name = f.proxies[p].name.clone();
    add_toxic(&name, DOWN, Toxic::Timeout { ms: 0 }).await;
    tokio::time::sleep(rng.between(ms(20), ms(150))).await; // the request goes out, no reply
    set_enabled(&name, false).await;
    tokio::time::sleep(rng.between(ms(100), ms(600))).await; // the fault held
    clear_toxics(&name).await;
    set_enabled(&name, true).await;
    log.record("create reply lost", Some(p), start);
}
