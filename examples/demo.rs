//! The main demo: the `zksync` command's recipes working across real processes.
//!
//! ```text
//! scripts/demo          # starts the local ensemble if needed, builds, runs this
//! cargo run --release --features cli --example demo     # with ZOOKEEPER_PEERS set
//! ```
//!
//! Scenes 1-5 start real `zksync` processes (the binary built next to this example, or
//! `$ZKSYNC_BIN`) and print what they print, with timestamps; scenes 6 and 7 (leader election,
//! a semaphore) run their participants in this process through the library, one ZooKeeper
//! session each. Every scene then checks what it claims (writers alone, readers together,
//! everyone leaving together, one leader at a time...). Exits non-zero if a check fails. Works
//! under `/zksync-demo/<pid>` and removes it at the end. Runs in about 20 s.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use zksync::recipes::{Election, LockLost, Semaphore};
use zksync::Client;
// Shared with the integration tests (test-support/, a dev-dependency): a TCP forwarder the demo
// cuts to make the holder lose its session, and the recursive delete that removes its tree.
use zksync_test_support::{delete_tree, Forwarder};

/// One line printed by a process, or its exit.
#[derive(Clone, Debug)]
struct Event {
    at: Instant,
    who: String,
    text: String,
}

/// The narrator: starts processes, prints their lines with timestamps, remembers them.
#[derive(Clone)]
struct Demo {
    bin: PathBuf,
    peers: String,
    root: String,
    scene_start: Arc<Mutex<Instant>>,
    events: Arc<Mutex<Vec<Event>>>,
    pids: Arc<Mutex<Vec<u32>>>,
    failed: Arc<AtomicBool>,
}

/// A running `zksync` process; `exit` waits for its status.
struct Proc {
    who: String,
    started: Instant,
    task: JoinHandle<i32>,
}

impl Proc {
    async fn exit(self) -> i32 {
        self.task.await.unwrap_or(-1)
    }
}

impl Demo {
    fn stamp(&self, at: Instant) -> String {
        let start = *self.scene_start.lock().unwrap();
        format!(
            "[{:5.2}s]",
            at.saturating_duration_since(start).as_secs_f64()
        )
    }

    fn scene(&self, title: &str, intro: &[&str]) {
        *self.scene_start.lock().unwrap() = Instant::now();
        self.events.lock().unwrap().clear(); // checks look at this scene only
        println!("\n=== {title}");
        for line in intro {
            println!("    {line}");
        }
        println!();
    }

    fn say(&self, text: &str) {
        println!("{} {:<10} {text}", self.stamp(Instant::now()), "--");
    }

    fn check(&self, ok: bool, text: &str) {
        if ok {
            println!("    ok: {text}");
        } else {
            println!("    FAILED: {text}");
            self.failed.store(true, Ordering::SeqCst);
        }
    }

    fn record(&self, who: &str, text: &str) {
        let at = Instant::now();
        println!("{} {who:<10} | {text}", self.stamp(at));
        self.events.lock().unwrap().push(Event {
            at,
            who: who.to_string(),
            text: text.to_string(),
        });
    }

    /// Events of `who` whose text contains `needle`.
    fn find(&self, who: &str, needle: &str) -> Vec<Instant> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.who == who && e.text.contains(needle))
            .map(|e| e.at)
            .collect()
    }

    /// The fencing token `who` printed ("fencing token N").
    fn token(&self, who: &str) -> Option<i64> {
        self.events.lock().unwrap().iter().find_map(|e| {
            let rest = e.text.split("fencing token ").nth(1)?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (e.who == who).then(|| digits.parse().ok()).flatten()
        })
    }

    fn first(&self, who: &str, needle: &str) -> Instant {
        self.find(who, needle).first().copied().unwrap_or_else(|| {
            self.check(false, &format!("{who} never printed {needle:?}"));
            Instant::now()
        })
    }

    /// Starts `zksync ARGS...` as `who` (in a process group of its own, so that a Ctrl-C in
    /// the terminal reaches only the demo, which then stops its processes properly).
    fn start(&self, who: &str, args: &[&str]) -> Proc {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args(args)
            .env("ZOOKEEPER_PEERS", &self.peers)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("demo: cannot run {}: {e}", self.bin.display());
                std::process::exit(2);
            }
        };
        if let Some(pid) = child.id() {
            self.pids.lock().unwrap().push(pid);
        }
        let mut readers = Vec::new();
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn AsyncReadSend>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn AsyncReadSend>);
        for stream in [stdout, stderr].into_iter().flatten() {
            let (demo, who) = (self.clone(), who.to_string());
            readers.push(tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    demo.record(&who, &line);
                }
            }));
        }
        let (demo, name) = (self.clone(), who.to_string());
        let task = tokio::spawn(async move {
            let status = child.wait().await;
            for r in readers {
                let _ = r.await;
            }
            let code = status.ok().and_then(|s| s.code()).unwrap_or(-1);
            demo.record(&name, &format!("(exit status {code})"));
            code
        });
        Proc {
            who: who.to_string(),
            started: Instant::now(),
            task,
        }
    }

    fn path(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root)
    }
}

