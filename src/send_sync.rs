//! Compile-time proof that the public handles, guards and errors are `Send + Sync`, and that the
//! futures of the client's calls and of the recipes are `Send` (so they can be spawned and held
//! across `.await` in a spawned task). A change that breaks one of these fails the build here,
//! not in a user's code.
//!
//! Nothing in this file runs: the closures are type-checked, never called.

use crate::recipes::{
    Barrier, DoubleBarrier, Election, LeaderChanges, LeaderInfo, Leadership, LockGuard, LockKind,
    LockLost, Mutex, Permit, RwLock, Semaphore,
};
use crate::{
    AddWatchMode, ChildNames, Client, ConnectOptions, ConnectionError, CreateMode, Error,
    HostAttempt, OneshotWatch, Op, PersistentWatch, ReadOp, StateChanges, Unreachable, WatcherType,
};

fn send_sync<T: Send + Sync>() {}

fn send<F: Send>(_: &F) {}

const _: fn() = || {
    send_sync::<Client>();
    send_sync::<ConnectOptions>();
    send_sync::<OneshotWatch>();
    send_sync::<PersistentWatch>();
    send_sync::<StateChanges>();
    send_sync::<LockGuard>();
    send_sync::<RwLock>();
    send_sync::<Mutex>();
    send_sync::<Barrier>();
    send_sync::<DoubleBarrier>();
    send_sync::<Semaphore>();
    send_sync::<Permit>();
    send_sync::<Election>();
    send_sync::<Leadership>();
    send_sync::<LeaderInfo>();
    send_sync::<LeaderChanges>();
    send_sync::<LockKind>();
    send_sync::<LockLost>();
    send_sync::<ChildNames>();
    send_sync::<Error>();
    send_sync::<ConnectionError>();
    send_sync::<Unreachable>();
    send_sync::<HostAttempt>();
};

/// Every `async` call of [`Client`] and [`ConnectOptions`], and the watches' `next`.
const _: fn() = || {
    let _ = |c: &Client, w: &mut PersistentWatch, s: &mut StateChanges| {
        let mode = CreateMode::Persistent;
        send(&Client::connect(""));
        send(&Client::connect_with("", ConnectOptions::default()));
        send(&ConnectOptions::default().connect(""));
        send(&c.watch_count());
        send(&c.session_ended());
        send(&c.close());
        send(&c.create("", b"", mode));
        send(&c.create_with_acl("", b"", mode, Vec::new()));
        send(&c.delete("", None));
        send(&c.exists(""));
        send(&c.exists_w(""));
        send(&c.get_data(""));
        send(&c.get_data_w(""));
        send(&c.set_data("", b"", None));
        send(&c.get_children(""));
        send(&c.get_children_names(""));
        send(&c.get_children_w(""));
        send(&c.get_acl(""));
        send(&c.set_acl("", Vec::new(), None));
        send(&c.sync(""));
        send(&c.multi(vec![Op::check("", None)]));
        send(&c.multi_read(vec![ReadOp::GetData(String::new())]));
        send(&c.add_auth("", b""));
        send(&c.get_ephemerals(""));
        send(&c.get_all_children_number(""));
        send(&c.who_am_i());
        send(&c.add_watch("", AddWatchMode::Persistent));
        send(&c.remove_watches("", WatcherType::Any));
        send(&c.check_watches("", WatcherType::Any));
        send(&w.next());
        send(&s.next());
    };
};

/// Every `async` call of the recipes and of a held lock.
const _: fn() = || {
    let _ = |l: &RwLock, m: &Mutex, b: &Barrier, d: &DoubleBarrier, g: &LockGuard| {
        send(&l.read());
        send(&l.write());
        send(&l.try_read());
        send(&l.try_write());
        send(&m.lock());
        send(&m.try_lock());
        send(&b.set());
        send(&b.unset());
        send(&b.is_set());
        send(&b.wait());
        send(&d.enter());
        send(&d.leave());
        send(&g.lost());
        send(&g.at_risk());
    };
    let _ = |g: LockGuard| send(&g.unlock());
    let _ = |s: &Semaphore, p: &Permit, e: &Election, l: &Leadership, c: &mut LeaderChanges| {
        send(&s.acquire());
        send(&s.try_acquire());
        send(&p.lost());
        send(&p.at_risk());
        send(&e.campaign());
        send(&e.leader());
        send(&c.next());
        send(&l.lost());
        send(&l.at_risk());
    };
    let _ = |p: Permit| send(&p.release());
    let _ = |l: Leadership| send(&l.resign());
};
