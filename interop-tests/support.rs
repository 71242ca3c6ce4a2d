//! The contenders of the interop tests: a Curator or kazoo process (interop/curator/ZkInterop.java,
//! interop/kazoo/zk_interop.py, built and installed by `scripts/common.sh ensure_interop`), and
//! zksync ones in this process; their critical sections on one clock (CLOCK_MONOTONIC, which
//! Java's `System.nanoTime`, Python's `time.monotonic_ns` and `mono_now` here all read).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use zksync::recipes::{Election, Layout, Mutex, RwLock, Semaphore};
use zksync_test_support::overlap::{Kind, Section, UNKNOWN_TOKEN};
use zksync_test_support::*;

/// The foreign libraries, at the versions the tests run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lib {
    /// Apache Curator 5.4.0 (Debian's libcurator-recipes-java).
    Curator,
    /// kazoo 2.8.0 (Debian's python3-kazoo).
    Kazoo28,
    /// kazoo 2.11.0 (PyPI, in a venv): the read-write lock needs 2.9.0 or later.
    Kazoo211,
}

impl Lib {
    pub fn layout(self) -> Layout {
        match self {
            Lib::Curator => Layout::Curator,
            Lib::Kazoo28 | Lib::Kazoo211 => Layout::Kazoo,
        }
    }

    fn command(self) -> Command {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let built = std::env::var_os("ZKSYNC_INTEROP_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/interop"));
        let script = root.join("interop/kazoo/zk_interop.py");
        let (program, first) = match self {
            Lib::Curator => (built.join("curator/run"), None),
            // Debian's python, whatever a pyenv shim on PATH says: its kazoo is Debian's.
            Lib::Kazoo28 => (PathBuf::from("/usr/bin/python3"), Some(script)),
            Lib::Kazoo211 => (built.join("kazoo-2.11/bin/python"), Some(script)),
        };
        assert!(
            program.exists(),
            "{} missing: run `bash -c 'source scripts/common.sh; ensure_interop'` (scripts/test does)",
            program.display()
        );
        let mut c = Command::new(program);
        if let Some(s) = first {
            c.arg(s);
        }
        c
    }
}

