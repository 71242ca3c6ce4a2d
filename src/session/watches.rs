//! The watch registry: who waits for which event, dispatch of notifications, and the
//! SetWatches batches that re-arm everything after a reconnect.

use super::chroot::Chroot;
use super::event::{EventType, WatchedEvent};
use crate::error::Error;
use crate::proto::{SetWatches, SetWatches2, WatcherEvent};
use std::collections::HashMap;

/// Where a watch event goes. The client implements it with channels; tests with recorders.
pub trait WatchSink {
    /// Delivers one event (or the error that ends the watch). Returns false when nobody
    /// listens any more, so a persistent registration can be dropped.
    fn deliver(&mut self, event: Result<WatchedEvent, Error>) -> bool;
    /// True when the receiver is gone: such watches are not re-registered after a reconnect.
    fn is_closed(&self) -> bool;
}

/// The kind of a watch registration, as the server knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchKind {
    /// One-shot watch on a node's data (set by `getData`, or `exists` on an existing node).
    Data,
    /// One-shot watch on a node's creation (set by `exists` on a missing node).
    Exist,
    /// One-shot watch on a node's children (set by `getChildren`).
    Child,
    /// Persistent watch on one node (`addWatch` mode 0).
    Persistent,
    /// Persistent watch on a node and its whole subtree (`addWatch` mode 1).
    PersistentRecursive,
}

/// Path bytes per SetWatches packet: well below the server's 1 MiB jute.maxbuffer.
pub const SET_WATCHES_BATCH_BYTES: usize = 128 * 1024;

/// All watch registrations of a session, keyed by server path (chroot included).
#[derive(Debug)]
pub struct WatchRegistry<W> {
    maps: [HashMap<String, Vec<W>>; 5],
}

impl<W> Default for WatchRegistry<W> {
    fn default() -> Self {
        WatchRegistry {
            maps: Default::default(),
        }
    }
}

fn slot(kind: WatchKind) -> usize {
    match kind {
        WatchKind::Data => 0,
        WatchKind::Exist => 1,
        WatchKind::Child => 2,
        WatchKind::Persistent => 3,
        WatchKind::PersistentRecursive => 4,
    }
}

const KINDS: [WatchKind; 5] = [
    WatchKind::Data,
    WatchKind::Exist,
    WatchKind::Child,
    WatchKind::Persistent,
    WatchKind::PersistentRecursive,
];

impl<W: WatchSink> WatchRegistry<W> {
    /// Registers `sink` for `kind` events on the server path `path`.
    pub fn add(&mut self, kind: WatchKind, path: String, sink: W) {
        crate::trace::debug!("watch set: {kind:?} on {path}");
        self.maps[slot(kind)].entry(path).or_default().push(sink);
    }

    /// Number of registrations of `kind` on `path` (for tests and diagnostics).
    pub fn count(&self, kind: WatchKind, path: &str) -> usize {
        self.maps[slot(kind)].get(path).map_or(0, Vec::len)
    }

    /// True when a registration that `checkWatches(path, watcher_type)` asks about exists:
    /// type 1 (children) means child or persistent watches, 2 (data) data, exist or persistent
    /// watches, 3 (any) every kind. Persistent watches count for both, as on the server.
    pub fn contains(&self, path: &str, watcher_type: i32) -> bool {
        let kinds: &[WatchKind] = match watcher_type {
            1 => &[
                WatchKind::Child,
                WatchKind::Persistent,
                WatchKind::PersistentRecursive,
            ],
            2 => &[
                WatchKind::Data,
                WatchKind::Exist,
                WatchKind::Persistent,
                WatchKind::PersistentRecursive,
            ],
            _ => &KINDS,
        };
        kinds.iter().any(|&k| self.count(k, path) > 0)
    }

    /// Number of registrations of every kind, including ones whose receiver is gone but which
    /// have not fired or been pruned yet (for diagnostics and tests).
    pub fn len(&self) -> usize {
        self.maps
            .iter()
            .flat_map(HashMap::values)
            .map(Vec::len)
            .sum()
    }

