//! Running CMD while holding what a recipe grants: a lock (`zksync lock`), a semaphore permit
//! (`zksync lock --max`) or an election's leadership (`zksync elect`). One flow for all three:
//! wait (bounded by --timeout, cut short by a signal), run CMD with the fencing token, stop CMD
//! when the hold is lost (SIGTERM, SIGKILL after --kill-after, exit 4), release when CMD exits
//! and pass its status on.

use crate::args::Cli;
use crate::child::{exit_code, signal_name, Child, Ended, Signals};
use crate::duration::show;
use crate::{note, server_error, within, Failure, EXIT_ERROR, EXIT_LOST, EXIT_TIMEOUT};
use std::ffi::OsString;
use std::future::Future;
use std::time::Duration;
use zksync::recipes::{Leadership, LockGuard, LockLost, Permit};

/// What a recipe hands out while it is held: a token, a way to learn of its loss, a release.
pub trait Held {
    /// The fencing token (the node's czxid).
    fn token(&self) -> i64;
    /// Resolves when the hold is lost.
    fn lost(&self) -> impl Future<Output = LockLost>;
    /// Gives it back (deletes the node).
    fn release(self) -> impl Future<Output = zksync::Result<()>>;
}

impl Held for LockGuard {
    fn token(&self) -> i64 {
        self.fencing_token()
    }
    fn lost(&self) -> impl Future<Output = LockLost> {
        LockGuard::lost(self)
    }
    fn release(self) -> impl Future<Output = zksync::Result<()>> {
        self.unlock()
    }
}

impl Held for Permit {
    fn token(&self) -> i64 {
        Permit::token(self)
    }
    fn lost(&self) -> impl Future<Output = LockLost> {
        Permit::lost(self)
    }
    fn release(self) -> impl Future<Output = zksync::Result<()>> {
        Permit::release(self)
    }
}

impl Held for Leadership {
    fn token(&self) -> i64 {
        Leadership::token(self)
    }
    fn lost(&self) -> impl Future<Output = LockLost> {
        Leadership::lost(self)
    }
    fn release(self) -> impl Future<Output = zksync::Result<()>> {
        self.resign()
    }
}

/// How to hold and what to run: the common options of `lock` and `elect`.
pub struct Plan<'a> {
    /// What is held, for messages: "the write lock /p", "the leadership of /p"...
    pub what: String,
    /// What its node is called in messages: "lock node", "candidate node"...
    pub node: &'static str,
    /// --timeout: the bound on the wait.
    pub timeout: Option<Duration>,
    /// --kill-after: SIGTERM to SIGKILL after a loss.
    pub kill_after: Duration,
    /// CMD and its arguments.
    pub command: &'a [OsString],
}

/// Waits for `acquire`, runs CMD while holding, releases; returns CMD's exit status.
pub async fn run<H: Held>(
    cli: &Cli,
    plan: &Plan<'_>,
    acquire: impl Future<Output = zksync::Result<H>>,
    signals: &mut Signals,
) -> Result<i32, Failure> {
    let what = &plan.what;
    note(cli, format_args!("waiting for {what}"));
    // Dropping the acquire future (timeout, signal) removes our queued node.
    let held = tokio::select! {
        r = within(plan.timeout, acquire) => match r {
            Some(Ok(held)) => held,
            // The error says it all (path, both numbers, what to do).
            Some(Err(e @ zksync::Error::SemaphoreMismatch { .. })) => {
                return Err(Failure::new(EXIT_ERROR, e.to_string()))
            }
            Some(Err(e)) => {
                return Err(Failure::new(
                    EXIT_ERROR,
                    format!("cannot acquire {what}: {}", server_error(cli, &e)),
                ))
            }
            None => {
                return Err(Failure::new(
                    EXIT_TIMEOUT,
                    format!(
                        "timed out after {} waiting for {what}",
                        show(plan.timeout.unwrap_or_default())
                    ),
                ))
            }
        },
        sig = signals.recv() => return Ok(128 + sig),
    };
    let token = held.token();
    note(cli, format_args!("acquired {what} (fencing token {token})"));

    let child = match Child::spawn(plan.command, &[("ZKSYNC_FENCING_TOKEN", token.to_string())]) {
        Ok(c) => c,
        Err(f) => {
            let _ = held.release().await;
            return Err(f);
        }
    };
    let program = plan.command[0].to_string_lossy().into_owned();
    let pid = child.pid();
    let ended = child
        .run(signals, held.lost(), plan.kill_after, |lost: &LockLost| {
            eprintln!(
                "zksync: lost {what} while {program} (pid {pid}) was running: {}; \
                 sending SIGTERM",
                describe(lost, plan.node)
            );
        })
        .await;
    match ended {
        Ended::Exited(status) => {
            let code = exit_code(status);
            match held.release().await {
                Ok(()) => note(cli, format_args!("released {what}")),
                // CMD finished; the hold went away at about the same time (session expired).
                Err(e) => eprintln!("zksync: warning: releasing {what}: {e}"),
            }
            Ok(code)
        }
        Ended::Stopped(_, stopping) => {
            let how = if stopping.killed {
                format!(
                    "it was still running {} after SIGTERM and got {}",
                    show(plan.kill_after),
                    signal_name(libc::SIGKILL)
                )
            } else {
                format!("it exited with status {}", exit_code(stopping.status))
            };
            drop(held);
            Err(Failure::new(
                EXIT_LOST,
                format!("stopped {program} (pid {pid}) because {what} was lost: {how}"),
            ))
        }
    }
}

fn describe(lost: &LockLost, node: &str) -> String {
    match lost {
        LockLost::SessionEnded(zksync::Error::SessionExpired) => {
            "the ZooKeeper session expired".into()
        }
        LockLost::SessionEnded(e) => format!("the ZooKeeper session ended ({e})"),
        LockLost::NodeDeleted => format!("its {node} was deleted by someone else"),
        LockLost::LeaseExpired => {
            "no ZooKeeper server answered within the session's lease (the servers may have \
             expired the session and given it to another process)"
                .into()
        }
        // A reason added to the library after this tool was written.
        other => format!("{other:?}"),
    }
}
