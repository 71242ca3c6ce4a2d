//! The command line, declared with clap's derive API.

use crate::duration;
use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::time::Duration;
use zksync::recipes::Layout;

const MAIN_EXAMPLES: &str = "\
Examples:
  # Run a nightly job on at most one machine at a time
  zksync --servers zk1:2181,zk2:2181,zk3:2181 lock /jobs/nightly -- ./nightly.sh

  # Hold deploys behind a gate, open it when the release is ready
  zksync barrier set /deploy/gate
  zksync barrier wait --timeout 10m /deploy/gate && ./deploy.sh    # on every host
  zksync barrier unset /deploy/gate

  # Run the scheduler on exactly one host: the leader; the others stand by
  zksync elect /services/scheduler -- ./scheduler

  # Who holds the lock, who waits
  zksync holders /jobs/nightly

Exit status: the command's own status for `lock`, `elect` and `double-barrier`; 1 refused
(barrier already set / not set, double barrier full); 2 error (usage, connection, invalid
path); 3 timed out; 4 lock, permit or leadership lost while the command ran; 126/127 command
not executable / not found.";

const LOCK_EXAMPLES: &str = "\
Examples:
  # At most one backup at a time, across every host that uses the same path
  zksync lock /locks/backup -- pg_dump -f /backups/db.sql mydb

  # Give up after 30 seconds if another holder keeps the lock (exit status 3)
  zksync lock --timeout 30s /locks/deploy -- ./deploy.sh

  # Readers share the lock with each other, never with a writer
  zksync lock --read /locks/catalog -- ./report.sh

  # Pass the fencing token on to the protected resource
  zksync lock /locks/ledger -- sh -c 'ledger-write --fence \"$ZKSYNC_FENCING_TOKEN\"'

  # At most 3 builds at once (a semaphore: every user of the path must say --max 3)
  zksync lock --max 3 /ci/builders -- make -j8";

const ELECT_EXAMPLES: &str = "\
Examples:
  # Run the scheduler only on the leader; the other hosts wait to take over
  zksync elect /services/scheduler -- ./scheduler --fence \"$ZKSYNC_FENCING_TOKEN\"

  # Name this candidate (default HOSTNAME-PID) and give up after a minute (exit status 3)
  zksync elect --id web-3:8080 --timeout 1m /services/primary -- ./serve

  # Follow the leader changes: one line \"<token> <id>\" per new leader
  zksync elect --observe /services/primary";

const HOLDERS_EXAMPLES: &str = "\
Examples:
  zksync holders /jobs/nightly          # holder write 4294967301 0x100a3f2c0000 12.3s db-1-4242
  zksync holders --json /ci/builders    # [{\"kind\":\"permit\",\"holder\":true,...}]