    /// True when nothing is registered.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.maps.iter().all(HashMap::is_empty)
    }

    /// Delivers a server notification to every registration it triggers, following the
    /// reference client: created/data-changed fire data and exist watches, deleted fires data,
    /// exist and child watches, children-changed fires child watches; persistent watches on the
    /// path and recursive watches on the path or an ancestor fire too (recursive ones never for
    /// children-changed). One-shot registrations are removed as they fire.
    pub fn dispatch(&mut self, ev: &WatcherEvent, chroot: &Chroot) {
        let event_type = EventType::from_i32(ev.type_);
        let event = WatchedEvent {
            event_type,
            path: chroot.strip(&ev.path).to_string(),
        };
        crate::trace::debug!("watch event: {event_type:?} on {}", event.path);
        let one_shot: &[WatchKind] = match event_type {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                &[WatchKind::Data, WatchKind::Exist]
            }
            EventType::NodeDeleted => &[WatchKind::Data, WatchKind::Exist, WatchKind::Child],
            EventType::NodeChildrenChanged => &[WatchKind::Child],
            _ => &[],
        };
        for &kind in one_shot {
            if let Some(sinks) = self.maps[slot(kind)].remove(&ev.path) {
                for mut s in sinks {
                    s.deliver(Ok(event.clone()));
                }
            }
        }
        if !matches!(event_type, EventType::Unknown(_)) {
            Self::deliver_persistent(
                &mut self.maps[slot(WatchKind::Persistent)],
                &ev.path,
                &event,
            );
            if event_type != EventType::NodeChildrenChanged {
                let mut p = ev.path.as_str();
                loop {
                    Self::deliver_persistent(
                        &mut self.maps[slot(WatchKind::PersistentRecursive)],
                        p,
                        &event,
                    );
                    match crate::path::parent(p) {
                        Some(parent) => p = parent,
                        None => break,
                    }
                }
            }
        }
    }

    fn deliver_persistent(map: &mut HashMap<String, Vec<W>>, path: &str, event: &WatchedEvent) {
        if let Some(sinks) = map.get_mut(path) {
            sinks.retain_mut(|s| s.deliver(Ok(event.clone())));
            if sinks.is_empty() {
                map.remove(path);
            }
        }
    }

    /// Removes the registrations that `removeWatches(path, type)` removed on the server and
    /// tells each of them with a `*WatchRemoved` event. `watcher_type` is 1 (children), 2 (data)
    /// or 3 (any).
    pub fn remove(&mut self, path: &str, watcher_type: i32, chroot: &Chroot) {
        let client_path = chroot.strip(path).to_string();
        let mut fire = |kinds: &[WatchKind], event_type| {
            for &kind in kinds {
                if let Some(sinks) = self.maps[slot(kind)].remove(path) {
                    for mut s in sinks {
                        s.deliver(Ok(WatchedEvent {
                            event_type,
                            path: client_path.clone(),
                        }));
                    }
                }
            }
        };
        if watcher_type & 1 != 0 {
            fire(&[WatchKind::Child], EventType::ChildWatchRemoved);
        }
        if watcher_type & 2 != 0 {
            fire(
                &[WatchKind::Data, WatchKind::Exist],
                EventType::DataWatchRemoved,
            );
        }
        if watcher_type == 3 {
            fire(
                &[WatchKind::Persistent, WatchKind::PersistentRecursive],
                EventType::PersistentWatchRemoved,
            );
        }
    }

    /// Ends every registration with `err` (session expired, auth failed, closed).
    pub fn fail_all(&mut self, err: &Error) {
        for map in &mut self.maps {
            for (_, sinks) in map.drain() {
                for mut s in sinks {
                    s.deliver(Err(err.clone()));
                }
            }
        }
    }

    /// Drops registrations nobody listens to any more.
    pub fn prune_closed(&mut self) {
        for map in &mut self.maps {
            map.retain(|_, sinks| {
                sinks.retain(|s| !s.is_closed());
                !sinks.is_empty()
            });
        }
    }

    /// The packets that re-register every live watch after a reconnect, each holding at most
    /// about [`SET_WATCHES_BATCH_BYTES`] of paths. Plain SetWatches when there are no
    /// persistent watches (older servers know only that), SetWatches2 otherwise.
    pub fn set_watches_batches(&mut self, relative_zxid: i64) -> Vec<SetWatchesBatch> {
        self.prune_closed();
        let needs_v2 = !self.maps[slot(WatchKind::Persistent)].is_empty()
            || !self.maps[slot(WatchKind::PersistentRecursive)].is_empty();
        let mut batches = Vec::new();
        let mut current = SetWatches2 {
            relative_zxid,
            ..Default::default()
        };
        let mut bytes = 0usize;
        for kind in KINDS {
            let mut paths: Vec<&String> = self.maps[slot(kind)].keys().collect();
            paths.sort();
            for path in paths {
                if bytes > 0 && bytes + path.len() + 4 > SET_WATCHES_BATCH_BYTES {
                    batches.push(std::mem::replace(
                        &mut current,
                        SetWatches2 {
                            relative_zxid,
                            ..Default::default()
                        },
                    ));
                    bytes = 0;
                }
                bytes += path.len() + 4;
                let list = match kind {
                    WatchKind::Data => &mut current.data_watches,
                    WatchKind::Exist => &mut current.exist_watches,
                    WatchKind::Child => &mut current.child_watches,
                    WatchKind::Persistent => &mut current.persistent_watches,
                    WatchKind::PersistentRecursive => &mut current.persistent_recursive_watches,
                };
                list.push(path.clone());
            }
        }
        if bytes > 0 {
            batches.push(current);
        }
        batches
            .into_iter()
            .map(|b| {
                if needs_v2 {
                    SetWatchesBatch::V2(b)
                } else {
                    SetWatchesBatch::V1(SetWatches {
                        relative_zxid: b.relative_zxid,
                        data_watches: b.data_watches,
                        exist_watches: b.exist_watches,
                        child_watches: b.child_watches,
                    })
                }
            })
            .collect()
    }
}

/// One re-registration packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetWatchesBatch {
    /// `setWatches` (op 101): data, exist and child watches only.
    V1(SetWatches),
    /// `setWatches2` (op 105): also persistent and persistent-recursive watches.
    V2(SetWatches2),
}
