//! The double barrier under the same faults: rounds of `PARTICIPANTS` participants (each a
//! client through a random proxy, kept across rounds until its session ends) that arrive at
//! staggered moments, `enter`, work a while (announced to the fault injector as a held
//! section, so aimed faults strike it), and `leave`. Each round has its own barrier path.
//!
//! What is checked, per round (the harness sees every participant's clock-ordered timeline):
//! - **enter**: no participant's `enter` returned before every participant had arrived (begun
//!   its first `enter`): the barrier let nobody through early, whatever the faults did.
//! - **leave**: no participant's `leave` returned before every other participant that stayed
//!   in the round (same session from its `enter` to its successful `leave`, so its node lived
//!   until its own `leave` deleted it) had begun its `leave`.
//! - every round ends (a hang guard), and every error is a session's end, never another one.
//!
//! A participant whose session ends (expiry) is a casualty: before anybody has begun to leave,
//! it enters again with a new session (the textbook recipe lets a restarted participant rejoin);
//! after that, it gives up the round (a newcomer would wait for a count that never comes).

use super::faults::{Phase, PhaseEvent};
use super::Rng;
use crate::support::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};
use zksync::recipes::DoubleBarrier;
use zksync::{Client, ConnectOptions};

/// Participants per round (the barrier's count).
pub const PARTICIPANTS: usize = 3;

/// Worker ids of participants in phase announcements (apart from the lock workers').
const FIRST_ID: usize = 1_000;

/// A round waits for casualties to rejoin and for expiries: this only catches a hang.
const ROUND_GUARD: Duration = Duration::from_secs(120);

/// One round, as the harness saw it (for the fault-power count).
#[derive(Debug, Clone)]
pub struct Round {
    pub start: Duration,
    pub end: Duration,
    /// Every proxy a participant's session of this round went through.
    pub proxies: Vec<usize>,
    /// Participants whose session ended during the round.
    pub casualties: usize,
}

/// What the rounds came to.
#[derive(Debug, Default)]
pub struct Report {
    pub rounds: Vec<Round>,
    /// Successful `enter`s.
    pub entries: usize,
    pub sessions: usize,
    pub violations: Vec<String>,
    /// A hung round or a participant's unexpected error (the rounds stop there).
    pub error: Option<String>,
}

/// One participant's timeline in one round (since the run's start).
#[derive(Debug, Default, Clone)]
struct Timeline {
    arrived: Option<Duration>,
    entered: Option<Duration>,
    leave_begun: Option<Duration>,
    left: Option<Duration>,
    /// Its session was the same from its successful `enter` to its successful `leave`.
    stayed: bool,
    casualty: bool,
    proxies: Vec<usize>,
}

/// A participant's client and the proxy its session goes through.
struct Seat {
    client: Client,
    proxy: usize,
}

/// What every participant of a round shares.
struct RoundCtx {
    t0: Instant,
    path: String,
    proxies: Vec<ProxyInfo>,
    session: Duration,
    phases: broadcast::Sender<PhaseEvent>,
    /// Set once a participant begins to leave: casualties stop rejoining then.
    leaving: watch::Sender<bool>,
    sessions: std::sync::atomic::AtomicUsize,
    /// Every participant's timeline as it goes (a hung round is still checked).
    timelines: std::sync::Mutex<Vec<Timeline>>,
}

impl RoundCtx {
    fn record(&self, i: usize, t: &Timeline) {
        self.timelines.lock().unwrap()[i] = t.clone();
    }
}

