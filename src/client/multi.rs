//! Transactions: `multi` (all-or-nothing writes, with `check`) and `multi_read`.

use crate::client::CreateMode;
use crate::proto::{Acl, Stat};
use bytes::Bytes;

/// One operation of a [`Client::multi`](crate::Client::multi) transaction.
///
/// `Check` exists only here on purpose: a standalone `check` request crashes ZooKeeper 3.8.0
/// servers, so the API cannot express one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// Create a node (with the client's default ACL unless `acl` is given).
    Create {
        /// Path of the node (a prefix for sequential modes).
        path: String,
        /// Initial data.
        data: Bytes,
        /// Node mode.
        mode: CreateMode,
        /// ACL; `None` = the client's default ACL.
        acl: Option<Vec<Acl>>,
    },
    /// Delete a node, if its version matches (`None` = any version).
    Delete {
        /// Path of the node.
        path: String,
        /// Expected version.
        version: Option<i32>,
    },
    /// Set a node's data, if its version matches (`None` = any version).
    SetData {
        /// Path of the node.
        path: String,
        /// New data.
        data: Bytes,
        /// Expected version.
        version: Option<i32>,
    },
    /// Fail the transaction unless the node exists with this version (`None` = any version).
    Check {
        /// Path of the node.
        path: String,
        /// Expected version.
        version: Option<i32>,
    },
}

impl Op {
    /// A create with the default ACL.
    pub fn create(path: &str, data: &[u8], mode: CreateMode) -> Op {
        Op::Create {
            path: path.into(),
            data: Bytes::copy_from_slice(data),
            mode,
            acl: None,
        }
    }

    /// A delete.
    pub fn delete(path: &str, version: Option<i32>) -> Op {
        Op::Delete {
            path: path.into(),
            version,
        }
    }

    /// A set-data.
    pub fn set_data(path: &str, data: &[u8], version: Option<i32>) -> Op {
        Op::SetData {
            path: path.into(),
            data: Bytes::copy_from_slice(data),
            version,
        }
    }

    /// A version check.
    pub fn check(path: &str, version: Option<i32>) -> Op {
        Op::Check {
            path: path.into(),
            version,
        }
    }
}

/// The result of one operation of a successful transaction, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpResult {
    /// The created node's path (with the sequence suffix) and, where the server gives it, its Stat.
    Create {
        /// Actual path.
        path: String,
        /// Stat, when the server returned one.
        stat: Option<Stat>,
    },
    /// The node was deleted.
    Delete,
    /// The node's new Stat.
    SetData {
        /// New Stat.
        stat: Stat,
    },
    /// The check passed.
    Check,
}

/// One read of a [`Client::multi_read`](crate::Client::multi_read).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadOp {
    /// Read a node's data.
    GetData(String),
    /// List a node's children.
    GetChildren(String),
}

/// The result of one read: reads fail independently of each other.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadResult {
    /// Data and Stat of the node.
    Data(Bytes, Stat),
    /// Children names.
    Children(Vec<String>),
    /// This read failed (e.g. no node).
    Error(crate::Error),
}
