//! Running the `zksync` binary from tests: every process is killed and reaped if a test fails,
//! every scratch directory removed.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use zksync_test_support::peers;

/// Hang guard for a zksync process that must finish (generous for a loaded 2-core machine).
pub const GUARD: Duration = Duration::from_secs(40);

/// A `zksync` command against the test ensemble, with `args`.
pub fn zksync(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zksync"));
    c.args(args)
        .env("ZOOKEEPER_PEERS", peers())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A failing test drops its processes: SIGKILL (CMD then gets SIGTERM: zksync sets
        // PR_SET_PDEATHSIG for it), and tokio reaps them in the background.
        .kill_on_drop(true);
    c
}

/// A running zksync process.
pub struct Proc {
    pub child: Child,
}

/// What a finished zksync process left.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The exit code (panics if killed by a signal).
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("zksync died by a signal: {self:?}"))
    }
}

impl Proc {
    /// Starts `cmd`.
    pub fn start(mut cmd: Command) -> Proc {
        Proc {
            child: cmd.spawn().expect("spawn zksync"),
        }
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.child.id().expect("running") as i32
    }

    /// Sends `sig` to zksync.
    pub fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) on our own child.
        assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0, "kill zksync");
    }

    /// Waits (hang-guarded) for exit and collects the output.
    pub async fn finish(mut self) -> Output {
        // A test that took stdout to read it line by line gets "" here.
        let stdout = self.child.stdout.take();
        let mut stderr = self.child.stderr.take().expect("piped stderr");
        let work = async {
            let (mut out, mut err) = (String::new(), String::new());
            let read_out = async {
                if let Some(mut stdout) = stdout {
                    let _ = stdout.read_to_string(&mut out).await;
                }
            };
            let (_, _, status) =
                tokio::join!(read_out, stderr.read_to_string(&mut err), self.child.wait());
            Output {
                status: status.expect("wait zksync"),
                stdout: out,
                stderr: err,
            }
        };
        match tokio::time::timeout(GUARD, work).await {
            Ok(o) => o,
            Err(_) => panic!("hang guard: zksync did not exit within {GUARD:?}"),
        }
    }

    /// Waits (polling, hang-guarded) until `path` exists; fails at once, with zksync's
    /// output, if zksync exits first (e.g. it could not connect).
    pub async fn wait_file(&mut self, path: &Path) {
        let deadline = tokio::time::Instant::now() + GUARD;
        while !path.exists() {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err).await;
                }
                panic!(
                    "zksync exited ({status}) before {} appeared; stderr: {err}",
                    path.display()
                );
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "hang guard: {} never appeared",
                path.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// True if still running after `d` (it can only pass wrongly, never fail wrongly).
    pub async fn still_running_after(&mut self, d: Duration) -> bool {
        tokio::time::timeout(d, self.child.wait()).await.is_err()
    }
}

/// Runs `zksync args...` to the end.
pub async fn run(args: &[&str]) -> Output {
    Proc::start(zksync(args)).finish().await
}

static DIRS: AtomicU64 = AtomicU64::new(0);

/// A scratch directory, removed on drop.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let n = DIRS.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("zksync-cli-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("scratch dir");
        Scratch { path }
    }

    /// `dir/name` as a string.
    pub fn file(&self, name: &str) -> String {
        self.path.join(name).to_string_lossy().into_owned()
    }

    /// Contents of `dir/name` ("" if missing).
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path.join(name)).unwrap_or_default()
    }

    /// Waits until `dir/name` exists, written by a command of `proc`.
    pub async fn wait_for(&self, proc: &mut Proc, name: &str) {
        proc.wait_file(&self.path.join(name)).await
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// True if no process `pid` exists any more, or only its zombie is left.
pub fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
    }
}

/// Checks that stderr is exactly one line starting with `zksync: `, with no panic in it.
pub fn assert_one_line_error(out: &Output) {
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line: {out:?}");
    assert!(lines[0].starts_with("zksync: "), "{out:?}");
    assert!(!out.stderr.contains("panicked"), "{out:?}");
    assert!(!out.stderr.contains("backtrace"), "{out:?}");
}

/// The queue at `path` (holders first), as the library lists it: after a `sync`, so it shows
/// what zksync processes did on other servers. Empty if `path` does not exist.
pub async fn queue_entries(
    admin: &zksync::Client,
    path: &str,
) -> Vec<zksync::recipes::inspect::QueueEntry> {
    match zksync::recipes::inspect::queue(admin, path).await {
        Ok(entries) => entries,
        Err(e) if e.is_no_node() => Vec::new(),
        Err(e) => panic!("list {path}: {e}"),
    }
}

/// Waits (polling the ensemble, hang-guarded) until the queue at `path` has `n` nodes.
pub async fn wait_queue_len(admin: &zksync::Client, path: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + GUARD;
    loop {
        let len = queue_entries(admin, path).await.len();
        if len == n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "hang guard: queue {path} has {len} nodes, never {n}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (polling, hang-guarded) until `dir` holds `n` files whose names start with `prefix`;
/// returns their names, sorted.
pub async fn wait_files(dir: &Scratch, prefix: &str, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + GUARD;
    loop {
        let names = files(dir, prefix);
        if names.len() >= n {
            return names;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "hang guard: {n} files {prefix}* never appeared (have {names:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The names of the files in `dir` that start with `prefix`, sorted.
pub fn files(dir: &Scratch, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&dir.path)
        .expect("read scratch dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// Creates the empty file `dir/name` (a go signal for a waiting command).
pub fn touch(dir: &Scratch, name: &str) {
    std::fs::write(dir.path.join(name), b"").expect("touch");
}
