//! Requests: what the client can send, and how it is framed.
//!
//! There is deliberately no way to express a standalone `check` (op 13): sent outside a multi it
//! crashes ZooKeeper 3.8.0 ensembles. `check` exists only as [`MultiOp::Check`].

use bytes::{Bytes, BytesMut};

use super::error::DecodeError;
use super::frame::encode_frame_with;
use super::jute::{Decode, Encode};
use super::op_code::OpCode;
use super::records::*;

/// One write inside a `multi` transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultiOp {
    /// create (1); the result is a plain path.
    Create(CreateRequest),
    /// create2 (15); note a 3.8 server still answers with a plain create result inside multi.
    Create2(CreateRequest),
    /// createContainer (19).
    CreateContainer(CreateRequest),
    /// createTTL (21).
    CreateTtl(CreateTtlRequest),
    /// delete (2).
    Delete(DeleteRequest),
    /// setData (5).
    SetData(SetDataRequest),
    /// check (13): the only way to send a version check.
    Check(CheckVersionRequest),
}

impl MultiOp {
    /// The op's type, as written in its multi header.
    pub fn op_code(&self) -> OpCode {
        match self {
            MultiOp::Create(_) => OpCode::Create,
            MultiOp::Create2(_) => OpCode::Create2,
            MultiOp::CreateContainer(_) => OpCode::CreateContainer,
            MultiOp::CreateTtl(_) => OpCode::CreateTtl,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
        }
    }

    /// The path the op works on (for chroot handling and validation).
    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => &r.path,
            MultiOp::CreateTtl(r) => &r.path,
            MultiOp::Delete(r) => &r.path,
            MultiOp::SetData(r) => &r.path,
            MultiOp::Check(r) => &r.path,
        }
    }

    /// Appends the op's body (without its multi header).
    pub fn encode_body(&self, buf: &mut BytesMut) {
        match self {
            MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => r.encode(buf),
            MultiOp::CreateTtl(r) => r.encode(buf),
            MultiOp::Delete(r) => r.encode(buf),
            MultiOp::SetData(r) => r.encode(buf),
            MultiOp::Check(r) => r.encode(buf),
        }
    }

    /// Decodes the body of an op whose multi header said `type_`.
    pub fn decode(type_: i32, buf: &mut Bytes) -> Result<MultiOp, DecodeError> {
        Ok(match OpCode::from_i32(type_) {
            OpCode::Create => MultiOp::Create(Decode::decode(buf)?),
            OpCode::Create2 => MultiOp::Create2(Decode::decode(buf)?),
            OpCode::CreateContainer => MultiOp::CreateContainer(Decode::decode(buf)?),
            OpCode::CreateTtl => MultiOp::CreateTtl(Decode::decode(buf)?),
            OpCode::Delete => MultiOp::Delete(Decode::decode(buf)?),
            OpCode::SetData => MultiOp::SetData(Decode::decode(buf)?),
            OpCode::Check => MultiOp::Check(Decode::decode(buf)?),
            _ => return Err(DecodeError::UnknownOpCode(type_)),
        })
    }
}

/// One read inside a `multiRead` batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultiReadOp {
    /// getChildren (8), encoded as `{path, watch}`.
    GetChildren(PathWatchRequest),
    /// getData (4), encoded as `{path, watch}`.
    GetData(PathWatchRequest),
}

impl MultiReadOp {
    /// The op's type, as written in its multi header.
    pub fn op_code(&self) -> OpCode {
        match self {
            MultiReadOp::GetChildren(_) => OpCode::GetChildren,
            MultiReadOp::GetData(_) => OpCode::GetData,
        }
    }

    /// The path the op reads.
    pub fn path(&self) -> &str {
        match self {
            MultiReadOp::GetChildren(r) | MultiReadOp::GetData(r) => &r.path,
        }
    }

    /// Appends the op's body (without its multi header).
    pub fn encode_body(&self, buf: &mut BytesMut) {
        match self {
            MultiReadOp::GetChildren(r) | MultiReadOp::GetData(r) => r.encode(buf),
        }
    }

    /// Decodes the body of an op whose multi header said `type_`.
    pub fn decode(type_: i32, buf: &mut Bytes) -> Result<MultiReadOp, DecodeError> {
        Ok(match OpCode::from_i32(type_) {
            OpCode::GetChildren => MultiReadOp::GetChildren(Decode::decode(buf)?),
            OpCode::GetData => MultiReadOp::GetData(Decode::decode(buf)?),
            _ => return Err(DecodeError::UnknownOpCode(type_)),
        })
    }
}

