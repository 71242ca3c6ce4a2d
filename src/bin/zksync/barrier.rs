//! `zksync barrier set|unset|wait`.

use crate::args::{BarrierCommand, Cli};
use crate::child::Signals;
use crate::duration::show;
use crate::{note, within, Failure, EXIT_ERROR, EXIT_REFUSED, EXIT_TIMEOUT};
use zksync::recipes::Barrier;
use zksync::{Client, ErrorCode};

/// Runs one barrier subcommand; `Ok(0)` on success.
pub async fn run(
    cli: &Cli,
    client: &Client,
    command: &BarrierCommand,
    signals: &mut Signals,
) -> Result<i32, Failure> {
    match command {
        BarrierCommand::Set { path } => match Barrier::new(client.clone(), path).set().await {
            Ok(()) => {
                note(cli, format_args!("barrier {path} set"));
                Ok(0)
            }
            Err(e) if e.is_node_exists() => Err(Failure::new(
                EXIT_REFUSED,
                format!("barrier {path} is already set"),
            )),
            Err(e) => Err(error(path, "set", e)),
        },
        BarrierCommand::Unset { path } => match Barrier::new(client.clone(), path).unset().await {
            Ok(()) => {
                note(cli, format_args!("barrier {path} unset"));
                Ok(0)
            }
            Err(e) if e.is_no_node() => Err(Failure::new(
                EXIT_REFUSED,
                format!("barrier {path} is not set"),
            )),
            Err(e) if e.code() == Some(ErrorCode::NotEmpty) => Err(Failure::new(
                EXIT_ERROR,
                format!("cannot unset barrier {path}: the node has children (not a barrier?)"),
            )),
            Err(e) => Err(error(path, "unset", e)),
        },
        BarrierCommand::Wait { timeout, path } => {
            let barrier = Barrier::new(client.clone(), path);
            note(cli, format_args!("waiting for barrier {path}"));
            tokio::select! {
                r = within(*timeout, barrier.wait()) => match r {
                    Some(Ok(())) => {
                        note(cli, format_args!("barrier {path} is not set: go"));
                        Ok(0)
                    }
                    Some(Err(e)) => Err(error(path, "wait for", e)),
                    None => Err(Failure::new(
                        EXIT_TIMEOUT,
                        format!(
                            "timed out after {}: barrier {path} is still set",
                            show(timeout.unwrap_or_default())
                        ),
                    )),
                },
                sig = signals.recv() => Ok(128 + sig),
            }
        }
    }
}

fn error(path: &str, what: &str, e: zksync::Error) -> Failure {
    Failure::new(EXIT_ERROR, format!("cannot {what} barrier {path}: {e}"))
}
