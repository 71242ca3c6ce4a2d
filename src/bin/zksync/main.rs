//! `zksync`: the coordination recipes as a command, in the tradition of `flock`,
//! `etcdctl lock` and `consul lock`. A thin layer over [`zksync::recipes`].
//!
//! Exit status: CMD's own for `lock`, `elect` and `double-barrier`; [`EXIT_REFUSED`] (1),
//! [`EXIT_ERROR`] (2), [`EXIT_TIMEOUT`] (3), [`EXIT_LOST`] (4); 126/127 when CMD cannot be
//! executed / is not found; 128 + N when zksync itself was stopped by signal N before CMD ran.

mod args;
mod barrier;
mod child;
mod double_barrier;
mod duration;
mod elect;
mod group;
mod hold;
mod holders;
mod lock;
mod tls;

use args::{Cli, Command};
use clap::Parser;
use std::time::Duration;
use zksync::{Client, ConnectOptions};

/// The coordination state refused the request: barrier already set / not set, double
/// barrier full or participant id taken.
pub const EXIT_REFUSED: i32 = 1;
/// Usage error, unreachable servers, invalid path, or any other error from ZooKeeper.
pub const EXIT_ERROR: i32 = 2;
/// `--timeout` passed before the lock / permit / leadership / barrier was obtained.
pub const EXIT_TIMEOUT: i32 = 3;
/// The lock, permit or leadership was lost while CMD ran (session expired, or its node
/// deleted); CMD was stopped.
pub const EXIT_LOST: i32 = 4;

/// Why zksync ends without an exit status of CMD to pass on: an exit status and a one-line
/// message for stderr.
#[derive(Debug)]
pub struct Failure {
    /// The exit status.
    pub code: i32,
    /// What went wrong (printed as `zksync: <message>`).
    pub message: String,
}

impl Failure {
    /// A failure with this exit status and message.
    pub fn new(code: i32, message: String) -> Failure {
        Failure { code, message }
    }
}

/// Prints a progress line on stderr when `--verbose` is on.
pub fn note(cli: &Cli, message: std::fmt::Arguments<'_>) {
    if cli.verbose {
        eprintln!("zksync: {message}");
    }
}

fn main() {
    // A bug must not greet a shell user with a backtrace: one line, exit status 2.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("zksync: internal error: {info}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => usage_error(e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => exit(Err(Failure::new(EXIT_ERROR, format!("cannot start: {e}")))),
    };
    let result = runtime.block_on(run(&cli));
    drop(runtime);
    exit(result)
}

fn exit(result: Result<i32, Failure>) -> ! {
    let code = match result {
        Ok(code) => code,
        Err(f) => {
            eprintln!("zksync: {}", f.message);
            f.code
        }
    };
    std::process::exit(code)
}

/// clap's own output for --help / --version; any other parse error as one line, status 2.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        std::process::exit(
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                EXIT_ERROR
            } else {
                0
            },
        );
    }
    let text = e.render().to_string();
    let mut parts = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            parts.push(line.strip_prefix("error: ").unwrap_or(line).to_string());
        }
    }
    eprintln!(
        "zksync: {} (see {} --help)",
        parts.join(" "),
        command_path()
    );
    std::process::exit(EXIT_ERROR)
}

/// `zksync`, `zksync lock`, `zksync barrier wait`...: the (sub)command the user was typing,
/// for the pointer to its --help.
fn command_path() -> String {
    let mut path = vec!["zksync".to_string()];
    let mut want: &[&str] = &["lock", "elect", "holders", "barrier", "double-barrier"];
    for arg in std::env::args().skip(1) {
        if arg == "--" {
            break;
        }
        if want.contains(&arg.as_str()) {
            want = if arg == "barrier" {
                &["set", "unset", "wait"]
            } else {
                &[]
            };
            path.push(arg);
        }
    }
    path.join(" ")
}

/// A server error message, with a hint for the usual cause of "no node" under a chroot.
pub fn server_error(cli: &Cli, e: &zksync::Error) -> String {
    if e.is_no_node() && cli.servers.contains('/') {
        format!("{e} (does the chroot in --servers exist? zksync does not create it)")
    } else if *e == zksync::Error::AuthFailed && cli.sasl_user.is_none() {
        format!("{e} (do the servers require SASL? see --sasl-user)")
    } else {
        e.to_string()
    }
}

