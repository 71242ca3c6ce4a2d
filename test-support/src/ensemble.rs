//! The ensemble as every integration test target sees it: where it is, how to run its control
//! script (to stop, kill, pause and resume nodes), the four-letter words, and a probe for panics
//! that tokio would swallow.

use crate::wait::guard;
use std::cell::Cell;
use std::sync::Once;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The ensemble (`ZOOKEEPER_PEERS`), default the local 5-node ensemble on loopback.
pub fn peers() -> String {
    std::env::var("ZOOKEEPER_PEERS").unwrap_or_else(|_| {
        (1..=5)
            .map(|i| format!("127.0.0.1:{}", 2180 + i))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// This repository's `scripts/ensemble`.
pub fn local_ensemble_script() -> String {
    // This crate is the repository's `test-support/`.
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support/ has a parent");
    format!("{}/scripts/ensemble", repo.display())
}

/// The command that controls the ensemble's nodes (`ZKSYNC_ENSEMBLE_SCRIPT`, default
/// [`local_ensemble_script`]; `scripts/vagrant-ensemble` for the Vagrant VM).
pub fn ensemble_script() -> String {
    std::env::var("ZKSYNC_ENSEMBLE_SCRIPT").unwrap_or_else(|_| local_ensemble_script())
}

/// Runs `script args` with extra environment `envs`: its stdout, or an error naming the call
/// with its stderr. Never panics (fit for `Drop`).
pub fn try_run_script(
    script: &str,
    envs: &[(&str, &str)],
    args: &[&str],
) -> Result<String, String> {
    let out = std::process::Command::new(script)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("run {script} {args:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{script} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs the ensemble script: its stdout, or the error. With this repository's script, first
/// checks (once per process) that the ensemble it controls is the one under test: a test run
/// against another ensemble (`ZOOKEEPER_PEERS` at other ports, without the script's
/// `ZKSYNC_ENSEMBLE_PORT_OFFSET` / `ZKSYNC_ENSEMBLE_DIR` to match) must not stop or pause the
/// nodes of someone else's.
pub fn try_run_ensemble(args: &[&str]) -> Result<String, String> {
    let script = ensemble_script();
    if script == local_ensemble_script() {
        static SAME: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
        SAME.get_or_init(|| {
            let controlled = try_run_script(&script, &[], &["peers"])?;
            let sorted = |s: &str| {
                let mut v: Vec<String> = s.split(',').map(|h| h.trim().to_string()).collect();
                v.sort();
                v
            };
            if sorted(&controlled) == sorted(&peers()) {
                Ok(())
            } else {
                Err(format!(
                    "{script} controls the ensemble at {controlled}, but the tests run against \
                     ZOOKEEPER_PEERS={}: set ZKSYNC_ENSEMBLE_PORT_OFFSET and \
                     ZKSYNC_ENSEMBLE_DIR to the ensemble's (refusing to stop or pause another \
                     ensemble's nodes)",
                    peers()
                ))
            }
        })
        .clone()?;
    }
    try_run_script(&script, &[], args)
}

/// Runs the ensemble script; panics with its stderr if it fails.
pub fn run_ensemble(args: &[&str]) -> String {
    try_run_ensemble(args).unwrap_or_else(|e| panic!("{e}"))
}

/// [`run_ensemble`] off the async runtime.
pub async fn run_ensemble_async(args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_ensemble(&args)
    })
    .await
    .expect("ensemble script task")
}

/// How long a [`PausedNode`] was frozen, as bounds measured around the script calls.
#[derive(Debug, Clone, Copy)]
pub struct PauseSpan {
    /// From the moment `pause-node` had confirmed the node stopped to the `resume-node` call:
    /// the node was frozen at least this long.
    pub at_least: Duration,
    /// From the `pause-node` call to the return of `resume-node`: at most this long.
    pub at_most: Duration,
}

/// A node frozen with SIGSTOP by a test (`scripts/ensemble pause-node`, by its recorded pid):
/// its sockets stay open and the kernel still accepts connections, but nothing answers. Resumed
/// with SIGCONT by [`PausedNode::resume`], or on drop (also when the test panics), so a failing
/// test never leaves a server frozen.
#[derive(Debug)]
pub struct PausedNode {
    index: usize,
    requested: Instant,
    frozen: Instant,
    resumed: bool,
}

impl PausedNode {
    /// Freezes node `index` (1-based); returns once the node is stopped.
    pub async fn pause(index: usize) -> PausedNode {
        let requested = Instant::now();
        run_ensemble_async(&["pause-node", &index.to_string()]).await;
        PausedNode {
            index,
            requested,
            frozen: Instant::now(),
            resumed: false,
        }
    }

    /// The node's index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// When the node was certainly frozen (`pause-node` had returned).
    pub fn frozen_at(&self) -> Instant {
        self.frozen
    }

    /// Lets the node run again; returns how long it was frozen.
    pub async fn resume(mut self) -> PauseSpan {
        let at_least = self.frozen.elapsed();
        self.resumed = true;
        run_ensemble_async(&["resume-node", &self.index.to_string()]).await;
        PauseSpan {
            at_least,
            at_most: self.requested.elapsed(),
        }
    }
}

impl Drop for PausedNode {
    fn drop(&mut self) {
        // No panic here: this may run while the test is already unwinding.
        if !self.resumed {
            if let Err(e) = try_run_ensemble(&["resume-node", &self.index.to_string()]) {
                eprintln!("resuming node {}: {e}", self.index);
            }
        }
    }
}

/// Sends a four-letter word to `host` and returns the answer (`None` if it does not answer).
pub async fn four_letter(host: &str, word: &str) -> Option<String> {
    guard("four-letter word", async {
        let mut s = TcpStream::connect(host).await.ok()?;
        s.write_all(word.as_bytes()).await.ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).await.ok()?;
        Some(out)
    })
    .await
}

thread_local! {
    static PANICS: Cell<u32> = const { Cell::new(0) };
}

/// Panics seen on this thread so far. A `#[tokio::test]` runs a current-thread runtime, so the
/// client's driver task runs (and would panic) on the test's own thread; tokio swallows task
/// panics, this probe does not.
pub fn panics_on_this_thread() -> u32 {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            previous(info);
        }));
    });
    PANICS.with(Cell::get)
}