/// Runs rounds until `stop` (finishing the round under way).
pub async fn rounds(
    t0: Instant,
    dir: String,
    proxies: Vec<ProxyInfo>,
    session: Duration,
    stop: &AtomicBool,
    phases: broadcast::Sender<PhaseEvent>,
) -> Report {
    let mut report = Report::default();
    let mut rng = Rng::seeded(0xba77);
    let mut seats = Vec::new();
    for _ in 0..PARTICIPANTS {
        seats.push(Some(new_seat(&proxies, session, &mut rng).await));
        report.sessions += 1;
    }
    let mut r = 0;
    while !stop.load(Ordering::SeqCst) {
        let ctx = Arc::new(RoundCtx {
            t0,
            path: format!("{dir}/round-{r}"),
            proxies: proxies.clone(),
            session,
            phases: phases.clone(),
            leaving: watch::channel(false).0,
            sessions: Default::default(),
            timelines: std::sync::Mutex::new(vec![Timeline::default(); PARTICIPANTS]),
        });
        let mut tasks = Vec::new();
        for (i, seat) in seats.iter_mut().enumerate() {
            let seat = seat.take().expect("seated");
            let seed = rng.next();
            tasks.push(tokio::spawn(participant(i, seat, ctx.clone(), seed)));
        }
        let aborts: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
        let mut timelines = Vec::new();
        let outcome = tokio::time::timeout(ROUND_GUARD, async {
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await);
            }
            out
        })
        .await;
        let Ok(outcome) = outcome else {
            // A hung round: what it did so far may show why (an early enter, say).
            aborts.iter().for_each(|a| a.abort());
            report
                .violations
                .extend(check(r, &ctx.timelines.lock().unwrap()));
            report.error = Some(format!(
                "double barrier round {r} hung for {ROUND_GUARD:?}: {:?}",
                ctx.timelines.lock().unwrap()
            ));
            return report;
        };
        for (i, o) in outcome.into_iter().enumerate() {
            match o {
                Ok(Ok((seat, timeline))) => {
                    seats[i] = Some(seat);
                    timelines.push(timeline);
                }
                Ok(Err(e)) => report.error = Some(e),
                Err(e) => report.error = Some(format!("participant {i} panicked: {e}")),
            }
        }
        if report.error.is_some() {
            report
                .violations
                .extend(check(r, &ctx.timelines.lock().unwrap()));
            return report;
        }
        report.sessions += ctx.sessions.load(Ordering::Relaxed);
        report.violations.extend(check(r, &timelines));
        report.entries += timelines.iter().filter(|t| t.entered.is_some()).count();
        let mut used: Vec<usize> = timelines.iter().flat_map(|t| t.proxies.clone()).collect();
        used.sort();
        used.dedup();
        let times = timelines
            .iter()
            .flat_map(|t| [t.arrived, t.entered, t.leave_begun, t.left])
            .flatten();
        report.rounds.push(Round {
            start: times.clone().min().unwrap_or_default(),
            end: times.max().unwrap_or_default(),
            proxies: used,
            casualties: timelines.iter().filter(|t| t.casualty).count(),
        });
        r += 1;
    }
    for seat in seats.into_iter().flatten() {
        seat.client.close().await;
    }
    report
}

/// The violations among one round's timelines (see the module's doc).
fn check(round: usize, ts: &[Timeline]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, t) in ts.iter().enumerate() {
        if let Some(entered) = t.entered {
            for (j, u) in ts.iter().enumerate() {
                if u.arrived.is_none_or(|a| a > entered) {
                    out.push(format!(
                        "round {round}: p{i}'s enter returned at {entered:?}, before p{j} \
                         arrived ({:?})",
                        u.arrived
                    ));
                }
            }
        }
        if let Some(left) = t.left {
            for (j, u) in ts.iter().enumerate() {
                if j != i && u.stayed && u.leave_begun.is_none_or(|b| b > left) {
                    out.push(format!(
                        "round {round}: p{i}'s leave returned at {left:?}, before p{j} (whose \
                         node lived until its own leave) began to leave ({:?})",
                        u.leave_begun
                    ));
                }
            }
        }
    }
    out
}

async fn new_seat(proxies: &[ProxyInfo], session: Duration, rng: &mut Rng) -> Seat {
    guard("a participant's session through some proxy", async {
        loop {
            let p = rng.below(proxies.len() as u64) as usize;
            let r = ConnectOptions::default()
                .session_timeout(session)
                .establish_timeout(Duration::from_secs(2))
                .connect(&proxies[p].addr)
                .await;
            if let Ok(client) = r {
                return Seat { client, proxy: p };
            }
        }
    })
    .await
}