/// Every request the client can send after the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// create (1).
    Create(CreateRequest),
    /// create2 (15).
    Create2(CreateRequest),
    /// createContainer (19).
    CreateContainer(CreateRequest),
    /// createTTL (21).
    CreateTtl(CreateTtlRequest),
    /// delete (2).
    Delete(DeleteRequest),
    /// exists (3).
    Exists(PathWatchRequest),
    /// getData (4).
    GetData(PathWatchRequest),
    /// setData (5).
    SetData(SetDataRequest),
    /// getACL (6).
    GetAcl(PathRequest),
    /// setACL (7).
    SetAcl(SetAclRequest),
    /// getChildren (8).
    GetChildren(PathWatchRequest),
    /// getChildren2 (12).
    GetChildren2(PathWatchRequest),
    /// sync (9).
    Sync(PathRequest),
    /// multi (14): atomic writes (an empty list is legal).
    Multi(Vec<MultiOp>),
    /// multiRead (22): batched reads, each succeeding or failing on its own.
    MultiRead(Vec<MultiReadOp>),
    /// checkWatches (17).
    CheckWatches(WatchesRequest),
    /// removeWatches (18).
    RemoveWatches(WatchesRequest),
    /// addWatch (106).
    AddWatch(AddWatchRequest),
    /// getEphemerals (103); the path is a prefix.
    GetEphemerals(PathRequest),
    /// getAllChildrenNumber (104).
    GetAllChildrenNumber(PathRequest),
    /// whoAmI (107): no body.
    WhoAmI,
    /// auth (100), sent with xid [`xid::AUTH`].
    Auth(AuthPacket),
    /// setWatches (101), sent with xid [`xid::SET_WATCHES`].
    SetWatches(SetWatches),
    /// sasl (102): one SASL token, sent with an ordinary xid during the SASL handshake.
    Sasl(GetSaslRequest),
    /// setWatches2 (105), sent with xid [`xid::SET_WATCHES`].
    SetWatches2(SetWatches2),
    /// ping (11), sent with xid [`xid::PING`]: no body.
    Ping,
    /// closeSession (-11): no body; the server answers, then closes.
    CloseSession,
}

/// Appends multi headers and bodies plus the terminator; shared by multi and multiRead.
fn encode_multi<T>(
    buf: &mut BytesMut,
    ops: &[T],
    op: impl Fn(&T) -> OpCode,
    body: impl Fn(&T, &mut BytesMut),
) {
    for item in ops {
        MultiHeader::op(op(item).as_i32()).encode(buf);
        body(item, buf);
    }
    MultiHeader::END.encode(buf);
}

/// Reads multi headers and bodies until the terminator. Each header consumes 9 bytes, so the
/// loop ends on a terminator or on end of input.
fn decode_multi<T>(
    buf: &mut Bytes,
    op: impl Fn(i32, &mut Bytes) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let mut ops = Vec::new();
    loop {
        let header = MultiHeader::decode(buf)?;
        if header.done {
            return Ok(ops);
        }
        ops.push(op(header.type_, buf)?);
    }
}

impl Request {
    /// The header type this request is sent with.
    pub fn op_code(&self) -> OpCode {
        use Request::*;
        match self {
            Create(_) => OpCode::Create,
            Create2(_) => OpCode::Create2,
            CreateContainer(_) => OpCode::CreateContainer,
            CreateTtl(_) => OpCode::CreateTtl,
            Delete(_) => OpCode::Delete,
            Exists(_) => OpCode::Exists,
            GetData(_) => OpCode::GetData,
            SetData(_) => OpCode::SetData,
            GetAcl(_) => OpCode::GetAcl,
            SetAcl(_) => OpCode::SetAcl,
            GetChildren(_) => OpCode::GetChildren,
            GetChildren2(_) => OpCode::GetChildren2,
            Sync(_) => OpCode::Sync,
            Multi(_) => OpCode::Multi,
            MultiRead(_) => OpCode::MultiRead,
            CheckWatches(_) => OpCode::CheckWatches,
            RemoveWatches(_) => OpCode::RemoveWatches,
            AddWatch(_) => OpCode::AddWatch,
            GetEphemerals(_) => OpCode::GetEphemerals,
            GetAllChildrenNumber(_) => OpCode::GetAllChildrenNumber,
            WhoAmI => OpCode::WhoAmI,
            Auth(_) => OpCode::Auth,
            SetWatches(_) => OpCode::SetWatches,
            Sasl(_) => OpCode::Sasl,
            SetWatches2(_) => OpCode::SetWatches2,
            Ping => OpCode::Ping,
            CloseSession => OpCode::CloseSession,
        }
    }

