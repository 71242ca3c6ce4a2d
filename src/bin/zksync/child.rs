//! Running CMD: spawn it in a process group of its own, pass signals on, stop it when told.
//!
//! CMD runs in its own process group so that zksync can stop CMD *and everything it started*
//! (a shell script's children too) when a lock is lost. When zksync runs in the foreground of
//! a terminal, that group is given the terminal's foreground while CMD runs (as a shell does
//! for a job): CMD can read the terminal, and Ctrl-C reaches CMD directly, exactly once.
//! Otherwise (scripts, cron, CI) SIGINT, SIGTERM and SIGHUP sent to zksync are passed on to
//! CMD's process group.

use crate::{Failure, EXIT_ERROR};
use std::ffi::OsString;
use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::time::Instant;

/// The signals zksync catches while it works, so it can clean up (remove its lock node,
/// close its session) or pass them on to CMD instead of dying with a node left behind.
pub struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl Signals {
    /// Installs the handlers (SIGINT, SIGTERM, SIGHUP).
    pub fn install() -> Result<Signals, Failure> {
        let install = |kind: SignalKind| {
            signal(kind)
                .map_err(|e| Failure::new(EXIT_ERROR, format!("cannot handle signals: {e}")))
        };
        Ok(Signals {
            int: install(SignalKind::interrupt())?,
            term: install(SignalKind::terminate())?,
            hup: install(SignalKind::hangup())?,
        })
    }

    /// The next signal received (its number).
    pub async fn recv(&mut self) -> i32 {
        tokio::select! {
            Some(()) = self.int.recv() => libc::SIGINT,
            Some(()) = self.term.recv() => libc::SIGTERM,
            Some(()) = self.hup.recv() => libc::SIGHUP,
            else => std::future::pending().await,
        }
    }
}

/// The name of a signal for messages.
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGKILL => "SIGKILL".into(),
        n => format!("signal {n}"),
    }
}

/// The exit status a shell would report: the code, or 128 + the signal that killed it.
pub fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// How a run of CMD ended.
pub enum Ended<L> {
    /// CMD exited by itself (possibly after a signal zksync passed on).
    Exited(ExitStatus),
    /// `stop_when` resolved first; CMD was terminated and then exited with this status.
    Stopped(L, Stopping),
}

/// How CMD was stopped.
pub struct Stopping {
    /// CMD's exit status.
    pub status: ExitStatus,
    /// True if SIGTERM was not enough and the group got SIGKILL.
    pub killed: bool,
}

/// CMD, running.
pub struct Child {
    child: tokio::process::Child,
    pgid: libc::pid_t,
    terminal: Option<Terminal>,
}

