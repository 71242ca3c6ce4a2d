//! Node layouts: whose names (and waiting rules) a recipe's nodes follow, so that zksync
//! processes share a lock, a semaphore or an election with processes using the Go library,
//! Apache Curator or kazoo. The rules each layout takes from its library are in the README
//! ("Sharing locks with Curator and kazoo"), with the files and versions they were read from.

use super::lock_node::{NodeRef, QueueKind, QueueNode};
use std::fmt;
use std::str::FromStr;

/// Which library's node layout a recipe instance follows. All processes that share a path must
/// use the same layout: a node of another layout is not seen as a contender.
///
/// | recipe | `Go` (default) | `Curator` (5.4) | `Kazoo` (2.x) |
/// |---|---|---|---|
/// | [`Mutex`](crate::recipes::Mutex) | `_c_<32 hex>-write-<seq>` | `_c_<uuid>-lock-<seq>` (InterProcessMutex) | `<32 hex>__lock__<seq>` (Lock) |
/// | [`RwLock`](crate::recipes::RwLock) write | `_c_<32 hex>-write-<seq>` | `_c_<uuid>-__WRIT__<seq>` | `<32 hex>__lock__<seq>` (WriteLock) |
/// | [`RwLock`](crate::recipes::RwLock) read | `_c_<32 hex>-read-<seq>` | `_c_<uuid>-__READ__<seq>` | `<32 hex>__rlock__<seq>` (ReadLock) |
/// | [`Election`](crate::recipes::Election) | `_c_<32 hex>-elect-<seq>` | `_c_<uuid>-latch-<seq>` (LeaderLatch) | `<32 hex>__lock__<seq>` (Election) |
/// | [`Semaphore`](crate::recipes::Semaphore) | `_c_<32 hex>-permit-<seq>`, `max` in the node | `locks/` mutex + `leases/_c_<uuid>-lease-<seq>` (InterProcessSemaphoreV2) | `PATH-__lock__` lock + `PATH/<32 hex>` leases, `max` in the node (Semaphore) |
///
/// The fencing token (the node's czxid) and the lease bound work the same in every layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Layout {
    /// The layout of the Go library this project started from (and of zksync's own semaphore
    /// and election).
    #[default]
    Go,
    /// Apache Curator's recipes (checked against 5.4.0).
    Curator,
    /// kazoo's recipes (checked against 2.8.0 and 2.11.0; see the README for the read-write
    /// lock, which mixes safely only with kazoo 2.9.0 or later).
    Kazoo,
}

/// What a node stands for in its recipe: the layout turns it into a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Read,
    Write,
    /// A mutex's node: the write lock's in Go and kazoo, InterProcessMutex's `lock-` in Curator.
    Mutex,
    Candidate,
    Permit,
}

impl Layout {
    /// Every layout, for parsing a queue of unknown layout.
    pub(crate) const ALL: [Layout; 3] = [Layout::Go, Layout::Curator, Layout::Kazoo];

    /// The name used on the command line and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Go => "go",
            Layout::Curator => "curator",
            Layout::Kazoo => "kazoo",
        }
    }

    /// The marker just before the sequence number, and the kind it parses back to.
    fn marker(self, role: Role) -> &'static str {
        match (self, role) {
            (Layout::Go, Role::Read) => "read-",
            (Layout::Go, Role::Write | Role::Mutex) => "write-",
            (Layout::Go, Role::Candidate) => "elect-",
            (Layout::Go, Role::Permit) => "permit-",
            (Layout::Curator, Role::Read) => "__READ__",
            (Layout::Curator, Role::Write) => "__WRIT__",
            (Layout::Curator, Role::Mutex) => "lock-",
            (Layout::Curator, Role::Candidate) => "latch-",
            (Layout::Curator, Role::Permit) => "lease-",
            (Layout::Kazoo, Role::Read) => "__rlock__",
            // kazoo's Election is a Lock; its semaphore's leases are not sequential nodes.
            (Layout::Kazoo, Role::Write | Role::Mutex | Role::Candidate | Role::Permit) => {
                "__lock__"
            }
        }
    }

    /// The markers this layout's parser knows, with their kinds (longest first where one
    /// ends another).
    fn markers(self) -> &'static [(&'static str, QueueKind)] {
        match self {
            Layout::Go => &[
                ("write-", QueueKind::Write),
                ("read-", QueueKind::Read),
                ("elect-", QueueKind::Candidate),
                ("permit-", QueueKind::Permit),
            ],
            Layout::Curator => &[
                ("__WRIT__", QueueKind::Write),
                ("__READ__", QueueKind::Read),
                ("lock-", QueueKind::Write),
                ("latch-", QueueKind::Candidate),
                ("lease-", QueueKind::Permit),
            ],
            Layout::Kazoo => &[
                ("__rlock__", QueueKind::Read),
                ("__lock__", QueueKind::Write),
            ],
        }
    }

    /// The protected prefix of a create: the attempt's id (32 lowercase hex) in the form the
    /// layout's library uses for its own retries (`_c_<id>-` for Go, `_c_<uuid>-` for Curator,
    /// bare for kazoo), then the marker. A name that starts with it is this attempt's node.
    pub(crate) fn prefix(self, id: &str, role: Role) -> String {
        let marker = self.marker(role);
        match self {
            Layout::Go => format!("_c_{id}-{marker}"),
            Layout::Curator => format!("_c_{}-{marker}", uuid_form(id)),
            Layout::Kazoo => format!("{id}{marker}"),
        }
    }

    /// Parses a child name of this layout's queues; `None` for anything else (ignored, never
    /// fatal). The sequence is the trailing 10 characters (a signed `%010d`), right after a
    /// marker of the layout.
    pub(crate) fn parse(self, name: &str) -> Option<QueueNode> {
        self.parse_ref(name).map(NodeRef::to_owned)
    }

    /// [`Layout::parse`] without copying the name: the node borrows it (from a listing).
    pub(crate) fn parse_ref(self, name: &str) -> Option<NodeRef<'_>> {
        let (kind, seq) = self.classify(name)?;
        Some(NodeRef { name, kind, seq })
    }

    /// The kind and sequence number of a queue node's name in this layout.
    fn classify(self, name: &str) -> Option<(QueueKind, i64)> {
        let (head, seq) = split_sequence(name)?;
        let kind = self
            .markers()
            .iter()
            .find(|(m, _)| head.ends_with(m))
            .map(|&(_, k)| k)?;
        Some((kind, seq))
    }

    /// The node kind an election's candidates have in this layout (kazoo's Election is a plain
    /// Lock, so its candidates are write lock nodes).
    pub(crate) fn candidate_kind(self) -> QueueKind {
        match self {
            Layout::Kazoo => QueueKind::Write,
            Layout::Go | Layout::Curator => QueueKind::Candidate,
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Layout {
    type Err = crate::Error;

    /// `go`, `curator` or `kazoo`.
    fn from_str(s: &str) -> crate::Result<Layout> {
        Layout::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                crate::Error::InvalidArgument(format!(
                    "unknown layout {s:?} (expected go, curator or kazoo)"
                ))
            })
    }
}