/// The client addresses of the local ensemble's nodes, by 1-based index (from the script).
pub async fn ensemble_nodes() -> Vec<String> {
    run_ensemble_async(&["peers"])
        .await
        .split(',')
        .map(str::to_string)
        .collect()
}

/// The 1-based index of the current leader.
pub async fn ensemble_leader() -> usize {
    run_ensemble_async(&["leader"])
        .await
        .parse()
        .expect("leader index")
}

/// A node stopped by a test: restarted by `restart`, or on drop (even when the test panics).
pub struct StoppedNode {
    index: usize,
    restarted: bool,
}

impl StoppedNode {
    /// Stops node `index` gracefully (SIGTERM) and waits until it is gone.
    pub async fn stop(index: usize) -> StoppedNode {
        run_ensemble_async(&["stop-node", &index.to_string()]).await;
        StoppedNode {
            index,
            restarted: false,
        }
    }

    /// Kills node `index` with SIGKILL.
    pub async fn kill(index: usize) -> StoppedNode {
        run_ensemble_async(&["kill-node", &index.to_string()]).await;
        StoppedNode {
            index,
            restarted: false,
        }
    }

    /// Starts the node again and waits until it serves.
    pub async fn restart(mut self) {
        self.restarted = true;
        run_ensemble_async(&["start-node", &self.index.to_string()]).await;
    }
}

impl Drop for StoppedNode {
    fn drop(&mut self) {
        // No panic here: this may run while the test is already unwinding.
        if !self.restarted {
            if let Err(e) = try_run_ensemble(&["start-node", &self.index.to_string()]) {
                eprintln!("restarting node {}: {e}", self.index);
            }
        }
    }
}

/// Which of `hosts` holds a connection of session `sid` (by the `cons` four-letter word).
pub async fn host_of_session(hosts: &[String], sid: i64) -> Option<usize> {
    let needle = format!("sid=0x{sid:x},");
    for (i, h) in hosts.iter().enumerate() {
        if four_letter(h, "cons")
            .await
            .is_some_and(|out| out.contains(&needle))
        {
            return Some(i);
        }
    }
    None
}