async fn run(cli: &Cli) -> Result<i32, Failure> {
    // Catch signals from the start: dying while a lock node or a participant node exists
    // would leave it behind for a whole session timeout.
    let mut signals = child::Signals::install()?;
    let client = tokio::select! {
        c = connect(cli) => c?,
        sig = signals.recv() => return Ok(128 + sig),
    };
    let result = match &cli.command {
        Command::Lock(a) => lock::run(cli, &client, a, &mut signals).await,
        Command::Elect(a) => elect::run(cli, &client, a, &mut signals).await,
        Command::Holders(a) => tokio::select! {
            r = holders::run(cli, &client, a) => r,
            sig = signals.recv() => Ok(128 + sig),
        },
        Command::Barrier(a) => barrier::run(cli, &client, a, &mut signals).await,
        Command::DoubleBarrier(a) => double_barrier::run(cli, &client, a, &mut signals).await,
    };
    // closeSession: the server drops our ephemeral nodes at once (bounded: a server that
    // vanished must not keep us).
    let _ = tokio::time::timeout(Duration::from_secs(2), client.close()).await;
    note(cli, format_args!("session closed"));
    result
}

/// The SASL password: from --sasl-password-file, else $ZKSYNC_SASL_PASSWORD.
fn sasl_password(cli: &Cli, user: &str) -> Result<String, Failure> {
    if let Some(file) = &cli.sasl_password_file {
        let text = std::fs::read_to_string(file).map_err(|e| {
            let file = file.display();
            Failure::new(
                EXIT_ERROR,
                format!("cannot read --sasl-password-file {file}: {e}"),
            )
        })?;
        let line = text.lines().next().unwrap_or("");
        return Ok(line.to_string());
    }
    std::env::var("ZKSYNC_SASL_PASSWORD").map_err(|_| {
        Failure::new(
            EXIT_ERROR,
            format!(
                "SASL user {user:?} needs a password: --sasl-password-file FILE or \
                 $ZKSYNC_SASL_PASSWORD"
            ),
        )
    })
}

async fn connect(cli: &Cli) -> Result<Client, Failure> {
    let session_timeout = Duration::from_millis(cli.session_timeout);
    let mut options = ConnectOptions::default()
        .session_timeout(session_timeout)
        .establish_timeout(cli.connect_timeout.unwrap_or(session_timeout))
        .server_sync_limit(cli.server_sync_limit.unwrap_or_default());
    if let Some(tls) = cli.tls.options() {
        options = options.tls(tls);
    }
    if let Some(user) = &cli.sasl_user {
        options = options.sasl_digest_md5(user, &sasl_password(cli, user)?);
    }
    let client = options.connect(&cli.servers).await.map_err(|e| {
        let hint = match (&e, &cli.sasl_user) {
            (zksync::Error::AuthFailed, Some(u)) => {
                format!(" (SASL DIGEST-MD5 as {u:?}: wrong user or password?)")
            }
            _ => String::new(),
        };
        // One line: for `Unreachable`, each server and what happened there last.
        Failure::new(
            EXIT_ERROR,
            format!("cannot connect to ZooKeeper at {}: {e}{hint}", cli.servers),
        )
    })?;
    note(
        cli,
        format_args!(
            "connected to {} (session 0x{:x}, timeout {})",
            cli.servers,
            client.session_id(),
            duration::show(client.session_timeout())
        ),
    );
    Ok(client)
}

/// `fut`, bounded by `limit` if there is one: `None` when the limit passed first.
pub async fn within<T>(
    limit: Option<Duration>,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    match limit {
        Some(d) => tokio::time::timeout(d, fut).await.ok(),
        None => Some(fut.await),
    }
}

/// This process's default participant id: `HOSTNAME-PID`.
pub fn default_id() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or
    // truncates, and the last byte stays 0.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) } == 0;
    let host = if ok {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    let host: String = host
        .chars()
        .filter(|c| !c.is_control() && *c != '/')
        .collect();
    let host = if host.is_empty() {
        "host".to_string()
    } else {
        host
    };
    format!("{host}-{}", std::process::id())
}