Columns: holder|waiter, kind (read, write, permit, candidate), token (the node's czxid),
session id, age of the node, its data (the holder's id, HOSTNAME-PID for zksync; - if empty).
Holders come first, then waiters, each in queue order. Exit status 0 (an empty queue prints
nothing, or [] with --json), 2 if PATH does not exist.";

const BARRIER_EXAMPLES: &str = "\
Examples:
  zksync barrier set /deploy/gate                     # close the gate (exit 1 if closed)
  zksync barrier wait --timeout 5m /deploy/gate       # block until it opens (exit 3 on timeout)
  zksync barrier unset /deploy/gate                   # open it: every waiter returns";

const DOUBLE_BARRIER_EXAMPLES: &str = "\
Examples:
  # On each of three hosts: start step 2 together, finish it together
  zksync double-barrier --count 3 /batch/step-2 -- ./step2.sh

  # With explicit participant ids and a bound on the wait for the others
  zksync double-barrier --count 3 --id worker-1 --timeout 2m /batch/step-2 -- ./step2.sh";

/// `zksync`: ZooKeeper coordination recipes from the shell.
#[derive(Debug, Parser)]
#[command(
    name = "zksync",
    version,
    about = "Coordination recipes on ZooKeeper from the shell: locks, semaphores, leader \
             election, barriers, double barriers",
    long_about = "Coordination recipes on ZooKeeper from the shell, in the tradition of flock, \
                  `etcdctl lock` and `consul lock`: run a command while holding a distributed \
                  read-write lock or one of N permits, or only while leading an election; \
                  see who holds and who waits; wait at a barrier, or start and finish \
                  together with N other processes.",
    after_help = MAIN_EXAMPLES
)]
pub struct Cli {
    /// ZooKeeper servers as host:port[,host:port...], optionally with a chroot suffix
    /// (`zk1:2181,zk2:2181/myapp`). Default: $ZOOKEEPER_PEERS, else 127.0.0.1:2181.
    #[arg(
        long,
        global = true,
        value_name = "HOSTS",
        env = "ZOOKEEPER_PEERS",
        default_value = "127.0.0.1:2181",
        hide_env_values = true
    )]
    pub servers: String,

    /// Session timeout in milliseconds. A lock holder cut off from ZooKeeper for this long
    /// loses its lock (and its command is stopped).
    #[arg(
        long,
        global = true,
        value_name = "MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..=3_600_000)
    )]
    pub session_timeout: u64,

    /// How long to try to reach the servers before giving up with exit status 2
    /// (default: the session timeout).
    #[arg(long, global = true, value_name = "DURATION", value_parser = duration::parse)]
    pub connect_timeout: Option<Duration>,

    /// The servers' syncLimit × tickTime (e.g. 10s for tickTime=2000, syncLimit=5): a lock
    /// holder's lease then stays safe when its server is cut off from the leader by a network
    /// that drops packets, or the leader stalls. Must be below half the session timeout.
    #[arg(long, global = true, value_name = "DURATION", value_parser = duration::parse)]
    pub server_sync_limit: Option<Duration>,

    /// Authenticate with SASL DIGEST-MD5 as USER (servers with a JAAS `Server` section of
    /// ZooKeeper's DigestLoginModule). The password is read from --sasl-password-file, else
    /// from $ZKSYNC_SASL_PASSWORD: never from the command line. A refused user or password
    /// exits with status 2.
    #[arg(long, global = true, value_name = "USER", env = "ZKSYNC_SASL_USER")]
    pub sasl_user: Option<String>,

    /// A file holding the SASL password (its first line; a trailing newline is ignored).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "ZKSYNC_SASL_PASSWORD_FILE",
        requires = "sasl_user"
    )]
    pub sasl_password_file: Option<std::path::PathBuf>,

    /// Say on stderr what zksync is doing (connected, acquired, released...).
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// TLS to the servers (--tls-ca, --tls-cert, --tls-key, --tls-server-name).
    #[command(flatten)]
    pub tls: crate::tls::TlsArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command while holding a lock (the write lock, a read lock with --read, or one of
    /// N permits with --max N).
    #[command(
        long_about = "Acquire the write lock (or a read lock with --read, or one of N permits of \
                      a semaphore with --max N) at PATH, run CMD while holding it, release it, \
                      and exit with CMD's exit status.\n\n\
                      CMD gets the lock's fencing token in $ZKSYNC_FENCING_TOKEN (the lock \
                      node's czxid: it grows with every new holder, for the life of the \
                      ensemble). If the lock is lost while CMD runs (its lease ran out without \
                      contact with ZooKeeper, which happens before the servers can expire the \
                      session, or the session expired), CMD's process group gets SIGTERM, then \
                      SIGKILL after --kill-after, and zksync exits with status 4. SIGINT, SIGTERM and SIGHUP \
                      sent to zksync are passed on to CMD; the lock is released once CMD is \
                      gone.",
        after_help = LOCK_EXAMPLES
    )]
    Lock(LockArgs),

    /// Run a command only while this process leads an election, or follow its leaders.
    #[command(
        long_about = "Stand as a candidate in the election at PATH, wait until this process \
                      leads, run CMD while it leads, resign when CMD exits, and exit with CMD's \
                      exit status. The other candidates wait in line; when the leader resigns \
                      or its session ends, the next one leads.\n\n\
                      CMD gets the leadership's fencing token in $ZKSYNC_FENCING_TOKEN (the \
                      candidate node's czxid: larger for every later leader). If the leadership \
                      is lost while CMD runs (lease ran out, session expired), CMD's process \
                      group gets SIGTERM, then SIGKILL after --kill-after, and zksync exits with \
                      status 4; signals are passed on to CMD as with `zksync lock`.\n\n\
                      With --observe, print one line `<token> <id>` per new leader (the current \
                      one first) until SIGINT or SIGTERM, then exit 0.",
        after_help = ELECT_EXAMPLES
    )]
    Elect(ElectArgs),

    /// List who holds and who waits on a lock, semaphore or election.
    #[command(
        long_about = "List the queue at PATH (a lock's, a semaphore's or an election's): the \
                      holders first, then the waiters, one line each.",
        after_help = HOLDERS_EXAMPLES
    )]
    Holders(HoldersArgs),

    /// Set, unset or wait for a barrier.
    #[command(subcommand, after_help = BARRIER_EXAMPLES)]
    Barrier(BarrierCommand),

    /// Enter a double barrier with N processes, run a command, leave together.
    #[command(
        long_about = "Enter the double barrier at PATH (wait until --count participants are \
                      in), run CMD, then leave (wait until all of them are done), and exit \
                      with CMD's exit status.",
        after_help = DOUBLE_BARRIER_EXAMPLES
    )]
    DoubleBarrier(DoubleBarrierArgs),
}

