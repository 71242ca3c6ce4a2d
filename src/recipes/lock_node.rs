//! Names of queue nodes: `_c_<32 lowercase hex>-read-<seq>` and `_c_<32 lowercase hex>-write-<seq>`
//! for locks (the layout of the Go library this project follows, so Go and Rust processes share
//! locks), `_c_<hex>-elect-<seq>` for election candidates and `_c_<hex>-permit-<seq>` for
//! semaphore permits (the same shape, so one parser and one protected-create path serve all).

/// The kind of a lock node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockKind {
    /// A shared (read) lock node.
    Read,
    /// An exclusive (write) lock node.
    Write,
}

/// The kind of a node in one of the recipes' queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QueueKind {
    /// A read lock node ([`crate::recipes::RwLock::read`]).
    Read,
    /// A write lock node ([`crate::recipes::RwLock::write`], [`crate::recipes::Mutex`]).
    Write,
    /// A leader-election candidate ([`crate::recipes::Election`]).
    Candidate,
    /// A semaphore permit ([`crate::recipes::Semaphore`]).
    Permit,
}

impl QueueKind {
    /// What a node of this kind stands for, for [`super::Layout::prefix`].
    pub(crate) fn role(self) -> super::layout::Role {
        use super::layout::Role;
        match self {
            QueueKind::Read => Role::Read,
            QueueKind::Write => Role::Write,
            QueueKind::Candidate => Role::Candidate,
            QueueKind::Permit => Role::Permit,
        }
    }

    /// The name the CLI and docs use for the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueKind::Read => "read",
            QueueKind::Write => "write",
            QueueKind::Candidate => "candidate",
            QueueKind::Permit => "permit",
        }
    }
}

impl From<LockKind> for QueueKind {
    fn from(kind: LockKind) -> QueueKind {
        match kind {
            LockKind::Read => QueueKind::Read,
            LockKind::Write => QueueKind::Write,
        }
    }
}

/// A parsed queue node name of any recipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueNode {
    /// The full child name.
    pub name: String,
    /// What the node stands for.
    pub kind: QueueKind,
    /// The server's sequence number (the order of the queue).
    pub seq: i64,
}

impl QueueNode {
    /// The node as a borrowed view (what the recipes' waiting rules take).
    pub(crate) fn borrowed(&self) -> NodeRef<'_> {
        NodeRef {
            name: &self.name,
            kind: self.kind,
            seq: self.seq,
        }
    }
}

/// A parsed queue node name borrowed from a listing: the recipes decide whom to wait for on
/// these, so parsing a listing of 1,000 names allocates nothing per name (only the few names
/// waited for are copied out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeRef<'a> {
    /// The full child name.
    pub name: &'a str,
    /// What the node stands for.
    pub kind: QueueKind,
    /// The server's sequence number (the order of the queue).
    pub seq: i64,
}

impl NodeRef<'_> {
    /// The node with its name copied out.
    pub(crate) fn to_owned(self) -> QueueNode {
        QueueNode {
            name: self.name.to_string(),
            kind: self.kind,
            seq: self.seq,
        }
    }
}

/// A parsed lock node name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockNode {
    /// The full child name.
    pub name: String,
    /// Read or write.
    pub kind: LockKind,
    /// The server's sequence number (the order of the queue).
    pub seq: i64,
}

/// The protected prefix for a create: `_c_<id>-read-` or `_c_<id>-write-`.
pub fn node_prefix(id: &str, kind: LockKind) -> String {
    queue_prefix(id, kind.into())
}

/// The protected prefix for a create of any queue node in the default layout:
/// `_c_<id>-<marker>`.
pub fn queue_prefix(id: &str, kind: QueueKind) -> String {
    super::Layout::Go.prefix(id, kind.role())
}

/// Parses a lock node name; `None` for anything that is not a read or write lock node (such
/// children are ignored, never fatal). See [`parse_queue_node`] for the rules.
pub fn parse(name: &str) -> Option<LockNode> {
    let node = parse_queue_node(name)?;
    let kind = match node.kind {
        QueueKind::Read => LockKind::Read,
        QueueKind::Write => LockKind::Write,
        _ => return None,
    };
    Some(LockNode {
        name: node.name,
        kind,
        seq: node.seq,
    })
}

/// Parses a child name of any recipe's queue in the default ([`Go`](super::Layout::Go))
/// layout; `None` for anything else. The kind is found by the marker (`read-`, `write-`,
/// `elect-`, `permit-`) just before the sequence number; the sequence is the trailing 10
/// characters (a signed `%010d`, so a wrapped counter such as `-000000001` parses too).
pub fn parse_queue_node(name: &str) -> Option<QueueNode> {
    super::Layout::Go.parse(name)
}

/// True if `name` was created by the attempt with protected id `id`.
pub fn has_id(name: &str, id: &str) -> bool {
    name.strip_prefix("_c_")
        .is_some_and(|rest| rest.starts_with(id) && rest[id.len()..].starts_with('-'))
}

/// A fresh protected id: 32 lowercase hex digits, unique per attempt (process id, time,
/// a counter and the OS-seeded hasher mixed together).
pub fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let word = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(n);
        h.write_u128(t);
        h.write_u32(std::process::id());
        h.finish()
    };
    format!("{:016x}{:016x}", word(1), word(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lock_node_names() {
        let table: &[(&str, Option<(LockKind, i64)>)] = &[
            (
                "_c_0123456789abcdef0123456789abcdef-write-0000000007",
                Some((LockKind::Write, 7)),
            ),
            (
                "_c_0123456789abcdef0123456789abcdef-read-0000000012",
                Some((LockKind::Read, 12)),
            ),
            ("_c_ab-read--000000001", Some((LockKind::Read, -1))),
            ("read-0000000003", Some((LockKind::Read, 3))),
            (
                "_c_ab-write-2147483647",
                Some((LockKind::Write, 2147483647)),
            ),
            ("_c_ab-lock-0000000001", None),
            ("_c_ab-write-000000001x", None),
            ("_c_ab-write-", None),
            ("0000000001", None),
            ("ready", None),
            ("", None),
            ("_c_ab-write-00000000é1", None),
            ("_c_ab-elect-0000000001", None),
            ("_c_ab-permit-0000000001", None),
        ];
        for (name, want) in table {
            let got = parse(name).map(|n| (n.kind, n.seq));
            assert_eq!(&got, want, "{name}");
        }
    }

    #[test]
    fn parses_every_queue_kind() {
        for kind in [
            QueueKind::Read,
            QueueKind::Write,
            QueueKind::Candidate,
            QueueKind::Permit,
        ] {
            let name = format!("{}0000000042", queue_prefix(&new_id(), kind));
            let node = parse_queue_node(&name).unwrap();
            assert_eq!((node.kind, node.seq), (kind, 42), "{name}");
        }
        assert_eq!(parse_queue_node("_c_ab-lock-0000000001"), None);
        assert_eq!(parse_queue_node("elect0000000001"), None);
    }

    #[test]
    fn ids_are_32_hex_and_unique() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
        let name = format!("{}0000000001", node_prefix(&a, LockKind::Write));
        assert!(has_id(&name, &a));
        assert!(!has_id(&name, &b));
        assert_eq!(parse(&name).unwrap().kind, LockKind::Write);
    }
}
