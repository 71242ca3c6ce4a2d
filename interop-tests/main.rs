//! zksync beside the real Apache Curator 5.4 (Debian's jars) and kazoo (Debian's 2.8.0, and
//! 2.11.0 from PyPI for the read-write lock): mixed contenders on one mutex, read-write lock,
//! semaphore and election, checked by the fault tests' overlap checker; both orders of a
//! handoff; a holder of each side killed with SIGKILL while the other waits.
//!
//! Needs the local ensemble (`ZOOKEEPER_PEERS`) and `scripts/common.sh ensure_interop` (the
//! Java program compiled, the kazoo 2.11 venv); `scripts/test` runs it.

mod support;

use std::time::Duration;
use support::*;
use zksync::recipes::{Layout, Mutex};
use zksync_test_support::overlap::{peak_permits, permit_violations, violations, Kind, Section};
use zksync_test_support::*;

fn kind_of(recipe: &str) -> Kind {
    match recipe {
        "read" => Kind::Read,
        "semaphore" => Kind::Permit,
        "election" => Kind::Leader,
        _ => Kind::Write,
    }
}

/// Where the waiters of a recipe queue (and how many nodes the gate leaves there).
fn queue_dir(lib: Lib, recipe: &str, path: &str) -> (String, usize) {
    match (recipe, lib.layout()) {
        ("semaphore", Layout::Curator) => (format!("{path}/locks"), 0),
        ("semaphore", _) => (format!("{path}-__lock__"), 0),
        _ => (path.to_string(), 1),
    }
}

/// Two contenders of `lib` and two of zksync (in `lib`'s layout), `rounds` each, on one path,
/// released together from behind a zksync holder (the gate), so they really contend. Checked:
/// no two writers (leaders) at once and readers only with readers, or at most `max` permits;
/// every contender finished its rounds; the holders alternated between the libraries.
async fn mixed(lib: Lib, recipes: [&str; 2], max: u32) {
    let ns = Namespace::new(&format!("interop-{lib:?}-{}", recipes[1]).to_lowercase()).await;
    let path = ns.path("r");
    let layout = lib.layout();
    let rounds = 15;
    let hold = Duration::from_millis(5);
    // The gate: zksync holds everything (the write lock, the leadership, all the permits).
    let gate_client = client().await;
    let mut gate = Vec::new();
    for _ in 0..(if recipes[1] == "semaphore" { max } else { 1 }) {
        gate.push(match recipes[1] {
            "semaphore" => Gate::Permit(
                zksync::recipes::Semaphore::new(gate_client.clone(), &path, max)
                    .with_layout(layout)
                    .acquire()
                    .await
                    .unwrap(),
            ),
            "election" => Gate::Leader(
                zksync::recipes::Election::new(gate_client.clone(), &path)
                    .with_layout(layout)
                    .campaign()
                    .await
                    .unwrap(),
            ),
            "mutex" => Gate::Lock(
                Mutex::new(gate_client.clone(), &path)
                    .with_layout(layout)
                    .lock()
                    .await
                    .unwrap(),
            ),
            _ => Gate::Lock(
                zksync::recipes::RwLock::new(gate_client.clone(), &path)
                    .with_layout(layout)
                    .write()
                    .await
                    .unwrap(),
            ),
        });
    }
    let mut foreign = Vec::new();
    for (i, recipe) in recipes.iter().enumerate() {
        let id = format!("{lib:?}-{i}");
        let mut plan = Plan::new(recipe, &path, &id);
        (plan.max, plan.rounds, plan.hold_ms) = (max, rounds, hold.as_millis() as u64);
        foreign.push((Foreign::start(lib, &plan).await, kind_of(recipe)));
    }
    let admin = ns.synced_admin().await;
    let (dir, gate_nodes) = queue_dir(lib, recipes[1], &path);
    wait_children(admin, &dir, |c| c.len() == gate_nodes + 2).await;
    let mut rust = Vec::new();
    for recipe in recipes {
        let (path, recipe) = (path.clone(), recipe.to_string());
        rust.push(tokio::spawn(async move {
            rust_rounds(layout, &recipe, &path, max, rounds, hold).await
        }));
    }
    for g in gate {
        g.release().await;
    }
    let mut all: Vec<(bool, Section)> = Vec::new();
    for (f, kind) in foreign {
        let s = f.finish(kind).await;
        assert_eq!(s.len(), rounds as usize, "{lib:?}: rounds");
        all.extend(s.into_iter().map(|s| (false, s)));
    }
    for r in rust {
        let s = guard("zksync's rounds", r).await.unwrap();
        assert_eq!(s.len(), rounds as usize, "zksync: rounds");
        all.extend(s.into_iter().map(|s| (true, s)));
    }
    all.sort_by_key(|(_, s)| s.start);
    let sections: Vec<Section> = all.iter().map(|(_, s)| s.clone()).collect();
    if recipes[1] == "semaphore" {
        let v = permit_violations(&sections, max as usize);
        assert!(v.is_empty(), "{lib:?}: {v:?}");
        eprintln!(
            "{lib:?} semaphore: {} sections, peak {} of {max}",
            sections.len(),
            peak_permits(&sections)
        );
    } else {
        let v = violations(&sections);
        assert!(v.is_empty(), "{lib:?} {recipes:?}: {v:?}");
    }
    // The holders alternated between the libraries: a real mix, not one side after the other.
    let switches = all.windows(2).filter(|w| w[0].0 != w[1].0).count();
    eprintln!(
        "{lib:?} {recipes:?}: {} sections, {switches} switches between the libraries",
        all.len()
    );
    assert!(
        switches >= 4,
        "{lib:?} {recipes:?}: only {switches} switches"
    );
    gate_client.close().await;
    ns.cleanup().await;
}