/// `zksync lock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// Take a read (shared) lock: readers run together, never with a writer.
    #[arg(long)]
    pub read: bool,

    /// Take the write lock of a read-write lock. The same as the default in the go and kazoo
    /// layouts; with --layout curator the default is Curator's InterProcessMutex and --write
    /// is InterProcessReadWriteLock's write lock (Curator names them apart).
    #[arg(long, conflicts_with_all = ["read", "max"])]
    pub write: bool,

    /// Whose node layout to follow: go (the default), curator (Apache Curator's
    /// InterProcessMutex, InterProcessReadWriteLock, InterProcessSemaphoreV2) or kazoo (kazoo's
    /// Lock, ReadLock/WriteLock, Semaphore). Every process on PATH must use the same layout.
    #[arg(long, value_name = "LAYOUT", default_value = "go", value_parser = layout)]
    pub layout: Layout,

    /// Take one of N permits instead (a semaphore: at most N commands run at once). Every
    /// process using PATH must give the same N: the first one fixes it.
    #[arg(
        long,
        value_name = "N",
        conflicts_with = "read",
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub max: Option<u32>,

    /// Give up waiting for the lock after DURATION (e.g. 500ms, 10s, 2m): exit status 3.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    pub timeout: Option<Duration>,

    /// After the lock is lost, how long CMD gets between SIGTERM and SIGKILL.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, default_value = "5s")]
    pub kill_after: Duration,

    /// The lock's ZooKeeper path (created with its parents if missing).
    #[arg(value_name = "PATH", value_parser = zk_path)]
    pub path: String,

    /// The command to run while holding the lock, after `--`.
    #[arg(value_name = "CMD", last = true, required = true, num_args = 1..)]
    pub command: Vec<OsString>,
}

/// `zksync elect`.
#[derive(Debug, Args)]
pub struct ElectArgs {
    /// Whose node layout to follow: go (the default), curator (Curator's LeaderLatch) or
    /// kazoo (kazoo's Election). Every process on PATH must use the same layout.
    #[arg(long, value_name = "LAYOUT", default_value = "go", value_parser = layout)]
    pub layout: Layout,

    /// This candidate's id, stored in its node and shown to observers (default: HOSTNAME-PID).
    #[arg(long, value_name = "ID", conflicts_with = "observe", value_parser = candidate_id)]
    pub id: Option<String>,