/// Length of the server's sequence suffix (`%010d`).
const SEQ_DIGITS: usize = 10;

/// Splits `name` into the part before the sequence suffix and the sequence (a signed
/// `%010d`, so a wrapped counter such as `-000000001` parses too).
pub(crate) fn split_sequence(name: &str) -> Option<(&str, i64)> {
    if name.len() <= SEQ_DIGITS || !name.is_char_boundary(name.len() - SEQ_DIGITS) {
        return None;
    }
    let (head, digits) = name.split_at(name.len() - SEQ_DIGITS);
    let well_formed = digits
        .bytes()
        .enumerate()
        .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'));
    if !well_formed {
        return None;
    }
    Some((head, digits.parse().ok()?))
}

/// A 32-hex id in the canonical UUID form `8-4-4-4-12` (what Curator's protected names carry).
fn uuid_form(id: &str) -> String {
    if id.len() != 32 {
        return id.to_string();
    }
    format!(
        "{}-{}-{}-{}-{}",
        &id[..8],
        &id[8..12],
        &id[12..16],
        &id[16..20],
        &id[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn names_follow_each_library() {
        let table = [
            (Layout::Go, Role::Mutex, format!("_c_{ID}-write-")),
            (Layout::Go, Role::Read, format!("_c_{ID}-read-")),
            (
                Layout::Curator,
                Role::Mutex,
                "_c_01234567-89ab-cdef-0123-456789abcdef-lock-".to_string(),
            ),
            (
                Layout::Curator,
                Role::Write,
                "_c_01234567-89ab-cdef-0123-456789abcdef-__WRIT__".to_string(),
            ),
            (
                Layout::Curator,
                Role::Candidate,
                "_c_01234567-89ab-cdef-0123-456789abcdef-latch-".to_string(),
            ),
            (Layout::Kazoo, Role::Mutex, format!("{ID}__lock__")),
            (Layout::Kazoo, Role::Read, format!("{ID}__rlock__")),
            (Layout::Kazoo, Role::Candidate, format!("{ID}__lock__")),
        ];
        for (layout, role, want) in table {
            assert_eq!(layout.prefix(ID, role), want, "{layout} {role:?}");
        }
    }

    #[test]
    fn each_layout_parses_its_own_names_and_only_those() {
        let table: &[(Layout, &str, Option<QueueKind>)] = &[
            (
                Layout::Curator,
                "_c_01234567-89ab-cdef-0123-456789abcdef-lock-0000000003",
                Some(QueueKind::Write),
            ),
            (
                Layout::Curator,
                "_c_01234567-89ab-cdef-0123-456789abcdef-__READ__0000000004",
                Some(QueueKind::Read),
            ),
            (
                Layout::Curator,
                "_c_01234567-89ab-cdef-0123-456789abcdef-__WRIT__0000000005",
                Some(QueueKind::Write),
            ),
            (
                Layout::Curator,
                "_c_01234567-89ab-cdef-0123-456789abcdef-latch-0000000006",
                Some(QueueKind::Candidate),
            ),
            (Layout::Curator, "_c_0123-write-0000000006", None),
            (
                Layout::Kazoo,
                "0123456789abcdef0123456789abcdef__lock__0000000007",
                Some(QueueKind::Write),
            ),
            (
                Layout::Kazoo,
                "0123456789abcdef0123456789abcdef__rlock__0000000008",
                Some(QueueKind::Read),
            ),
            (Layout::Kazoo, "0123456789abcdef0123456789abcdef", None),
            (Layout::Kazoo, "_c_0123-write-0000000006", None),
            (Layout::Go, "abc__lock__0000000007", None),
        ];
        for &(layout, name, want) in table {
            assert_eq!(layout.parse(name).map(|n| n.kind), want, "{layout} {name}");
            let borrowed = layout.parse_ref(name);
            assert_eq!(borrowed.map(|n| (n.name, n.kind)), want.map(|k| (name, k)));
        }
        let n = Layout::Kazoo.parse("x__rlock__-000000002").unwrap();
        assert_eq!(n.seq, -2);
    }

    #[test]
    fn layouts_round_trip_through_their_names() {
        for l in Layout::ALL {
            assert_eq!(l.as_str().parse::<Layout>().unwrap(), l);
        }
        assert!("zk".parse::<Layout>().is_err());
    }
}
