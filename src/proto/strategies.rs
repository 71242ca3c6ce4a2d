//! Proptest strategies for every record, request and response, plus the round-trip assertion
//! the record tests share. Test-only.

use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;

use super::*;

/// Encodes `v`, decodes it back, and checks equality and that every byte was consumed.
pub fn assert_round_trip<T: Encode + Decode + PartialEq + Debug>(
    v: &T,
) -> Result<(), TestCaseError> {
    let mut b = BytesMut::new();
    v.encode(&mut b);
    prop_assert!(
        b.len() >= T::MIN_ENCODED_LEN,
        "shorter than MIN_ENCODED_LEN"
    );
    let mut input = b.freeze();
    let back = T::decode(&mut input)?;
    prop_assert_eq!(&back, v);
    prop_assert!(input.is_empty(), "{} bytes left over", input.len());
    Ok(())
}

pub fn arb_path() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "/[a-z0-9_.-]{0,8}(/[a-zA-Z0-9_-]{1,8}){0,3}",
        1 => ".{0,12}",
    ]
}

pub fn arb_names() -> impl Strategy<Value = Vec<String>> {
    vec(prop_oneof!["[a-z0-9_-]{0,12}", ".{0,6}"], 0..6)
}

pub fn arb_bytes() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..48).prop_map(Bytes::from)
}

pub fn arb_op_code() -> impl Strategy<Value = OpCode> {
    prop_oneof![
        select(&OpCode::ALL[..]),
        any::<i32>().prop_map(OpCode::from_i32),
    ]
}

pub fn arb_error_code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![
        (-130i32..=0).prop_map(ErrorCode::from_i32),
        any::<i32>().prop_map(ErrorCode::from_i32),
    ]
}

pub fn arb_stat() -> impl Strategy<Value = Stat> {
    (
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
        any::<i32>(),
        any::<i32>(),
        any::<i32>(),
        any::<i64>(),
        any::<i32>(),
        any::<i32>(),
        any::<i64>(),
    )
        .prop_map(
            |(
                czxid,
                mzxid,
                ctime,
                mtime,
                version,
                cversion,
                aversion,
                ephemeral_owner,
                data_length,
                num_children,
                pzxid,
            )| Stat {
                czxid,
                mzxid,
                ctime,
                mtime,
                version,
                cversion,
                aversion,
                ephemeral_owner,
                data_length,
                num_children,
                pzxid,
            },
        )
}

pub fn arb_id() -> impl Strategy<Value = Id> {
    ("[a-z]{0,8}", ".{0,10}").prop_map(|(scheme, id)| Id { scheme, id })
}

pub fn arb_acl() -> impl Strategy<Value = Acl> {
    (0i32..=31, arb_id()).prop_map(|(perms, id)| Acl { perms, id })
}

pub fn arb_acls() -> impl Strategy<Value = Vec<Acl>> {
    vec(arb_acl(), 0..4)
}

pub fn arb_request_header() -> impl Strategy<Value = RequestHeader> {
    (any::<i32>(), arb_op_code()).prop_map(|(xid, op)| RequestHeader { xid, op })
}

pub fn arb_reply_header() -> impl Strategy<Value = ReplyHeader> {
    (any::<i32>(), any::<i64>(), arb_error_code()).prop_map(|(xid, zxid, err)| ReplyHeader {
        xid,
        zxid,
        err,
    })
}

pub fn arb_connect_request() -> impl Strategy<Value = ConnectRequest> {
    (
        any::<i32>(),
        any::<i64>(),
        any::<i32>(),
        any::<i64>(),
        arb_bytes(),
        any::<bool>(),
    )
        .prop_map(
            |(protocol_version, last_zxid_seen, time_out, session_id, passwd, read_only)| {
                ConnectRequest {
                    protocol_version,
                    last_zxid_seen,
                    time_out,
                    session_id,
                    passwd,
                    read_only,
                }
            },
        )
}

pub fn arb_connect_response() -> impl Strategy<Value = ConnectResponse> {
    (
        any::<i32>(),
        any::<i32>(),
        any::<i64>(),
        arb_bytes(),
        any::<bool>(),
    )
        .prop_map(
            |(protocol_version, time_out, session_id, passwd, read_only)| ConnectResponse {
                protocol_version,
                time_out,
                session_id,
                passwd,
                read_only,
            },
        )
}

pub fn arb_create_request() -> impl Strategy<Value = CreateRequest> {
    (arb_path(), arb_bytes(), arb_acls(), 0i32..=6).prop_map(|(path, data, acl, flags)| {
        CreateRequest {
            path,
            data,
            acl,
            flags,
        }
    })
}