/// Nanoseconds of CLOCK_MONOTONIC: the clock of every contender's lines.
pub fn mono_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid, exclusively borrowed `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A line of a foreign contender.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Ready,
    Acquired(Duration),
    Releasing(Duration),
    Released(Duration),
    Done,
}

fn parse(line: &str) -> Option<Event> {
    let mut w = line.split_whitespace();
    let what = w.next()?;
    let at = |w: &mut std::str::SplitWhitespace| -> Option<Duration> {
        w.next()?; // the id
        Some(Duration::from_nanos(w.next()?.parse().ok()?))
    };
    Some(match what {
        "ready" => Event::Ready,
        "done" => Event::Done,
        "acquired" => Event::Acquired(at(&mut w)?),
        "releasing" => Event::Releasing(at(&mut w)?),
        "released" => Event::Released(at(&mut w)?),
        _ => return None,
    })
}

/// A running foreign contender.
pub struct Foreign {
    pub lib: Lib,
    pub id: String,
    child: Child,
    events: mpsc::UnboundedReceiver<Event>,
    /// Every event so far.
    pub seen: Vec<Event>,
}

/// What a foreign contender does.
pub struct Plan<'a> {
    pub recipe: &'a str,
    pub path: &'a str,
    pub id: &'a str,
    pub max: u32,
    pub rounds: u32,
    pub hold_ms: u64,
    pub session_ms: u64,
    pub hold_forever: bool,
}

impl<'a> Plan<'a> {
    pub fn new(recipe: &'a str, path: &'a str, id: &'a str) -> Plan<'a> {
        Plan {
            recipe,
            path,
            id,
            max: 1,
            rounds: 1,
            hold_ms: 0,
            session_ms: 4000,
            hold_forever: false,
        }
    }
}

impl Foreign {
    /// Starts the contender and waits for its `ready`.
    pub async fn start(lib: Lib, plan: &Plan<'_>) -> Foreign {
        let mut c = lib.command();
        c.args([
            "--hosts",
            &peers(),
            "--recipe",
            plan.recipe,
            "--path",
            plan.path,
        ])
        .args(["--id", plan.id, "--max", &plan.max.to_string()])
        .args(["--rounds", &plan.rounds.to_string()])
        .args(["--hold-ms", &plan.hold_ms.to_string()])
        .args(["--session-ms", &plan.session_ms.to_string()]);
        if plan.hold_forever {
            c.arg("--hold-forever");
        }
        c.stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = c.spawn().expect("spawn the foreign contender");
        let out = child.stdout.take().expect("stdout");
        let (tx, events) = mpsc::unbounded_channel();
        let who = format!("{lib:?} {}", plan.id);
        tokio::spawn(async move {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match parse(&line) {
                    Some(e) => {
                        let _ = tx.send(e);
                    }
                    None => panic!("{who}: unexpected line {line:?}"),
                }
            }
        });
        let mut f = Foreign {
            lib,
            id: plan.id.to_string(),
            child,
            events,
            seen: Vec::new(),
        };
        let first = f.next(&format!("{lib:?} {} ready", plan.id)).await;
        assert_eq!(first, Event::Ready);
        f
    }

    /// The next event (hang-guarded).
    pub async fn next(&mut self, what: &str) -> Event {
        let e = guard_for(what, Duration::from_secs(60), self.events.recv())
            .await
            .unwrap_or_else(|| panic!("{what}: the contender ended"));
        self.seen.push(e.clone());
        e
    }

    /// The instant of its next `acquired`.
    pub async fn acquired(&mut self) -> Duration {
        match self
            .next(&format!("{:?} {} acquires", self.lib, self.id))
            .await
        {
            Event::Acquired(at) => at,
            other => panic!("{:?} {}: {other:?} instead of acquired", self.lib, self.id),
        }
    }

    /// The instant of its (first) `releasing`, seen already or still to come.
    pub async fn releasing(&mut self) -> Duration {
        loop {
            if let Some(at) = self.seen.iter().find_map(|e| match e {
                Event::Releasing(at) => Some(*at),
                _ => None,
            }) {
                return at;
            }
            self.next(&format!("{:?} {} releases", self.lib, self.id))
                .await;
        }
    }

    /// True if no event comes within a short grace period (it is still waiting).
    pub async fn still_waiting(&mut self) -> bool {
        match tokio::time::timeout(Duration::from_millis(500), self.events.recv()).await {
            Err(_) => true,
            Ok(e) => {
                if let Some(e) = e {
                    self.seen.push(e);
                }
                false
            }
        }
    }

    /// Waits for `done` and a clean exit; returns its sections (`acquired` to `releasing`).
    pub async fn finish(mut self, kind: Kind) -> Vec<Section> {
        loop {
            if self
                .next(&format!("{:?} {} finishes", self.lib, self.id))
                .await
                == Event::Done
            {
                break;
            }
        }
        let status = guard("the contender exits", self.child.wait())
            .await
            .unwrap();
        assert!(status.success(), "{:?} {}: {status}", self.lib, self.id);
        sections(&self.seen, kind)
    }

    /// SIGKILL: the process dies with its session still open (its nodes stay until the
    /// servers expire the session).
    pub async fn kill(mut self) -> Duration {
        self.child.start_kill().expect("SIGKILL");
        let at = mono_now();
        let _ = self.child.wait().await;
        at
    }
}

/// Sections from a contender's events.
fn sections(events: &[Event], kind: Kind) -> Vec<Section> {
    let mut out = Vec::new();
    let mut start = None;
    for e in events {
        match e {
            Event::Acquired(at) => start = Some(*at),
            Event::Releasing(at) => {
                let start = start.take().expect("releasing without acquired");
                out.push(section(kind, UNKNOWN_TOKEN, start, *at));
            }
            _ => {}
        }
    }
    out
}

pub fn section(kind: Kind, token: i64, start: Duration, end: Duration) -> Section {
    Section {
        worker: 0,
        proxy: 0,
        kind,
        token,
        start,
        end,
        lost: false,
    }
}

/// A zksync contender: `rounds` times acquire (in `layout`), hold `hold`, release; its
/// sections, with tokens.
pub async fn rust_rounds(
    layout: Layout,
    recipe: &str,
    path: &str,
    max: u32,
    rounds: u32,
    hold: Duration,
) -> Vec<Section> {
    let c = client().await;
    let mut out = Vec::new();
    for _ in 0..rounds {
        let (kind, token, start, release): (Kind, i64, Duration, _) = match recipe {
            "mutex" => {
                let g = Mutex::new(c.clone(), path)
                    .with_layout(layout)
                    .lock()
                    .await
                    .unwrap();
                let (t, s) = (g.fencing_token(), mono_now());
                tokio::time::sleep(hold).await; // the work (nothing waits on it)
                (Kind::Write, t, s, Release::Lock(g))
            }
            "read" | "write" => {
                let lock = RwLock::new(c.clone(), path).with_layout(layout);
                let g = if recipe == "read" {
                    lock.read().await
                } else {
                    lock.write().await
                };
                let g = g.unwrap();
                let (t, s) = (g.fencing_token(), mono_now());
                tokio::time::sleep(hold).await;
                let kind = if recipe == "read" {
                    Kind::Read
                } else {
                    Kind::Write
                };
                (kind, t, s, Release::Lock(g))
            }
            "semaphore" => {
                let sem = Semaphore::new(c.clone(), path, max).with_layout(layout);
                let p = sem.acquire().await.unwrap();
                let (t, s) = (p.token(), mono_now());
                tokio::time::sleep(hold).await;
                (Kind::Permit, t, s, Release::Permit(p))
            }
            "election" => {
                let e = Election::new(c.clone(), path)
                    .with_layout(layout)
                    .with_id(b"rust");
                let l = e.campaign().await.unwrap();
                let (t, s) = (l.token(), mono_now());
                tokio::time::sleep(hold).await;
                (Kind::Leader, t, s, Release::Leader(l))
            }
            other => panic!("unknown recipe {other}"),
        };
        out.push(section(kind, token, start, mono_now()));
        release.go().await;
    }
    c.close().await;
    out
}

enum Release {
    Lock(zksync::recipes::LockGuard),
    Permit(zksync::recipes::Permit),
    Leader(zksync::recipes::Leadership),
}

impl Release {
    async fn go(self) {
        match self {
            Release::Lock(g) => g.unlock().await.unwrap(),
            Release::Permit(p) => p.release().await.unwrap(),
            Release::Leader(l) => l.resign().await.unwrap(),
        }
    }
}
