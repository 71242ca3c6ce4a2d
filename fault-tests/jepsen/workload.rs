//! A worker: a client through one random proxy that loops acquire, critical section (writes to
//! the fenced register, each after checking the lock is still held), release; announcing each
//! phase to the fault injector.

use super::checker::Section;
use super::faults::{Phase, PhaseEvent};
use super::register::Register;
use super::Rng;
use crate::support::*;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use zksync::recipes::{LockKind, Mutex as ZkMutex, RwLock};
use zksync::{Client, ConnectOptions};

/// An acquire may wait behind a holder whose session is expiring, and behind reconnects:
/// this only catches a hang.
const ACQUIRE_GUARD: Duration = Duration::from_secs(60);

/// What the workers share.
pub struct Shared {
    pub t0: Instant,
    pub dir: String,
    pub proxies: Vec<ProxyInfo>,
    pub session: Duration,
    /// Percent of acquisitions that are shared (read) locks.
    pub read_share: u64,
    /// Percent of exclusive acquisitions made through `Mutex` rather than `RwLock::write`.
    pub mutex_share: u64,
    pub sections: Mutex<Vec<Section>>,
    pub register: Register,
    pub phases: broadcast::Sender<PhaseEvent>,
    pub counts: Counts,
    /// A holder that acted (wrote) after its lease had run out: a bug of `is_lost()`.
    pub lapsed: Mutex<Vec<String>>,
    next_section: AtomicU64,
}

#[derive(Default)]
pub struct Counts {
    pub acquire_failed: AtomicUsize,
    pub sessions: AtomicUsize,
    pub mutex: AtomicUsize,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        t0: Instant,
        dir: String,
        proxies: Vec<ProxyInfo>,
        session: Duration,
        read_share: u64,
        mutex_share: u64,
        phases: broadcast::Sender<PhaseEvent>,
    ) -> Shared {
        Shared {
            t0,
            dir,
            proxies,
            session,
            read_share,
            mutex_share,
            sections: Mutex::default(),
            register: Register::default(),
            phases,
            counts: Counts::default(),
            lapsed: Mutex::default(),
            next_section: AtomicU64::new(1),
        }
    }
}

/// A client through one random proxy (its index); retries others while proxies or servers
/// are down.
async fn new_client(s: &Shared, rng: &mut Rng) -> (Client, usize) {
    guard("a new session through some proxy", async {
        loop {
            let p = rng.below(s.proxies.len() as u64) as usize;
            let r = ConnectOptions::default()
                .session_timeout(s.session)
                .establish_timeout(Duration::from_secs(2))
                .connect(&s.proxies[p].addr)
                .await;
            if let Ok(c) = r {
                return (c, p);
            }
        }
    })
    .await
}

/// Runs `iterations` acquisitions.
pub async fn worker(id: usize, iterations: usize, s: Arc<Shared>) -> Result<(), String> {
    let mut rng = Rng::seeded(id as u64 + 1);
    let (mut client, mut proxy) = new_client(&s, &mut rng).await;
    s.counts.sessions.fetch_add(1, Ordering::Relaxed);
    let announce = |proxy: usize, phase: Phase| {
        let _ = s.phases.send(PhaseEvent {
            worker: id,
            proxy,
            phase,
        });
    };
    for i in 0..iterations {
        if client.state().is_terminal() {
            client.close().await;
            (client, proxy) = new_client(&s, &mut rng).await;
            s.counts.sessions.fetch_add(1, Ordering::Relaxed);
        }
        let kind = if rng.below(100) < s.read_share {
            LockKind::Read
        } else {
            LockKind::Write
        };
        let via_mutex = kind == LockKind::Write && rng.below(100) < s.mutex_share;
        announce(proxy, Phase::Acquiring);
        let acquired = tokio::time::timeout(ACQUIRE_GUARD, async {
            match (kind, via_mutex) {
                (LockKind::Read, _) => RwLock::new(client.clone(), &s.dir).read().await,
                (_, false) => RwLock::new(client.clone(), &s.dir).write().await,
                (_, true) => ZkMutex::new(client.clone(), &s.dir).lock().await,
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
                s.counts.acquire_failed.fetch_add(1, Ordering::Relaxed);
                announce(proxy, Phase::Idle);
                continue;
            }
            Err(e) => return Err(format!("worker {id} iteration {i}: acquire failed: {e:?}")),
        };
        if via_mutex {
            s.counts.mutex.fetch_add(1, Ordering::Relaxed);
        }
        let start = s.t0.elapsed();
        let section = s.next_section.fetch_add(1, Ordering::Relaxed);
        // Mostly short sections; a third long enough (several steps) for faults to land in,
        // and some of those longer than a lease (a cut then makes the guard lost mid-section).
        let (steps, step_ms) = match (rng.below(3), rng.below(6)) {
            (1.., _) => (1, rng.below(15)),
            (0, 0) => (8, 300 + rng.below(200)),
            (0, _) => (4, 50 + rng.below(250)),
        };
        announce(
            proxy,
            Phase::Holding {
                planned_ms: steps * step_ms,
            },
        );
        let mut end = start;
        let mut lost = false;
        for _ in 0..steps {
            // Before every step: is the lock still ours? (Taken before the check, `now` is no
            // later than the instant `is_lost()` judged by.)
            let now = Instant::now();
            if g.is_lost() {
                lost = true;
                break;
            }
            if now >= g.valid_until() {
                s.lapsed.lock().unwrap().push(format!(
                    "worker {id} section {section}: is_lost() said held {:?} after the lease ran out",
                    now - g.valid_until()
                ));
            }
            end = s.t0.elapsed();
            if kind == LockKind::Write {
                // The write travels to the resource: usually at once, sometimes slowly (then
                // it may arrive after the lock passed on, and must be turned away).
                let travel = if rng.below(20) == 0 {
                    Duration::from_millis(300 + rng.below(3_000))
                } else {
                    Duration::from_millis(rng.below(5))
                };
                let (reg, token) = (s.clone(), g.fencing_token());
                tokio::spawn(async move {
                    tokio::time::sleep(travel).await; // in flight to the resource
                    reg.register.write(section, token);
                });
            }
            tokio::time::sleep(Duration::from_millis(step_ms)).await; // the work
        }
        s.sections.lock().unwrap().push(Section {
            worker: id,
            proxy,
            kind,
            token: g.fencing_token(),
            start,
            end,
            lost,
        });
        announce(proxy, Phase::Unlocking);
        match g.unlock().await {
            Ok(()) => {}
            Err(e) if e.is_terminal() => {}
            Err(e) => return Err(format!("worker {id} iteration {i}: unlock failed: {e:?}")),
        }
        announce(proxy, Phase::Idle);
        // A moment between jobs (clients do not hammer a lock without pause; the lock's
        // directory is sometimes empty then, and may be tidied away).
        tokio::time::sleep(Duration::from_millis(rng.below(200))).await;
    }
    client.close().await;
    Ok(())
}