enum Gate {
    Lock(zksync::recipes::LockGuard),
    Permit(zksync::recipes::Permit),
    Leader(zksync::recipes::Leadership),
}

impl Gate {
    async fn release(self) {
        match self {
            Gate::Lock(g) => g.unlock().await.unwrap(),
            Gate::Permit(p) => p.release().await.unwrap(),
            Gate::Leader(l) => l.resign().await.unwrap(),
        }
    }
}

/// zksync holds; the other library's contender waits, and gets the lock only after the
/// release. Then the other way round.
async fn both_orders(lib: Lib) {
    let ns = Namespace::new(&format!("interop-{lib:?}-orders").to_lowercase()).await;
    let path = ns.path("m");
    let admin = ns.synced_admin().await;
    let c = client().await;
    let mutex = Mutex::new(c.clone(), &path).with_layout(lib.layout());
    // zksync first.
    let held = mutex.lock().await.unwrap();
    let mut other = Foreign::start(lib, &Plan::new("mutex", &path, "other")).await;
    wait_children(admin, &path, |c| c.len() == 2).await;
    assert!(
        other.still_waiting().await,
        "{lib:?} got in while zksync holds"
    );
    let released_at = mono_now();
    held.unlock().await.unwrap();
    let acquired = other.acquired().await;
    assert!(
        acquired >= released_at,
        "{lib:?} acquired before zksync's release"
    );
    other.finish(Kind::Write).await;
    // The other library first (holding 1.5 s).
    let mut plan = Plan::new("mutex", &path, "other");
    plan.hold_ms = 1500;
    let mut other = Foreign::start(lib, &plan).await;
    other.acquired().await;
    let m2 = mutex.clone();
    let waiter = tokio::spawn(async move {
        let g = m2.lock().await;
        (mono_now(), g)
    });
    let (got_at, g) = guard("zksync after the other's release", waiter)
        .await
        .unwrap();
    let g = g.unwrap();
    let releasing = other.releasing().await;
    assert!(
        got_at >= releasing,
        "zksync acquired before {lib:?} released"
    );
    g.unlock().await.unwrap();
    other.finish(Kind::Write).await;
    c.close().await;
    ns.cleanup().await;
}

/// The earliest a session killed at `killed` can have been expired: its last contact was at
/// most T/3 before (both libraries ping after T/3 of quiet), and the servers wait T from there.
fn earliest_expiry(killed: Duration, t: Duration) -> Duration {
    killed + t * 2 / 3 - Duration::from_millis(250)
}