    /// Appends the body only (no length, no header).
    pub fn encode_body(&self, buf: &mut BytesMut) {
        use Request::*;
        match self {
            Create(r) | Create2(r) | CreateContainer(r) => r.encode(buf),
            CreateTtl(r) => r.encode(buf),
            Delete(r) => r.encode(buf),
            Exists(r) | GetData(r) | GetChildren(r) | GetChildren2(r) => r.encode(buf),
            SetData(r) => r.encode(buf),
            GetAcl(r) | Sync(r) | GetEphemerals(r) | GetAllChildrenNumber(r) => r.encode(buf),
            SetAcl(r) => r.encode(buf),
            Multi(ops) => encode_multi(buf, ops, MultiOp::op_code, MultiOp::encode_body),
            MultiRead(ops) => {
                encode_multi(buf, ops, MultiReadOp::op_code, MultiReadOp::encode_body)
            }
            CheckWatches(r) | RemoveWatches(r) => r.encode(buf),
            AddWatch(r) => r.encode(buf),
            Auth(r) => r.encode(buf),
            SetWatches(r) => r.encode(buf),
            Sasl(r) => r.encode(buf),
            SetWatches2(r) => r.encode(buf),
            WhoAmI | Ping | CloseSession => {}
        }
    }

    /// The primary path, if the op has one (`None` for multi, session and watch-reset ops).
    pub fn path(&self) -> Option<&str> {
        use Request::*;
        match self {
            Create(r) | Create2(r) | CreateContainer(r) => Some(&r.path),
            CreateTtl(r) => Some(&r.path),
            Delete(r) => Some(&r.path),
            Exists(r) | GetData(r) | GetChildren(r) | GetChildren2(r) => Some(&r.path),
            SetData(r) => Some(&r.path),
            GetAcl(r) | Sync(r) | GetEphemerals(r) | GetAllChildrenNumber(r) => Some(&r.path),
            SetAcl(r) => Some(&r.path),
            CheckWatches(r) | RemoveWatches(r) => Some(&r.path),
            AddWatch(r) => Some(&r.path),
            Multi(_) | MultiRead(_) | WhoAmI | Auth(_) | SetWatches(_) | SetWatches2(_)
            | Sasl(_) | Ping | CloseSession => None,
        }
    }

    /// Decodes a request body sent with header type `op`: the server's side of
    /// [`Request::encode_body`], for fake servers in tests and for tools that inspect traffic.
    ///
    /// A standalone check (13) is refused with `Invalid`, as it cannot be represented.
    pub fn decode(op: OpCode, body: &mut Bytes) -> Result<Request, DecodeError> {
        use Request::*;
        Ok(match op {
            OpCode::Create => Create(Decode::decode(body)?),
            OpCode::Create2 => Create2(Decode::decode(body)?),
            OpCode::CreateContainer => CreateContainer(Decode::decode(body)?),
            OpCode::CreateTtl => CreateTtl(Decode::decode(body)?),
            OpCode::Delete => Delete(Decode::decode(body)?),
            OpCode::Exists => Exists(Decode::decode(body)?),
            OpCode::GetData => GetData(Decode::decode(body)?),
            OpCode::SetData => SetData(Decode::decode(body)?),
            OpCode::GetAcl => GetAcl(Decode::decode(body)?),
            OpCode::SetAcl => SetAcl(Decode::decode(body)?),
            OpCode::GetChildren => GetChildren(Decode::decode(body)?),
            OpCode::GetChildren2 => GetChildren2(Decode::decode(body)?),
            OpCode::Sync => Sync(Decode::decode(body)?),
            OpCode::Multi => Multi(decode_multi(body, MultiOp::decode)?),
            OpCode::MultiRead => MultiRead(decode_multi(body, MultiReadOp::decode)?),
            OpCode::CheckWatches => CheckWatches(Decode::decode(body)?),
            OpCode::RemoveWatches => RemoveWatches(Decode::decode(body)?),
            OpCode::AddWatch => AddWatch(Decode::decode(body)?),
            OpCode::GetEphemerals => GetEphemerals(Decode::decode(body)?),
            OpCode::GetAllChildrenNumber => GetAllChildrenNumber(Decode::decode(body)?),
            OpCode::WhoAmI => WhoAmI,
            OpCode::Auth => Auth(Decode::decode(body)?),
            OpCode::SetWatches => SetWatches(Decode::decode(body)?),
            OpCode::Sasl => Sasl(Decode::decode(body)?),
            OpCode::SetWatches2 => SetWatches2(Decode::decode(body)?),
            OpCode::Ping => Ping,
            OpCode::CloseSession => CloseSession,
            OpCode::Check => return Err(DecodeError::Invalid("standalone check request")),
            other => return Err(DecodeError::UnknownOpCode(other.as_i32())),
        })
    }
}

/// Appends one complete request frame: 4-byte length, `RequestHeader{xid, op}`, body.
///
/// Written in one pass straight into `buf` (length placeholder, then backfilled), so the client
/// can encode every queued request of a wake-up into one buffer and flush it with one write.
pub fn encode_request_frame(buf: &mut BytesMut, xid: i32, req: &Request) {
    encode_frame_with(buf, |buf| {
        xid.encode(buf);
        req.op_code().encode(buf);
        req.encode_body(buf);
    });
}

