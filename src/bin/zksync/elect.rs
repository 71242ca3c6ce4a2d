//! `zksync elect`: run CMD only while this process leads an election, or (`--observe`) print
//! each new leader.

use crate::args::{Cli, ElectArgs};
use crate::child::Signals;
use crate::hold::{self, Plan};
use crate::holders::field;
use crate::{default_id, server_error, Failure, EXIT_ERROR};
use std::io::Write;
use zksync::recipes::Election;
use zksync::Client;

/// Campaigns, runs CMD while leading, resigns; returns CMD's exit status. With `--observe`,
/// prints `<token> <id>` per new leader until a signal (then 0).
pub async fn run(
    cli: &Cli,
    client: &Client,
    args: &ElectArgs,
    signals: &mut Signals,
) -> Result<i32, Failure> {
    let path = &args.path;
    if args.observe {
        let election = Election::new(client.clone(), path).with_layout(args.layout);
        return observe(cli, &election, signals).await;
    }
    let id = args.id.clone().unwrap_or_else(default_id);
    let election = Election::new(client.clone(), path)
        .with_id(id.as_bytes())
        .with_layout(args.layout);
    let plan = Plan {
        what: format!("the leadership of {path}"),
        node: "candidate node",
        timeout: args.timeout,
        kill_after: args.kill_after,
        command: &args.command,
    };
    hold::run(cli, &plan, election.campaign(), signals).await
}

async fn observe(cli: &Cli, election: &Election, signals: &mut Signals) -> Result<i32, Failure> {
    let path = election.path();
    let mut changes = election.observe();
    let mut out = std::io::stdout();
    loop {
        // `next` is cancel-safe: a signal in the middle of it loses nothing worth printing.
        let leader = tokio::select! {
            next = changes.next() => next.map_err(|e| {
                Failure::new(
                    EXIT_ERROR,
                    format!("cannot observe the election {path}: {}", server_error(cli, &e)),
                )
            })?,
            _ = signals.recv() => return Ok(0),
        };
        let line = format!("{} {}\n", leader.token, field(&leader.id));
        if let Err(e) = out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
            // The reader went away (`| head -1`): that ends the watch, quietly.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(0);
            }
            return Err(Failure::new(EXIT_ERROR, format!("cannot write: {e}")));
        }
    }
}
