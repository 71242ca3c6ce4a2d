//! `zksync double-barrier`: enter with N processes, run CMD, leave together.

use crate::args::{Cli, DoubleBarrierArgs};
use crate::child::{exit_code, Child, Ended, Signals};
use crate::duration::show;
use crate::{
    default_id, note, server_error, within, Failure, EXIT_ERROR, EXIT_REFUSED, EXIT_TIMEOUT,
};
use std::time::Duration;
use zksync::recipes::DoubleBarrier;
use zksync::Client;

/// Enters, runs CMD, leaves; returns CMD's exit status.
pub async fn run(
    cli: &Cli,
    client: &Client,
    args: &DoubleBarrierArgs,
    signals: &mut Signals,
) -> Result<i32, Failure> {
    let path = &args.path;
    let id = args.id.clone().unwrap_or_else(default_id);
    let count = args.count as usize;
    let barrier = DoubleBarrier::new(client.clone(), path, &id, count);
    note(
        cli,
        format_args!("entering double barrier {path} as {id} (waiting for {count})"),
    );
    // Dropping `enter` (timeout, signal) removes our participant node.
    tokio::select! {
        r = within(args.timeout, barrier.enter()) => match r {
            Some(Ok(())) => {}
            Some(Err(zksync::Error::BarrierFull { count })) => {
                return Err(Failure::new(
                    EXIT_REFUSED,
                    format!("double barrier {path} is full: {count} participants are already in"),
                ))
            }
            Some(Err(e)) if e.is_node_exists() => {
                return Err(Failure::new(
                    EXIT_REFUSED,
                    format!("participant id {id:?} is already in double barrier {path}"),
                ))
            }
            Some(Err(e)) => {
                return Err(Failure::new(EXIT_ERROR, format!("cannot enter double barrier {path}: {}", server_error(cli, &e))))
            }
            None => {
                return Err(Failure::new(
                    EXIT_TIMEOUT,
                    format!(
                        "timed out after {} waiting for {count} participants to enter double barrier {path}",
                        show(args.timeout.unwrap_or_default())
                    ),
                ))
            }
        },
        sig = signals.recv() => return Ok(128 + sig),
    }
    note(
        cli,
        format_args!("entered double barrier {path}: all {count} are in"),
    );

    let child = Child::spawn(&args.command, &[])?;
    let never = std::future::pending::<()>();
    let code = match child.run(signals, never, Duration::ZERO, |_| {}).await {
        Ended::Exited(status) => exit_code(status),
        Ended::Stopped((), stopping) => exit_code(stopping.status),
    };

    note(cli, format_args!("leaving double barrier {path}"));
    tokio::select! {
        r = barrier.leave() => r.map_err(|e| {
            Failure::new(EXIT_ERROR, format!("cannot leave double barrier {path}: {e}"))
        })?,
        sig = signals.recv() => return Ok(128 + sig),
    }
    note(
        cli,
        format_args!("left double barrier {path}: all {count} are done"),
    );
    Ok(code)
}
