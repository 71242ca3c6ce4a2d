//! `zksync lock`: run CMD while holding a read or write lock.

use crate::args::{Cli, LockArgs};
use crate::child::{exit_code, signal_name, Child, Ended, Signals};
use crate::duration::show;
use crate::{default_id, note, server_error, within, Failure, EXIT_ERROR, EXIT_LOST, EXIT_TIMEOUT};
use zksync::recipes::{LockLost, RwLock};
use zksync::Client;

/// Acquires, runs CMD, releases; returns CMD's exit status.
pub async fn run(
    cli: &Cli,
    client: &Client,
    args: &LockArgs,
    signals: &mut Signals,
) -> Result<i32, Failure> {
    let path = &args.path;
    let kind = if args.read { "read" } else { "write" };
    // The node's data names the holder, for operators looking at the lock's queue.
    let lock = RwLock::new(client.clone(), path).with_data(default_id().as_bytes());
    note(cli, format_args!("waiting for the {kind} lock {path}"));
    let acquire = async {
        if args.read {
            lock.read().await
        } else {
            lock.write().await
        }
    };
    // Dropping the acquire future (timeout, signal) removes our queued node.
    let guard = tokio::select! {
        r = within(args.timeout, acquire) => match r {
            Some(Ok(guard)) => guard,
            Some(Err(e)) => {
                return Err(Failure::new(
                    EXIT_ERROR,
                    format!("cannot acquire the {kind} lock {path}: {}", server_error(cli, &e)),
                ))
            }
            None => {
                return Err(Failure::new(
                    EXIT_TIMEOUT,
                    format!(
                        "timed out after {} waiting for the {kind} lock {path}",
                        show(args.timeout.unwrap_or_default())
                    ),
                ))
            }
        },
        sig = signals.recv() => return Ok(128 + sig),
    };
    let token = guard.fencing_token();
    note(
        cli,
        format_args!("acquired the {kind} lock {path} (fencing token {token})"),
    );

    let child = match Child::spawn(
        &args.command,
        &[("ZKSYNC_FENCING_TOKEN", token.to_string())],
    ) {
        Ok(c) => c,
        Err(f) => {
            let _ = guard.unlock().await;
            return Err(f);
        }
    };
    let program = args.command[0].to_string_lossy().into_owned();
    let pid = child.pid();
    let ended = child
        .run(signals, guard.lost(), args.kill_after, |lost: &LockLost| {
            eprintln!(
                "zksync: lost the {kind} lock {path} while {program} (pid {pid}) was running: {}; \
                 sending SIGTERM",
                describe(lost)
            );
        })
        .await;
    match ended {
        Ended::Exited(status) => {
            let code = exit_code(status);
            match guard.unlock().await {
                Ok(()) => note(cli, format_args!("released the {kind} lock {path}")),
                // CMD finished; the lock went away at about the same time (session expired).
                Err(e) => eprintln!("zksync: warning: releasing the {kind} lock {path}: {e}"),
            }
            Ok(code)
        }
        Ended::Stopped(_, stopping) => {
            let how = if stopping.killed {
                format!(
                    "it was still running {} after SIGTERM and got {}",
                    show(args.kill_after),
                    signal_name(libc::SIGKILL)
                )
            } else {
                format!("it exited with status {}", exit_code(stopping.status))
            };
            drop(guard);
            Err(Failure::new(
                EXIT_LOST,
                format!(
                    "stopped {program} (pid {pid}) because the {kind} lock {path} was lost: {how}"
                ),
            ))
        }
    }
}

fn describe(lost: &LockLost) -> String {
    match lost {
        LockLost::SessionEnded(zksync::Error::SessionExpired) => {
            "the ZooKeeper session expired".into()
        }
        LockLost::SessionEnded(e) => format!("the ZooKeeper session ended ({e})"),
        LockLost::NodeDeleted => "its lock node was deleted by someone else".into(),
        LockLost::LeaseExpired => {
            "no ZooKeeper server answered within the session's lease (the servers may have \
             expired the session and given the lock to another process)"
                .into()
        }
        // A reason added to the library after this tool was written.
        other => format!("{other:?}"),
    }
}