/// A holder of the other library killed with SIGKILL: zksync's waiter gets the lock only once
/// the holder's session has expired. Then a zksync holder process (the CLI) killed: the other
/// library's waiter, likewise.
async fn sigkill_holders(lib: Lib) {
    let ns = Namespace::new(&format!("interop-{lib:?}-kill").to_lowercase()).await;
    let path = ns.path("m");
    let admin = ns.synced_admin().await;
    let t = Duration::from_secs(3);
    let mut plan = Plan::new("mutex", &path, "doomed");
    (plan.hold_forever, plan.session_ms) = (true, t.as_millis() as u64);
    let mut holder = Foreign::start(lib, &plan).await;
    holder.acquired().await;
    let c = client().await;
    let mutex = Mutex::new(c.clone(), &path).with_layout(lib.layout());
    let waiter = tokio::spawn(async move {
        let g = mutex.lock().await;
        (mono_now(), g)
    });
    wait_children(admin, &path, |c| c.len() == 2).await;
    let killed = holder.kill().await;
    let (got_at, g) = guard("zksync after the killed holder's expiry", waiter)
        .await
        .unwrap();
    let g = g.unwrap();
    eprintln!(
        "{lib:?} holder killed: zksync acquired {:?} later (T {t:?})",
        got_at - killed
    );
    assert!(
        got_at >= earliest_expiry(killed, t),
        "zksync acquired {:?} after the kill, before the session can have expired",
        got_at - killed
    );
    g.unlock().await.unwrap();

    // A zksync holder process (the CLI, session timeout 3 s), killed while the other waits.
    let mut cli = tokio::process::Command::new(env!("CARGO_BIN_EXE_zksync"))
        .args([
            "--servers",
            &peers(),
            "--session-timeout",
            "3000",
            "lock",
            "--layout",
        ])
        .args([lib.layout().as_str(), path.as_str(), "--", "sleep", "600"])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_children(admin, &path, |c| c.len() == 1).await;
    let mut other = Foreign::start(lib, &Plan::new("mutex", &path, "next")).await;
    wait_children(admin, &path, |c| c.len() == 2).await;
    assert!(
        other.still_waiting().await,
        "{lib:?} got in while zksync holds"
    );
    let cmd_group = cli.id().expect("pid") as i32;
    cli.start_kill().unwrap();
    let killed = mono_now();
    let _ = cli.wait().await;
    let acquired = other.acquired().await;
    eprintln!(
        "zksync holder killed: {lib:?} acquired {:?} later (T {t:?})",
        acquired - killed
    );
    assert!(
        acquired >= earliest_expiry(killed, t),
        "{lib:?} acquired {:?} after the kill",
        acquired - killed
    );
    other.finish(Kind::Write).await;
    // The CLI runs CMD in a process group of its own; SIGKILL left `sleep` behind: end it.
    kill_group_of_child(cmd_group);
    c.close().await;
    ns.cleanup().await;
}

/// Ends the process group CMD of the killed CLI (pid `cli`) runs in, if it is still there.
fn kill_group_of_child(cli: i32) {
    // The CLI put CMD in a group of its own, led by CMD: find CMD among the CLI's children.
    let Ok(children) = std::fs::read_to_string(format!("/proc/{cli}/task/{cli}/children")) else {
        return;
    };
    for pid in children
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
    {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory involved.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

// ----- Curator 5.4 -----

#[tokio::test]
async fn curator_mutex_mixed() {
    mixed(Lib::Curator, ["mutex", "mutex"], 1).await
}

#[tokio::test]
async fn curator_read_write_lock_mixed() {
    mixed(Lib::Curator, ["read", "write"], 1).await
}

#[tokio::test]
async fn curator_semaphore_mixed() {
    mixed(Lib::Curator, ["semaphore", "semaphore"], 2).await
}

#[tokio::test]
async fn curator_leader_latch_mixed() {
    mixed(Lib::Curator, ["election", "election"], 1).await
}

#[tokio::test]
async fn curator_both_orders() {
    both_orders(Lib::Curator).await
}

#[tokio::test]
async fn curator_sigkilled_holders() {
    sigkill_holders(Lib::Curator).await
}

// ----- kazoo 2.8.0 (Debian) and 2.11.0 (PyPI) -----

#[tokio::test]
async fn kazoo_mutex_mixed() {
    mixed(Lib::Kazoo28, ["mutex", "mutex"], 1).await
}

#[tokio::test]
async fn kazoo_read_write_lock_mixed() {
    // kazoo's readers before 2.9.0 wait for the newest writer, also a later one (kazoo issue
    // 649): they deadlock with any correct writer. 2.11.0 follows the fixed rule.
    mixed(Lib::Kazoo211, ["read", "write"], 1).await
}

#[tokio::test]
async fn kazoo_semaphore_mixed() {
    mixed(Lib::Kazoo28, ["semaphore", "semaphore"], 2).await
}

#[tokio::test]
async fn kazoo_election_mixed() {
    mixed(Lib::Kazoo28, ["election", "election"], 1).await
}

#[tokio::test]
async fn kazoo_both_orders() {
    both_orders(Lib::Kazoo28).await
}

#[tokio::test]
async fn kazoo_sigkilled_holders() {
    sigkill_holders(Lib::Kazoo28).await
}