pub fn arb_create_ttl_request() -> impl Strategy<Value = CreateTtlRequest> {
    (arb_create_request(), any::<i64>()).prop_map(|(c, ttl)| CreateTtlRequest {
        path: c.path,
        data: c.data,
        acl: c.acl,
        flags: c.flags,
        ttl,
    })
}

pub fn arb_delete_request() -> impl Strategy<Value = DeleteRequest> {
    (arb_path(), any::<i32>()).prop_map(|(path, version)| DeleteRequest { path, version })
}

pub fn arb_path_request() -> impl Strategy<Value = PathRequest> {
    arb_path().prop_map(|path| PathRequest { path })
}

pub fn arb_path_watch_request() -> impl Strategy<Value = PathWatchRequest> {
    (arb_path(), any::<bool>()).prop_map(|(path, watch)| PathWatchRequest { path, watch })
}

pub fn arb_set_data_request() -> impl Strategy<Value = SetDataRequest> {
    (arb_path(), arb_bytes(), any::<i32>()).prop_map(|(path, data, version)| SetDataRequest {
        path,
        data,
        version,
    })
}

pub fn arb_set_acl_request() -> impl Strategy<Value = SetAclRequest> {
    (arb_path(), arb_acls(), any::<i32>()).prop_map(|(path, acl, version)| SetAclRequest {
        path,
        acl,
        version,
    })
}

pub fn arb_check_request() -> impl Strategy<Value = CheckVersionRequest> {
    (arb_path(), any::<i32>()).prop_map(|(path, version)| CheckVersionRequest { path, version })
}

pub fn arb_watcher_event() -> impl Strategy<Value = WatcherEvent> {
    (-1i32..=7, any::<i32>(), arb_path()).prop_map(|(type_, state, path)| WatcherEvent {
        type_,
        state,
        path,
    })
}

pub fn arb_set_watches() -> impl Strategy<Value = SetWatches> {
    (any::<i64>(), arb_names(), arb_names(), arb_names()).prop_map(
        |(relative_zxid, data_watches, exist_watches, child_watches)| SetWatches {
            relative_zxid,
            data_watches,
            exist_watches,
            child_watches,
        },
    )
}

pub fn arb_set_watches2() -> impl Strategy<Value = SetWatches2> {
    (arb_set_watches(), arb_names(), arb_names()).prop_map(
        |(s, persistent_watches, persistent_recursive_watches)| SetWatches2 {
            relative_zxid: s.relative_zxid,
            data_watches: s.data_watches,
            exist_watches: s.exist_watches,
            child_watches: s.child_watches,
            persistent_watches,
            persistent_recursive_watches,
        },
    )
}

pub fn arb_add_watch_request() -> impl Strategy<Value = AddWatchRequest> {
    (arb_path(), 0i32..=1).prop_map(|(path, mode)| AddWatchRequest { path, mode })
}

pub fn arb_watches_request() -> impl Strategy<Value = WatchesRequest> {
    (arb_path(), 1i32..=3).prop_map(|(path, type_)| WatchesRequest { path, type_ })
}

pub fn arb_multi_header() -> impl Strategy<Value = MultiHeader> {
    (any::<i32>(), any::<bool>(), any::<i32>()).prop_map(|(type_, done, err)| MultiHeader {
        type_,
        done,
        err,
    })
}

pub fn arb_auth_packet() -> impl Strategy<Value = AuthPacket> {
    (any::<i32>(), "[a-z]{0,8}", arb_bytes()).prop_map(|(type_, scheme, auth)| AuthPacket {
        type_,
        scheme,
        auth,
    })
}

pub fn arb_client_infos() -> impl Strategy<Value = Vec<ClientInfo>> {
    vec(
        ("[a-z]{0,6}", ".{0,10}").prop_map(|(auth_scheme, user)| ClientInfo { auth_scheme, user }),
        0..4,
    )
}

pub fn arb_multi_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        arb_create_request().prop_map(MultiOp::Create),
        arb_create_request().prop_map(MultiOp::Create2),
        arb_create_request().prop_map(MultiOp::CreateContainer),
        arb_create_ttl_request().prop_map(MultiOp::CreateTtl),
        arb_delete_request().prop_map(MultiOp::Delete),
        arb_set_data_request().prop_map(MultiOp::SetData),
        arb_check_request().prop_map(MultiOp::Check),
    ]
}

pub fn arb_multi_read_op() -> impl Strategy<Value = MultiReadOp> {
    prop_oneof![
        arb_path_watch_request().prop_map(MultiReadOp::GetChildren),
        arb_path_watch_request().prop_map(MultiReadOp::GetData),
    ]
}

