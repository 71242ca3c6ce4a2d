//! Deterministic tests of the session state machine: scripted server frames, a virtual clock
//! (a base `Instant` plus offsets; nothing sleeps) and recorders for results and watch events.
//! Every request the machine writes is decoded back (header + body) so the tests assert exact
//! wire contents.

use super::*;
use crate::proto::{
    add_watch_mode, take_frame, watcher_event_type as ev, watcher_type, AddWatchRequest,
    ConnectResponse, CreateRequest, DeleteRequest, Encode, PathWatchRequest, RequestHeader,
    SetWatches, SetWatches2, Stat, WatchesRequest, DEFAULT_MAX_BUFFER,
};
use bytes::BufMut;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

mod harness;
use harness::*;

mod auth;
mod causes;
mod chroot;
mod close;
mod disconnects;
mod expiry;
mod handshake;
mod hosts;
mod last_zxid;
mod lease;
mod pings;
mod read_only;
mod requests;
mod sasl;
mod watches;
mod xids;