/// One participant's round: arrive (staggered), enter (rejoining after a session's end while
/// nobody leaves yet), work, leave.
async fn participant(
    i: usize,
    mut seat: Seat,
    ctx: Arc<RoundCtx>,
    seed: u64,
) -> Result<(Seat, Timeline), String> {
    let mut rng = Rng::seeded(seed);
    let id = format!("p{i}");
    let worker = FIRST_ID + i;
    let announce = |proxy: usize, phase: Phase| {
        let _ = ctx.phases.send(PhaseEvent {
            worker,
            proxy,
            phase,
        });
    };
    let now = || ctx.t0.elapsed();
    let mut t = Timeline::default();
    // Participants arrive at different moments: an early release would show.
    tokio::time::sleep(Duration::from_millis(rng.below(1_500))).await;
    let mut leaving = ctx.leaving.subscribe();
    t.arrived = Some(now());
    ctx.record(i, &t);
    let entered_session = loop {
        if seat.client.state().is_terminal() {
            seat.client.close().await;
            seat = new_seat(&ctx.proxies, ctx.session, &mut rng).await;
            ctx.sessions.fetch_add(1, Ordering::Relaxed);
        }
        t.proxies.push(seat.proxy);
        announce(seat.proxy, Phase::Acquiring);
        let barrier = DoubleBarrier::new(seat.client.clone(), &ctx.path, &id, PARTICIPANTS);
        let r = tokio::select! {
            r = barrier.enter() => r,
            // Somebody leaves: too late to rejoin (the dropped enter removes our node).
            _ = leaving.wait_for(|l| *l), if t.casualty => {
                announce(seat.proxy, Phase::Idle);
                return Ok((seat, t));
            }
        };
        match r {
            Ok(()) => break seat.client.session_id(),
            Err(e) if e.is_terminal() => t.casualty = true,
            // Our id's node of the ended session is not gone yet (or a retry raced it).
            Err(e) if e.is_node_exists() => {
                tokio::time::sleep(Duration::from_millis(100)).await; // retry pace
            }
            Err(e) => return Err(format!("{}: p{i} enter failed: {e:?}", ctx.path)),
        }
    };
    t.entered = Some(now());
    ctx.record(i, &t);
    let work = match rng.below(3) {
        0 => 1_000 + rng.below(2_500),
        _ => rng.below(300),
    };
    announce(seat.proxy, Phase::Holding { planned_ms: work });
    tokio::time::sleep(Duration::from_millis(work)).await; // the work
    announce(seat.proxy, Phase::Unlocking);
    t.leave_begun = Some(now());
    ctx.record(i, &t);
    ctx.leaving.send_replace(true);
    let barrier = DoubleBarrier::new(seat.client.clone(), &ctx.path, &id, PARTICIPANTS);
    match barrier.leave().await {
        Ok(()) => {
            t.left = Some(now());
            t.stayed = seat.client.session_id() == entered_session;
        }
        Err(e) if e.is_terminal() => t.casualty = true,
        Err(e) => return Err(format!("{}: p{i} leave failed: {e:?}", ctx.path)),
    }
    announce(seat.proxy, Phase::Idle);
    Ok((seat, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Option<Duration> {
        Some(Duration::from_millis(n))
    }

    fn tl(arrived: u64, entered: u64, leave_begun: u64, left: u64) -> Timeline {
        Timeline {
            arrived: ms(arrived),
            entered: ms(entered),
            leave_begun: ms(leave_begun),
            left: ms(left),
            stayed: true,
            ..Timeline::default()
        }
    }

    #[test]
    fn accepts_a_correct_round() {
        let ts = [tl(0, 30, 40, 90), tl(10, 31, 80, 85), tl(30, 30, 50, 86)];
        assert!(check(0, &ts).is_empty(), "{:?}", check(0, &ts));
    }

    #[test]
    fn finds_an_early_enter_and_an_early_leave() {
        let v = check(0, &[tl(0, 5, 40, 90), tl(10, 31, 40, 90)]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("enter returned"));
        let v = check(0, &[tl(0, 30, 40, 50), tl(10, 31, 60, 90)]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("leave returned"));
    }

    #[test]
    fn a_participant_whose_session_ended_is_not_waited_for() {
        let mut gone = tl(10, 31, 60, 90);
        gone.stayed = false;
        gone.left = None;
        assert!(check(0, &[tl(0, 30, 40, 50), gone]).is_empty());
    }
}
