//! A worker: a client through one random proxy that loops acquire, critical section (writes to
//! the fenced register, each after checking the lock is still held), release; announcing each
//! phase to the fault injector. The same loop runs for an election (campaign, lead, resign:
//! the leader's writes fenced by its token) and for a semaphore (acquire a permit, work,
//! release: no register, the checker counts the permits held at once).

use super::checker::{Kind, Section};
use super::faults::{Phase, PhaseEvent};
use super::register::Register;
use super::Rng;
use crate::support::*;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use zksync::recipes::{
    Election, Leadership, LockGuard, LockLost, Mutex as ZkMutex, Permit, RwLock, Semaphore,
};
use zksync::{Client, ConnectOptions};

/// The recipe a lane exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipe {
    /// `RwLock` and `Mutex`: `read_share` percent of acquisitions are read locks, and
    /// `mutex_share` percent of the exclusive ones go through `Mutex` rather than
    /// `RwLock::write`.
    Lock { read_share: u64, mutex_share: u64 },
    /// `Election`: campaign, lead (writes fenced by the leadership's token), resign.
    Election,
    /// `Semaphore` of `max` permits: acquire, work, release.
    Semaphore { max: u32 },
}

impl Recipe {
    /// For the report.
    pub fn name(&self) -> String {
        match self {
            Recipe::Lock { .. } => "lock".to_string(),
            Recipe::Election => "election".to_string(),
            Recipe::Semaphore { max } => format!("semaphore (max {max})"),
        }
    }
}

/// What a worker holds: a lock's guard, a leadership or a permit (one contract: token, lease,
/// lost, release).
enum Held {
    Lock(LockGuard),
    Leader(Leadership),
    Permit(Permit),
}

impl Held {
    fn token(&self) -> i64 {
        match self {
            Held::Lock(g) => g.fencing_token(),
            Held::Leader(l) => l.token(),
            Held::Permit(p) => p.token(),
        }
    }
    fn is_lost(&self) -> bool {
        match self {
            Held::Lock(g) => g.is_lost(),
            Held::Leader(l) => l.is_lost(),
            Held::Permit(p) => p.is_lost(),
        }
    }
    fn valid_until(&self) -> Instant {
        match self {
            Held::Lock(g) => g.valid_until(),
            Held::Leader(l) => l.valid_until(),
            Held::Permit(p) => p.valid_until(),
        }
    }
    async fn lost(&self) -> LockLost {
        match self {
            Held::Lock(g) => g.lost().await,
            Held::Leader(l) => l.lost().await,
            Held::Permit(p) => p.lost().await,
        }
    }
    async fn release(self) -> zksync::Result<()> {
        match self {
            Held::Lock(g) => g.unlock().await,
            Held::Leader(l) => l.resign().await,
            Held::Permit(p) => p.release().await,
        }
    }
}

/// An acquire may wait behind a holder whose session is expiring, and behind reconnects:
/// this only catches a hang.
const ACQUIRE_GUARD: Duration = Duration::from_secs(60);

/// What the workers share.
pub struct Shared {
    pub t0: Instant,
    pub dir: String,
    pub proxies: Vec<ProxyInfo>,
    pub session: Duration,
    pub recipe: Recipe,
    pub sections: Mutex<Vec<Section>>,
    pub register: Register,
    pub phases: broadcast::Sender<PhaseEvent>,
    pub counts: Counts,
    /// A holder that acted (wrote, or worked under its permit) after its lease had run out: a
    /// bug of `is_lost()`.
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
    pub fn new(
        t0: Instant,
        dir: String,
        proxies: Vec<ProxyInfo>,
        session: Duration,
        recipe: Recipe,
        phases: broadcast::Sender<PhaseEvent>,
    ) -> Shared {
        Shared {
            t0,
            dir,
            proxies,
            session,
            recipe,
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
        let (kind, via_mutex) = match s.recipe {
            Recipe::Lock {
                read_share,
                mutex_share,
            } => {
                if rng.below(100) < read_share {
                    (Kind::Read, false)
                } else {
                    (Kind::Write, rng.below(100) < mutex_share)
                }
            }
            Recipe::Election => (Kind::Leader, false),
            Recipe::Semaphore { .. } => (Kind::Permit, false),
        };
        announce(proxy, Phase::Acquiring);
        let acquired = tokio::time::timeout(ACQUIRE_GUARD, async {
            match (s.recipe, kind, via_mutex) {
                (Recipe::Election, ..) => Election::new(client.clone(), &s.dir)
                    .with_id(format!("worker-{id}").as_bytes())
                    .campaign()
                    .await
                    .map(Held::Leader),
                (Recipe::Semaphore { max }, ..) => Semaphore::new(client.clone(), &s.dir, max)
                    .acquire()
                    .await
                    .map(Held::Permit),
                (_, Kind::Read, _) => RwLock::new(client.clone(), &s.dir)
                    .read()
                    .await
                    .map(Held::Lock),
                (_, _, false) => RwLock::new(client.clone(), &s.dir)
                    .write()
                    .await
                    .map(Held::Lock),
                (_, _, true) => ZkMutex::new(client.clone(), &s.dir)
                    .lock()
                    .await
                    .map(Held::Lock),
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
            // A permit's one-step section would be a point (it ends at its last check): the
            // permits' short sections have two steps, so that they overlap and the semaphore
            // runs at its limit (where `permit_violations` can catch one too many).
            (1.., _) if kind == Kind::Permit => (2, 20 + rng.below(150)),
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
            if matches!(kind, Kind::Write | Kind::Leader) {
                // The write travels to the resource: usually at once, sometimes slowly (then
                // it may arrive after the lock passed on, and must be turned away).
                let travel = if rng.below(20) == 0 {
                    Duration::from_millis(300 + rng.below(3_000))
                } else {
                    Duration::from_millis(rng.below(5))
                };
                let (reg, token) = (s.clone(), g.token());
                tokio::spawn(async move {
                    tokio::time::sleep(travel).await; // in flight to the resource
                    reg.register.write(section, token);
                });
            }
            let work = tokio::time::sleep(Duration::from_millis(step_ms)); // the work
            if kind == Kind::Read || kind == Kind::Write {
                work.await;
            } else {
                // A leader or a permit holder also stops working the moment `lost()` says so
                // (the section has ended at its last check already).
                tokio::select! {
                    () = work => {}
                    _ = g.lost() => {
                        lost = true;
                        break;
                    }
                }
            }
        }
        s.sections.lock().unwrap().push(Section {
            worker: id,
            proxy,
            kind,
            token: g.token(),
            start,
            end,
            lost,
        });
        announce(proxy, Phase::Unlocking);
        match g.release().await {
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