impl Child {
    /// Starts `argv` with the extra environment `env`. Fails with status 127 if the program
    /// does not exist, 126 if it cannot be executed, like a shell.
    pub fn spawn(argv: &[OsString], env: &[(&str, String)]) -> Result<Child, Failure> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| Failure::new(EXIT_ERROR, "no command given".into()))?;
        let terminal = Terminal::if_foreground();
        let tty_fd = terminal.as_ref().map(|t| t.file.as_raw_fd());
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .process_group(0)
            .kill_on_drop(false);
        // SAFETY: the closure runs between fork and exec and calls only async-signal-safe
        // functions (prctl, getppid, _exit, sigprocmask, tcsetpgrp, getpid).
        unsafe {
            cmd.pre_exec(move || {
                in_child_before_exec(parent, tty_fd);
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| {
            let name = program.to_string_lossy();
            match e.kind() {
                std::io::ErrorKind::NotFound => {
                    Failure::new(127, format!("{name}: command not found"))
                }
                std::io::ErrorKind::PermissionDenied => {
                    Failure::new(126, format!("{name}: permission denied"))
                }
                _ => Failure::new(126, format!("cannot run {name}: {e}")),
            }
        })?;
        let pgid = child
            .id()
            .map(|p| p as libc::pid_t)
            .ok_or_else(|| Failure::new(EXIT_ERROR, "the command vanished at once".into()))?;
        Ok(Child {
            child,
            pgid,
            terminal,
        })
    }

    /// The process id of CMD (also the id of its process group).
    pub fn pid(&self) -> libc::pid_t {
        self.pgid
    }

    /// Sends `sig` to CMD's process group.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill has no memory-safety preconditions; the group is ours.
        unsafe {
            libc::kill(-self.pgid, sig);
        }
    }

    /// Whether anything of CMD's group still runs (its zombies do not count: see `group`).
    fn group_alive(&self) -> bool {
        crate::group::has_live_member(self.pgid)
    }

    async fn wait(&mut self) -> ExitStatus {
        let status = match self.child.wait().await {
            Ok(s) => s,
            // Only fails if the child was already reaped, which nothing else does.
            Err(_) => ExitStatus::from_raw(0),
        };
        self.take_terminal_back();
        status
    }

    fn take_terminal_back(&mut self) {
        if let Some(t) = self.terminal.take() {
            t.restore();
        }
    }

    /// Waits until CMD exits, passing on every signal zksync receives, or until `stop_when`
    /// resolves: then CMD's group gets SIGTERM, and SIGKILL if it is still there after
    /// `grace`.
    pub async fn run<L>(
        mut self,
        signals: &mut Signals,
        stop_when: impl std::future::Future<Output = L>,
        grace: Duration,
        on_stop: impl FnOnce(&L),
    ) -> Ended<L> {
        tokio::pin!(stop_when);
        let reason = loop {
            tokio::select! {
                status = self.child.wait() => {
                    self.take_terminal_back();
                    return Ended::Exited(status.unwrap_or_else(|_| ExitStatus::from_raw(0)));
                }
                sig = signals.recv() => self.signal(sig),
                reason = &mut stop_when => break reason,
            }
        };
        on_stop(&reason);
        let stopping = self.terminate(grace).await;
        Ended::Stopped(reason, stopping)
    }

    /// SIGTERM to the group; SIGKILL after `grace` if CMD or anything it started is still
    /// there. Returns once CMD has exited.
    async fn terminate(&mut self, grace: Duration) -> Stopping {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + grace;
        let mut status = None;
        loop {
            if status.is_none() {
                if let Ok(s) = tokio::time::timeout(Duration::from_millis(50), self.wait()).await {
                    status = Some(s);
                }
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if let Some(status) = status.filter(|_| !self.group_alive()) {
                return Stopping {
                    status,
                    killed: false,
                };
            }
            if Instant::now() >= deadline {
                self.signal(libc::SIGKILL);
                let status = match status {
                    Some(s) => s,
                    None => self.wait().await,
                };
                return Stopping {
                    status,
                    killed: true,
                };
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.take_terminal_back();
    }
}

/// Between fork and exec: die with zksync, and take the terminal's foreground if zksync had it.
fn in_child_before_exec(parent: libc::pid_t, tty_fd: Option<RawFd>) {
    // SAFETY: only async-signal-safe calls on local data.
    unsafe {
        // If zksync dies (even by SIGKILL), CMD gets SIGTERM rather than running on unguarded.
        #[cfg(target_os = "linux")]
        {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            if libc::getppid() != parent {
                libc::_exit(128 + libc::SIGTERM);
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = parent;
        if let Some(fd) = tty_fd {
            with_sigttou_blocked(|| {
                libc::tcsetpgrp(fd, libc::getpid());
            });
        }
    }
}

/// Runs `f` with SIGTTOU blocked on this thread, so that `tcsetpgrp` from a background
/// process group is allowed instead of stopping the process.
fn with_sigttou_blocked(f: impl FnOnce()) {
    // SAFETY: plain signal-mask manipulation on local sigset_t values.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGTTOU);
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
        f();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
}

/// The controlling terminal, when zksync's process group is in its foreground.
struct Terminal {
    file: File,
    foreground: libc::pid_t,
}

impl Terminal {
    fn if_foreground() -> Option<Terminal> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        // SAFETY: the fd is open for the duration of the calls.
        let (foreground, ours) = unsafe { (libc::tcgetpgrp(file.as_raw_fd()), libc::getpgrp()) };
        (foreground == ours && ours > 0).then_some(Terminal { file, foreground })
    }

    /// Gives the terminal's foreground back to zksync's process group.
    fn restore(self) {
        let fd = self.file.as_raw_fd();
        with_sigttou_blocked(|| {
            // SAFETY: fd is open; failure (terminal gone) is harmless.
            unsafe {
                libc::tcsetpgrp(fd, self.foreground);
            }
        });
    }
}