    /// Give up waiting to lead after DURATION (e.g. 500ms, 10s, 2m): exit status 3.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, conflicts_with = "observe")]
    pub timeout: Option<Duration>,

    /// After the leadership is lost, how long CMD gets between SIGTERM and SIGKILL.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, default_value = "5s")]
    pub kill_after: Duration,

    /// Do not campaign: print `<token> <id>` for each new leader until SIGINT or SIGTERM.
    #[arg(long)]
    pub observe: bool,

    /// The election's ZooKeeper path (created with its parents if missing).
    #[arg(value_name = "PATH", value_parser = zk_path)]
    pub path: String,

    /// The command to run while leading, after `--`.
    #[arg(
        value_name = "CMD",
        last = true,
        num_args = 1..,
        required_unless_present = "observe",
        conflicts_with = "observe"
    )]
    pub command: Vec<OsString>,
}

/// `zksync holders`.
#[derive(Debug, Args)]
pub struct HoldersArgs {
    /// Print one JSON array of {kind, holder, token, session, data, age_ms, node} objects.
    #[arg(long)]
    pub json: bool,

    /// The lock's, semaphore's or election's ZooKeeper path.
    #[arg(value_name = "PATH", value_parser = zk_path)]
    pub path: String,
}

/// `zksync barrier ...`.
#[derive(Debug, Subcommand)]
pub enum BarrierCommand {
    /// Set (close) the barrier; exit status 1 if it is already set.
    #[command(after_help = "Example:\n  zksync barrier set /deploy/gate")]
    Set {
        /// The barrier's ZooKeeper path (parents are created if missing).
        #[arg(value_name = "PATH", value_parser = zk_path)]
        path: String,
    },
    /// Unset (open) the barrier, releasing every waiter; exit status 1 if it is not set.
    #[command(after_help = "Example:\n  zksync barrier unset /deploy/gate")]
    Unset {
        /// The barrier's ZooKeeper path.
        #[arg(value_name = "PATH", value_parser = zk_path)]
        path: String,
    },
    /// Wait until the barrier is not set (exit 0 at once if it is not).
    #[command(
        after_help = "Example:\n  zksync barrier wait --timeout 5m /deploy/gate && ./deploy.sh"
    )]
    Wait {
        /// Give up after DURATION (e.g. 500ms, 10s, 2m): exit status 3.
        #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
        timeout: Option<Duration>,
        /// The barrier's ZooKeeper path.
        #[arg(value_name = "PATH", value_parser = zk_path)]
        path: String,
    },
}

/// `zksync double-barrier`.
#[derive(Debug, Args)]
pub struct DoubleBarrierArgs {
    /// Number of participants: entering waits until this many are in.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: u32,

    /// This participant's id, unique among them (default: HOSTNAME-PID).
    #[arg(long, value_name = "ID", value_parser = participant_id)]
    pub id: Option<String>,

    /// Give up waiting for the others to enter after DURATION: exit status 3.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    pub timeout: Option<Duration>,

    /// The barrier's ZooKeeper path.
    #[arg(value_name = "PATH", value_parser = zk_path)]
    pub path: String,

    /// The command to run between entering and leaving, after `--`.
    #[arg(value_name = "CMD", last = true, required = true, num_args = 1..)]
    pub command: Vec<OsString>,
}

/// A node layout name: go, curator or kazoo.
fn layout(s: &str) -> Result<Layout, String> {
    s.parse::<Layout>().map_err(|e| e.to_string())
}

/// A ZooKeeper path as the server accepts it (checked before connecting).
fn zk_path(s: &str) -> Result<String, String> {
    zksync::validate_path(s).map_err(|e| match e {
        zksync::Error::InvalidPath { reason, .. } => format!("not a ZooKeeper path: {reason}"),
        other => other.to_string(),
    })?;
    Ok(s.to_string())
}

/// A candidate's id: any non-empty text without control characters (it is stored as the
/// node's data, not in its name).
fn candidate_id(s: &str) -> Result<String, String> {
    if s.is_empty() || s.chars().any(char::is_control) {
        return Err("an id is non-empty text without control characters".into());
    }
    Ok(s.to_string())
}