pub fn arb_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        arb_create_request().prop_map(Request::Create),
        arb_create_request().prop_map(Request::Create2),
        arb_create_request().prop_map(Request::CreateContainer),
        arb_create_ttl_request().prop_map(Request::CreateTtl),
        arb_delete_request().prop_map(Request::Delete),
        arb_path_watch_request().prop_map(Request::Exists),
        arb_path_watch_request().prop_map(Request::GetData),
        arb_set_data_request().prop_map(Request::SetData),
        arb_path_request().prop_map(Request::GetAcl),
        arb_set_acl_request().prop_map(Request::SetAcl),
        arb_path_watch_request().prop_map(Request::GetChildren),
        arb_path_watch_request().prop_map(Request::GetChildren2),
        arb_path_request().prop_map(Request::Sync),
        vec(arb_multi_op(), 0..5).prop_map(Request::Multi),
        vec(arb_multi_read_op(), 0..5).prop_map(Request::MultiRead),
        arb_watches_request().prop_map(Request::CheckWatches),
        arb_watches_request().prop_map(Request::RemoveWatches),
        arb_add_watch_request().prop_map(Request::AddWatch),
        arb_path_request().prop_map(Request::GetEphemerals),
        arb_path_request().prop_map(Request::GetAllChildrenNumber),
        Just(Request::WhoAmI),
        arb_auth_packet().prop_map(Request::Auth),
        arb_set_watches().prop_map(Request::SetWatches),
        arb_bytes().prop_map(|token| Request::Sasl(GetSaslRequest { token })),
        arb_set_watches2().prop_map(Request::SetWatches2),
        Just(Request::Ping),
        Just(Request::CloseSession),
    ]
}

pub fn arb_multi_result() -> impl Strategy<Value = MultiResult> {
    prop_oneof![
        arb_path().prop_map(|path| MultiResult::Create { path }),
        (arb_path(), arb_stat()).prop_map(|(path, stat)| MultiResult::Create2 { path, stat }),
        Just(MultiResult::Delete),
        arb_stat().prop_map(|stat| MultiResult::SetData { stat }),
        Just(MultiResult::Check),
        (arb_bytes(), arb_stat()).prop_map(|(data, stat)| MultiResult::GetData { data, stat }),
        arb_names().prop_map(|children| MultiResult::GetChildren { children }),
        arb_error_code().prop_map(MultiResult::Error),
    ]
}

/// A response together with an op whose reply it can be.
pub fn arb_response_with_op() -> impl Strategy<Value = (OpCode, Response)> {
    let empty_ops = select(vec![
        OpCode::Delete,
        OpCode::SetWatches,
        OpCode::SetWatches2,
        OpCode::CheckWatches,
        OpCode::RemoveWatches,
        OpCode::Auth,
        OpCode::Ping,
        OpCode::CloseSession,
    ]);
    prop_oneof![
        empty_ops.prop_map(|op| (op, Response::Empty)),
        arb_path().prop_map(|path| (OpCode::Create, Response::Create { path })),
        (
            select(vec![
                OpCode::Create2,
                OpCode::CreateContainer,
                OpCode::CreateTtl
            ]),
            arb_path(),
            arb_stat()
        )
            .prop_map(|(op, path, stat)| (op, Response::Create2 { path, stat })),
        (
            select(vec![OpCode::Exists, OpCode::SetData, OpCode::SetAcl]),
            arb_stat()
        )
            .prop_map(|(op, stat)| (op, Response::Stat(stat))),
        (arb_bytes(), arb_stat())
            .prop_map(|(data, stat)| (OpCode::GetData, Response::GetData { data, stat })),
        (arb_acls(), arb_stat())
            .prop_map(|(acl, stat)| (OpCode::GetAcl, Response::GetAcl { acl, stat })),
        arb_names().prop_map(|c| (OpCode::GetChildren, Response::Children(c.iter().collect()))),
        (arb_names(), arb_stat()).prop_map(|(children, stat)| (
            OpCode::GetChildren2,
            Response::Children2 {
                children: children.iter().collect(),
                stat
            }
        )),
        arb_path().prop_map(|path| (OpCode::Sync, Response::Sync { path })),
        (
            select(vec![OpCode::Multi, OpCode::MultiRead]),
            vec(arb_multi_result(), 0..6)
        )
            .prop_map(|(op, r)| (op, Response::Multi(r))),
        Just((OpCode::AddWatch, Response::AddWatch)),
        arb_names().prop_map(|e| (OpCode::GetEphemerals, Response::Ephemerals(e))),
        any::<i32>().prop_map(|n| (OpCode::GetAllChildrenNumber, Response::AllChildrenNumber(n))),
        arb_client_infos().prop_map(|c| (OpCode::WhoAmI, Response::WhoAmI(c))),
        arb_bytes().prop_map(|token| (OpCode::Sasl, Response::Sasl { token })),
    ]
}