trait AsyncReadSend: tokio::io::AsyncRead + Send + Unpin {}
impl<T: tokio::io::AsyncRead + Send + Unpin> AsyncReadSend for T {}

fn show(token: Option<i64>) -> String {
    token.map_or_else(|| "?".into(), |t| t.to_string())
}

fn sh(script: &str) -> [&str; 3] {
    ["sh", "-c", script]
}

/// Scene 1: writers alone, readers together.
async fn locks(d: &Demo) {
    let lock = d.path("lock");
    let write = r#"echo "WRITE lock held (fencing token $ZKSYNC_FENCING_TOKEN), working 1s"; sleep 1; echo "done, releasing""#;
    let read = r#"echo "read lock held (fencing token $ZKSYNC_FENCING_TOKEN), working 1s"; sleep 1; echo "done, releasing""#;
    d.scene(
        "1. A read-write lock: writers take turns, readers share",
        &[
            "Five processes ask for the same lock, 0.2 s apart, in this order:",
            "writer-1, reader-1, reader-2, writer-2, reader-3. Each works for 1 s.",
            &format!("  zksync lock {lock} -- sh -c 'echo ...; sleep 1; ...'          (a writer)"),
            &format!("  zksync lock --read {lock} -- sh -c 'echo ...; sleep 1; ...'   (a reader)"),
            "Expect: writer-1 alone, reader-1 + reader-2 together, writer-2 alone, reader-3.",
        ],
    );
    let mut procs = Vec::new();
    for who in ["writer-1", "reader-1", "reader-2", "writer-2", "reader-3"] {
        let script = if who.starts_with("writer") {
            write
        } else {
            read
        };
        let mut args = vec!["lock"];
        if who.starts_with("reader") {
            args.push("--read");
        }
        args.push(&lock);
        args.push("--");
        args.extend(sh(script));
        procs.push(d.start(who, &args));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut all_ok = true;
    for p in procs {
        all_ok &= p.exit().await == 0;
    }
    d.check(
        all_ok,
        "every command exited 0, and zksync exited with its status",
    );
    let span = |who: &str| (d.first(who, "held"), d.first(who, "releasing"));
    let overlap = |a: (Instant, Instant), b: (Instant, Instant)| a.0 < b.1 && b.0 < a.1;
    let names = ["writer-1", "reader-1", "reader-2", "writer-2", "reader-3"];
    let mut writers_alone = true;
    for w in ["writer-1", "writer-2"] {
        for other in names.iter().filter(|n| **n != w) {
            writers_alone &= !overlap(span(w), span(other));
        }
    }
    d.check(
        writers_alone,
        "a writer never held the lock together with anyone",
    );
    d.check(
        overlap(span("reader-1"), span("reader-2")),
        "reader-1 and reader-2 held their read locks at the same time",
    );
}

/// Scene 2: giving up with --timeout.
async fn timeout(d: &Demo) {
    let lock = d.path("busy");
    d.scene(
        "2. Busy? Give up after a while: --timeout (exit status 3)",
        &[
            "holder keeps the lock for 2 s; impatient waits at most 500 ms for it:",
            &format!("  zksync lock --timeout 500ms {lock} -- ./never-runs.sh"),
        ],
    );
    let holder = d.start(
        "holder",
        &[
            &["lock", &lock, "--"][..],
            &sh(r#"echo "holding the lock for 2s"; sleep 2"#),
        ]
        .concat(),
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let impatient = d.start(
        "impatient",
        &["lock", "--timeout", "500ms", &lock, "--", "./never-runs.sh"],
    );
    let code = impatient.exit().await;
    d.check(
        code == 3,
        "impatient gave up with exit status 3, without running its command",
    );
    d.check(
        holder.exit().await == 0,
        "holder finished its work undisturbed",
    );
}

/// Scene 3: a barrier released by one command.
async fn barrier(d: &Demo) {
    let gate = d.path("gate");
    d.scene(
        "3. A barrier: three waiters released at once by one command",
        &[
            &format!("  zksync barrier set {gate}        (close the gate)"),
            &format!("  zksync barrier wait {gate}       (x3: block while it is closed)"),
            &format!("  zksync barrier unset {gate}      (open it: every waiter returns)"),
        ],
    );
    let set = d.start("set", &["barrier", "set", &gate]);
    d.check(set.exit().await == 0, "barrier set");
    let again = d.start("set-again", &["barrier", "set", &gate]);
    d.check(
        again.exit().await == 1,
        "setting it again is refused with exit status 1",
    );
    let waiters: Vec<Proc> = (1..=3)
        .map(|i| {
            let p = d.start(&format!("waiter-{i}"), &["barrier", "wait", &gate]);
            d.say(&format!("waiter-{i} is waiting at the gate"));
            p
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    d.say("opening the gate");
    let opened = Instant::now();
    let unset = d.start("unset", &["barrier", "unset", &gate]);
    d.check(unset.exit().await == 0, "barrier unset");
    let mut released = true;
    for w in waiters {
        let who = w.who.clone();
        released &= w.exit().await == 0 && d.first(&who, "exit status").gt(&opened);
    }
    d.check(
        released,
        "all three waiters returned only after the gate was opened",
    );
}

/// Scene 4: a double barrier, three processes in and out together.
async fn double_barrier(d: &Demo) {
    let step = d.path("step");
    d.scene(
        "4. A double barrier: three workers start together and finish together",
        &[
            "Workers arrive 0.7 s apart; worker-N works N x 0.5 s:",
            &format!("  zksync double-barrier --count 3 --id worker-N {step} -- ./work.sh"),
            "Expect: nobody starts before worker-3 arrives; nobody leaves before all are done.",
        ],
    );
    let mut workers = Vec::new();
    for n in 1..=3u32 {
        let id = format!("worker-{n}");
        let script = format!(
            r#"echo "in: all 3 have entered; working {}s"; sleep {}; echo "work done""#,
            f64::from(n) * 0.5,
            f64::from(n) * 0.5
        );
        let args = [
            &["double-barrier", "--count", "3", "--id", &id, &step, "--"][..],
            &sh(&script),
        ]
        .concat();
        workers.push(d.start(&id, &args));
        d.say(&format!("{id} arrived and waits for the others"));
        if n < 3 {
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
    }
    let last_arrival = workers
        .last()
        .map(|w| w.started)
        .unwrap_or_else(Instant::now);
    let mut codes_ok = true;
    for w in workers {
        codes_ok &= w.exit().await == 0;
    }
    d.check(codes_ok, "every worker exited 0");
    let ids = ["worker-1", "worker-2", "worker-3"];
    let last_done = ids.iter().map(|w| d.first(w, "work done")).max().unwrap();
    d.check(
        ids.iter().all(|w| d.first(w, "in: all 3") >= last_arrival),
        "nobody started working before worker-3 arrived",
    );
    d.check(
        ids.iter().all(|w| d.first(w, "exit status") >= last_done),
        "nobody left before the slowest worker was done",
    );
}

/// Scene 5: a holder cut off from ZooKeeper loses its lock; its command is stopped.
async fn lost_lock(d: &Demo) {
    let lock = d.path("fenced");
    let servers = d
        .peers
        .split(',')
        .next()
        .unwrap_or("127.0.0.1:2181")
        .to_string();
    let proxy = Forwarder::start(&servers).await;
    d.scene(
        "5. A lost lock: the holder is cut off from ZooKeeper",
        &[
            "holder reaches ZooKeeper through a proxy the demo can cut, with a 2 s session:",
            &format!(
                "  zksync --servers {} --session-timeout 2000 lock {lock} -- ./work-forever.sh",
                proxy.addr
            ),
            "next waits for the same lock. When the holder's lease runs out (before the servers",
            "can expire its session), zksync stops the holder's command (SIGTERM) and exits 4;",
            "next gets the lock with a larger fencing token (the lock node's czxid).",
        ],
    );
    let forever = r#"trap 'echo "got SIGTERM, stopping"; exit 0' TERM; echo "WRITE lock held (fencing token $ZKSYNC_FENCING_TOKEN), working"; while :; do sleep 0.1; done"#;
    let holder = d.start(
        "holder",
        &[
            &[
                "--servers",
                &proxy.addr,
                "--session-timeout",
                "2000",
                "lock",
                &lock,
                "--",
            ][..],
            &sh(forever),
        ]
        .concat(),
    );
    while d.find("holder", "held").is_empty() && d.find("holder", "exit status").is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let next = d.start(
        "next",
        &[
            &["lock", &lock, "--"][..],
            &sh(r#"echo "WRITE lock held (fencing token $ZKSYNC_FENCING_TOKEN)""#),
        ]
        .concat(),
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    d.say("cutting the holder's connection to ZooKeeper");
    proxy.cut_off(); // and no reconnect through it: the session expires
    let holder_code = holder.exit().await;
    let next_code = next.exit().await;
    d.check(
        holder_code == 4,
        "holder's zksync stopped its command and exited 4",
    );
    d.check(
        next_code == 0,
        "next got the lock once the old session had expired",
    );
    d.check(
        !d.find("holder", "got SIGTERM").is_empty(),
        "the holder's command was told to stop (SIGTERM)",
    );
    let (old, new) = (d.token("holder"), d.token("next"));
    d.check(
        matches!((old, new), (Some(o), Some(n)) if n > o),
        &format!(
            "next's fencing token ({}) is larger than the old holder's ({}): a store that \
             remembers the highest token it has seen rejects the old holder's late writes",
            show(new),
            show(old)
        ),
    );
}

/// Connects one more ZooKeeper session for an in-process participant (scenes 6 and 7).
async fn session(d: &Demo) -> Client {
    match Client::connect(&d.peers).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("demo: cannot reach ZooKeeper at {}: {e}", d.peers);
            std::process::exit(2);
        }
    }
}

/// How a candidate's leadership ended.
enum Ended {
    Lost(LockLost),
    Resigned,
}

/// One candidate of scene 6: campaigns, leads until it is told to resign or its leadership
/// is lost, and reports each step.
async fn candidate(
    d: Demo,
    who: String,
    client: Client,
    path: String,
    resign: oneshot::Receiver<()>,
) {
    let election = Election::new(client, &path).with_id(who.as_bytes());
    d.record(&who, "campaigning");
    let leadership = match election.campaign().await {
        Ok(l) => l,
        Err(e) => {
            d.record(&who, &format!("campaign failed: {e}"));
            return;
        }
    };
    d.record(
        &who,
        &format!("LEADING (fencing token {})", leadership.token()),
    );
    let ended = tokio::select! {
        lost = leadership.lost() => Ended::Lost(lost),
        _ = resign => Ended::Resigned,
    };
    match ended {
        Ended::Lost(LockLost::SessionEnded(e)) => {
            d.record(&who, &format!("no longer leading: session ended ({e})"))
        }
        Ended::Lost(lost) => d.record(&who, &format!("no longer leading: {lost:?}")),
        Ended::Resigned => {
            d.record(&who, "stepping down");
            match leadership.resign().await {
                Ok(()) => d.record(&who, "resigned"),
                Err(e) => d.record(&who, &format!("resign failed: {e}")),
            }
        }
    }
}

/// Waits (up to 10 s) until `who` printed `needle`.
async fn wait_for(d: &Demo, who: &str, needle: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.find(who, needle).is_empty() {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

/// Scene 6: leader election; the leader's session ends, the next candidate takes over.
async fn election(d: &Demo) {
    let path = d.path("leader");
    d.scene(
        "6. Leader election: the leader goes away, the next candidate takes over",
        &[
            "Three candidates (one ZooKeeper session each, in this process) campaign for",
            &format!("{path}, 0.2 s apart; an observer prints every change of leader:"),
            &format!("  Election::new(client, \"{path}\").with_id(b\"cand-N\").campaign().await"),
            "After 1 s cand-1's session is closed (as when its process stops; a process that",
            "just dies is removed when its session times out). Later cand-2 resigns.",
            "Expect: cand-1, cand-2, cand-3 lead in turn, one at a time, each with a larger token.",
        ],
    );
    let observer = session(d).await;
    let mut changes = Election::new(observer.clone(), &path).observe();
    let od = d.clone();
    let watching = tokio::spawn(async move {
        while let Ok(leader) = changes.next().await {
            let id = String::from_utf8_lossy(&leader.id).into_owned();
            od.record(
                "observer",
                &format!("leader is now {id} (fencing token {})", leader.token),
            );
        }
    });
    let names = ["cand-1", "cand-2", "cand-3"];
    let (mut clients, mut resigns, mut tasks) = (Vec::new(), Vec::new(), Vec::new());
    for who in names {
        let client = session(d).await;
        let (tx, rx) = oneshot::channel();
        tasks.push(tokio::spawn(candidate(
            d.clone(),
            who.to_string(),
            client.clone(),
            path.clone(),
            rx,
        )));
        clients.push(client);
        resigns.push(Some(tx));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    d.say("closing cand-1's session (ZooKeeper deletes its candidate node at once)");
    let closed = Instant::now();
    clients[0].close().await;
    let took_over = wait_for(d, "cand-2", "LEADING").await;
    if took_over {
        d.say(&format!(
            "cand-2 took over {:.1} ms after the close began",
            d.first("cand-2", "LEADING")
                .saturating_duration_since(closed)
                .as_secs_f64()
                * 1e3
        ));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    if let Some(tx) = resigns[1].take() {
        let _ = tx.send(());
    }
    let _ = wait_for(d, "cand-3", "LEADING").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    if let Some(tx) = resigns[2].take() {
        let _ = tx.send(());
    }
    for t in tasks {
        let _ = t.await;
    }
    // The observer has reported everyone it will see once cand-3's change is printed.
    let _ = wait_for(d, "observer", "cand-3").await;
    watching.abort();
    observer.close().await;
    for c in &clients[1..] {
        c.close().await;
    }

    let led = |who: &str| d.find(who, "LEADING").first().copied();
    let ended = |who: &str| {
        d.find(who, "no longer leading")
            .into_iter()
            .chain(d.find(who, "stepping down"))
            .min()
    };
    d.check(
        took_over && names.iter().all(|w| led(w).is_some()),
        "each candidate led in turn",
    );
    d.check(
        led("cand-2").is_some_and(|t| t >= closed)
            && matches!((ended("cand-2"), led("cand-3")), (Some(e), Some(l)) if l >= e),
        "one leader at a time: each new leader began only after the previous one was gone",
    );
    let tokens: Vec<Option<i64>> = names.iter().map(|w| d.token(w)).collect();
    d.check(
        tokens
            .windows(2)
            .all(|p| matches!(p, [Some(a), Some(b)] if b > a)),
        &format!(
            "the fencing tokens grow with each leader ({})",
            tokens
                .iter()
                .map(|t| show(*t))
                .collect::<Vec<_>>()
                .join(" < ")
        ),
    );
    let seen: Vec<String> = d
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.who == "observer")
        .map(|e| e.text.clone())
        .collect();
    let expected: Vec<String> = names
        .iter()
        .zip(&tokens)
        .map(|(w, t)| format!("leader is now {w} (fencing token {})", show(*t)))
        .collect();
    d.check(
        seen == expected,
        "the observer saw each leader once, in order, with its token",
    );
}

/// Scene 7: a semaphore of 2: four workers, at most two inside at once.
async fn semaphore(d: &Demo) {
    let path = d.path("permits");
    d.scene(
        "7. A semaphore of 2: four workers, at most two at work at any moment",
        &[
            "Four workers (one ZooKeeper session each, in this process) arrive 0.15 s apart",
            "and each works for 0.8 s under a permit:",
            &format!("  Semaphore::new(client, \"{path}\", 2).acquire().await"),
            "Expect: worker-1 and worker-2 at once; worker-3 and worker-4 wait for a free permit.",
        ],
    );
    let names = ["worker-1", "worker-2", "worker-3", "worker-4"];
    let mut workers = Vec::new();
    for who in names {
        let client = session(d).await;
        let (d2, path) = (d.clone(), path.clone());
        workers.push(tokio::spawn(async move {
            let sem = Semaphore::new(client.clone(), &path, 2);
            d2.record(who, "waiting for a permit");
            let ok = match sem.acquire().await {
                Ok(permit) => {
                    d2.record(
                        who,
                        &format!(
                            "permit held (fencing token {}), working 0.8s",
                            permit.token()
                        ),
                    );
                    tokio::time::sleep(Duration::from_millis(800)).await;
                    d2.record(who, "done, releasing");
                    permit.release().await.is_ok()
                }
                Err(e) => {
                    d2.record(who, &format!("acquire failed: {e}"));
                    false
                }
            };
            client.close().await;
            ok
        }));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let mut all_ok = true;
    for w in workers {
        all_ok &= w.await.unwrap_or(false);
    }
    d.check(all_ok, "every worker got a permit and released it");
    // Inside = from "permit held" to "done, releasing" (both printed while the permit is held).
    let mut edges: Vec<(Instant, i32)> = Vec::new();
    for who in names {
        if let (Some(a), Some(b)) = (
            d.find(who, "permit held").first(),
            d.find(who, "done, releasing").first(),
        ) {
            edges.push((*a, 1));
            edges.push((*b, -1));
        }
    }
    edges.sort(); // at equal instants a leave (-1) sorts before an entry
    let (mut inside, mut most) = (0, 0);
    for (_, step) in edges {
        inside += step;
        most = most.max(inside);
    }
    d.check(
        most <= 2,
        &format!("never more than two inside at once (at most {most})"),
    );
    d.check(most == 2, "two worked side by side");
    let first_out = ["worker-1", "worker-2"]
        .iter()
        .filter_map(|w| d.find(w, "done, releasing").first().copied())
        .min();
    d.check(
        ["worker-3", "worker-4"].iter().all(|w| {
            matches!((first_out, d.find(w, "permit held").first()), (Some(o), Some(h)) if *h >= o)
        }),
        "worker-3 and worker-4 got in only after a permit was released",
    );
}

fn zksync_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("ZKSYNC_BIN") {
        return PathBuf::from(p);
    }
    // target/<profile>/examples/demo -> target/<profile>/zksync
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().and_then(|p| p.parent()).map(PathBuf::from);
    dir.map(|d| d.join("zksync"))
        .unwrap_or_else(|| "zksync".into())
}

#[tokio::main]
async fn main() {
    let peers = std::env::var("ZOOKEEPER_PEERS").unwrap_or_else(|_| "127.0.0.1:2181".into());
    let bin = zksync_binary();
    if !bin.exists() {
        eprintln!(
            "demo: {} not found: build it with `cargo build --release --features cli` \
             (or set ZKSYNC_BIN)",
            bin.display()
        );
        std::process::exit(2);
    }
    let admin = match Client::connect(&peers).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("demo: cannot reach ZooKeeper at {peers}: {e} (scripts/demo starts one)");
            std::process::exit(2);
        }
    };
    let d = Demo {
        bin,
        peers: peers.clone(),
        root: format!("/zksync-demo/{}", std::process::id()),
        scene_start: Arc::new(Mutex::new(Instant::now())),
        events: Arc::default(),
        pids: Arc::default(),
        failed: Arc::default(),
    };
    println!("zksync demo: coordination recipes across real processes, from the shell");
    println!("ZooKeeper: {peers}");
    println!("In scenes 1-5 every process below is a separate `zksync` command; in 6 and 7 each");
    println!("participant is a ZooKeeper session of its own in this process. Lines show [time in");
    println!(
        "scene] who | what it printed. Everything lives under {} (removed at the end).",
        d.root
    );
    let started = Instant::now();
    let scenes = async {
        locks(&d).await;
        timeout(&d).await;
        barrier(&d).await;
        double_barrier(&d).await;
        lost_lock(&d).await;
        election(&d).await;
        semaphore(&d).await;
    };
    let interrupted = tokio::select! {
        _ = scenes => false,
        _ = tokio::signal::ctrl_c() => true,
    };
    if interrupted {
        println!(
            "\ninterrupted: stopping the demo's processes (SIGTERM: they release what they hold)"
        );
        for pid in d.pids.lock().unwrap().iter() {
            // SAFETY: kill(2) on a pid we started; a finished one just fails.
            unsafe {
                libc::kill(*pid as libc::pid_t, libc::SIGTERM);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = delete_tree(&admin, &d.root).await; // best effort: what remains is only litter
    let _ = admin.delete("/zksync-demo", None).await; // only if no other run uses it
    admin.close().await;
    if interrupted {
        std::process::exit(130);
    }
    println!(
        "\nDone in {:.1} s; removed {}.",
        started.elapsed().as_secs_f64(),
        d.root
    );
    if d.failed.load(Ordering::SeqCst) {
        println!("Some checks FAILED (see above).");
        std::process::exit(1);
    }
    println!("All checks passed.");
}