/// A participant id: one path segment, not the barrier's own `ready` node.
fn participant_id(s: &str) -> Result<String, String> {
    if s.is_empty() || s.contains('/') || s == "ready" || s == "." || s == ".." {
        return Err("an id is one path segment (no '/'), not \"ready\", \".\" or \"..\"".into());
    }
    zk_path(&format!("/{s}"))?;
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn lock_takes_command_after_double_dash() {
        let cli = Cli::try_parse_from([
            "zksync",
            "--servers",
            "h:1/app",
            "lock",
            "--read",
            "--timeout",
            "2m",
            "/a/b",
            "--",
            "sh",
            "-c",
            "exit 3",
        ])
        .unwrap();
        let Command::Lock(lock) = cli.command else {
            panic!("not lock")
        };
        assert!(lock.read);
        assert_eq!(lock.timeout, Some(Duration::from_secs(120)));
        assert_eq!(lock.path, "/a/b");
        assert_eq!(lock.command, ["sh", "-c", "exit 3"]);
        assert_eq!(cli.servers, "h:1/app");
    }

    #[test]
    fn elect_campaigns_or_observes() {
        let cli = Cli::try_parse_from([
            "zksync",
            "elect",
            "--id",
            "web 3",
            "--timeout",
            "1s",
            "/e",
            "--",
            "run",
            "-x",
        ])
        .unwrap();
        let Command::Elect(e) = cli.command else {
            panic!("not elect")
        };
        assert_eq!(e.id.as_deref(), Some("web 3"));
        assert!(!e.observe);
        assert_eq!(e.command, ["run", "-x"]);
        let cli = Cli::try_parse_from(["zksync", "elect", "--observe", "/e"]).unwrap();
        let Command::Elect(e) = cli.command else {
            panic!("not elect")
        };
        assert!(e.observe);
        assert!(e.command.is_empty());
    }

    #[test]
    fn lock_max_and_holders() {
        let cli =
            Cli::try_parse_from(["zksync", "lock", "--max", "3", "/s", "--", "true"]).unwrap();
        let Command::Lock(lock) = cli.command else {
            panic!("not lock")
        };
        assert_eq!(lock.max, Some(3));
        let cli = Cli::try_parse_from(["zksync", "holders", "--json", "/s"]).unwrap();
        let Command::Holders(h) = cli.command else {
            panic!("not holders")
        };
        assert!(h.json);
        assert_eq!(h.path, "/s");
    }

    #[test]
    fn refusals() {
        for argv in [
            &["zksync", "lock", "relative", "--", "true"][..],
            &["zksync", "lock", "/a/", "--", "true"],
            &["zksync", "lock", "/a"],
            &["zksync", "lock", "--timeout", "10", "/a", "--", "true"],
            &["zksync", "barrier", "wait", "--timeout", "1x", "/a"],
            &["zksync", "double-barrier", "/a", "--", "true"],
            &[
                "zksync",
                "double-barrier",
                "--count",
                "0",
                "/a",
                "--",
                "true",
            ],
            &[
                "zksync",
                "double-barrier",
                "--count",
                "2",
                "--id",
                "a/b",
                "/a",
                "--",
                "true",
            ],
            &["zksync", "--session-timeout", "0", "barrier", "set", "/a"],
            &["zksync", "lock", "--max", "2", "--read", "/a", "--", "true"],
            &["zksync", "lock", "--max", "0", "/a", "--", "true"],
            &["zksync", "elect", "/a"],
            &["zksync", "elect", "--observe", "/a", "--", "true"],
            &["zksync", "elect", "--observe", "--id", "x", "/a"],
            &["zksync", "elect", "--id", "", "/a", "--", "true"],
            &["zksync", "holders"],
            &["zksync", "holders", "rel"],
        ] {
            assert!(Cli::try_parse_from(argv).is_err(), "{argv:?} accepted");
        }
    }
}