/// Appends the handshake frame: 4-byte length and the `ConnectRequest` (it has no header).
pub fn encode_connect_frame(buf: &mut BytesMut, req: &ConnectRequest) {
    encode_frame_with(buf, |buf| req.encode(buf));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::frame::take_frame;
    use crate::proto::strategies::arb_request;
    use crate::proto::xid;
    use proptest::prelude::*;

    #[test]
    fn get_data_frame_vector() {
        let mut buf = BytesMut::new();
        let req = Request::GetData(PathWatchRequest {
            path: "/a".into(),
            watch: true,
        });
        encode_request_frame(&mut buf, 7, &req);
        assert_eq!(
            &buf[..],
            [0, 0, 0, 15, 0, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0, 2, b'/', b'a', 1]
        );
        assert_eq!(req.path(), Some("/a"));
    }

    #[test]
    fn ping_and_close_are_header_only() {
        let mut buf = BytesMut::new();
        encode_request_frame(&mut buf, xid::PING, &Request::Ping);
        encode_request_frame(&mut buf, 9, &Request::CloseSession);
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11,
            0, 0, 0, 8, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xf5,
        ];
        assert_eq!(&buf[..], &expected[..]);
    }

    #[test]
    fn multi_frame_vector() {
        let req = Request::Multi(vec![
            MultiOp::Check(CheckVersionRequest {
                path: "/c".into(),
                version: 3,
            }),
            MultiOp::Delete(DeleteRequest {
                path: "/d".into(),
                version: -1,
            }),
        ]);
        let mut body = BytesMut::new();
        req.encode_body(&mut body);
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 13, 0, 0xff, 0xff, 0xff, 0xff,     // header: check
            0, 0, 0, 2, b'/', b'c', 0, 0, 0, 3,
            0, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff,      // header: delete
            0, 0, 0, 2, b'/', b'd', 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff, // terminator
        ];
        assert_eq!(&body[..], &expected[..]);
        assert_eq!(req.path(), None);

        let mut empty = BytesMut::new();
        Request::Multi(vec![]).encode_body(&mut empty);
        assert_eq!(
            &empty[..],
            [0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn connect_frame_is_length_plus_45() {
        let mut buf = BytesMut::new();
        encode_connect_frame(&mut buf, &ConnectRequest::default());
        assert_eq!(buf.len(), 49);
        assert_eq!(&buf[..4], [0, 0, 0, 45]);
    }

    #[test]
    fn standalone_check_cannot_be_decoded() {
        let mut body = BytesMut::new();
        CheckVersionRequest::default().encode(&mut body);
        assert_eq!(
            Request::decode(OpCode::Check, &mut body.freeze()),
            Err(DecodeError::Invalid("standalone check request"))
        );
    }

    #[test]
    fn multi_with_read_op_is_rejected() {
        let mut body = BytesMut::new();
        Request::MultiRead(vec![MultiReadOp::GetData(PathWatchRequest::default())])
            .encode_body(&mut body);
        assert_eq!(
            Request::decode(OpCode::Multi, &mut body.freeze()),
            Err(DecodeError::UnknownOpCode(4))
        );
    }

    #[test]
    fn many_frames_in_one_buffer() {
        let mut buf = BytesMut::new();
        for i in 1..=1000 {
            let req = Request::Exists(PathWatchRequest {
                path: format!("/n{i}"),
                watch: false,
            });
            encode_request_frame(&mut buf, i, &req);
        }
        for i in 1..=1000 {
            let mut frame = take_frame(&mut buf, 1 << 20).unwrap().unwrap();
            let header = RequestHeader::decode(&mut frame).unwrap();
            assert_eq!(header.xid, i);
            let req = Request::decode(header.op, &mut frame).unwrap();
            assert_eq!(req.path(), Some(format!("/n{i}").as_str()));
            assert!(frame.is_empty());
        }
        assert!(buf.is_empty());
    }

    proptest! {
        #[test]
        fn request_frame_round_trip(xid in any::<i32>(), req in arb_request()) {
            let mut buf = BytesMut::from(&b"prefix"[..]);
            encode_request_frame(&mut buf, xid, &req);
            let _ = buf.split_to(6);
            let mut frame = take_frame(&mut buf, usize::MAX)?.expect("complete frame");
            prop_assert!(buf.is_empty());
            let header = RequestHeader::decode(&mut frame)?;
            prop_assert_eq!(&header, &RequestHeader { xid, op: req.op_code() });
            prop_assert_eq!(Request::decode(header.op, &mut frame)?, req);
            prop_assert!(frame.is_empty());
        }
    }
}
