//! `zksync lock`: run CMD while holding a read or write lock, or one of N permits (`--max`).

use crate::args::{Cli, LockArgs};
use crate::child::Signals;
use crate::hold::{self, Plan};
use crate::{default_id, Failure};
use zksync::recipes::{Layout, Mutex, RwLock, Semaphore};
use zksync::Client;

/// Acquires, runs CMD, releases; returns CMD's exit status.
pub async fn run(
    cli: &Cli,
    client: &Client,
    args: &LockArgs,
    signals: &mut Signals,
) -> Result<i32, Failure> {
    let path = &args.path;
    // The node's data names the holder, for operators looking at the queue (`zksync holders`).
    let id = default_id();
    let plan = |what: String, node| Plan {
        what,
        node,
        timeout: args.timeout,
        kill_after: args.kill_after,
        command: &args.command,
    };
    if let Some(max) = args.max {
        let semaphore = Semaphore::new(client.clone(), path, max)
            .with_data(id.as_bytes())
            .with_layout(args.layout);
        let plan = plan(
            format!("a permit of the semaphore {path} ({max} permits)"),
            "permit node",
        );
        return hold::run(cli, &plan, semaphore.acquire(), signals).await;
    }
    let kind = if args.read { "read" } else { "write" };
    let lock = RwLock::new(client.clone(), path)
        .with_data(id.as_bytes())
        .with_layout(args.layout);
    let plan = plan(format!("the {kind} lock {path}"), "lock node");
    // Curator names a mutex's nodes apart from a read-write lock's writers: a plain `lock` is
    // its InterProcessMutex, `--write` its read-write lock's write side.
    let mutex = (args.layout == Layout::Curator && !args.read && !args.write).then(|| {
        Mutex::new(client.clone(), path)
            .with_data(id.as_bytes())
            .with_layout(args.layout)
    });
    let acquire = async {
        match &mutex {
            Some(m) => m.lock().await,
            None if args.read => lock.read().await,
            None => lock.write().await,
        }
    };
    hold::run(cli, &plan, acquire, signals).await
}
