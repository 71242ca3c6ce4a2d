//! Responses: decoding a successful reply body according to the op it answers.
//!
//! Replies carry no type; the client knows it from the pending request the xid matched. Bodies
//! are decoded only when the header's err is `Ok` (a failed op has no body; a failed multi still
//! has err `Ok` and reports per-op results). Bytes after a complete body are ignored, as the
//! reference client does: the frame boundary, not the body, delimits the message.

use bytes::{Buf, Bytes, BytesMut};

use super::error::DecodeError;
use super::error_code::ErrorCode;
use super::jute::{Decode, Encode};
use super::op_code::OpCode;
use super::records::*;

/// The outcome of one op inside a multi or multiRead reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultiResult {
    /// create (1); also what a 3.8 server returns for create2 inside multi.
    Create {
        /// The created path.
        path: String,
    },
    /// create2 (15), createContainer (19), createTTL (21).
    Create2 {
        /// The created path.
        path: String,
        /// The new node's Stat.
        stat: Stat,
    },
    /// delete (2).
    Delete,
    /// setData (5).
    SetData {
        /// The node's new Stat.
        stat: Stat,
    },
    /// check (13).
    Check,
    /// getData (4) in a multiRead.
    GetData {
        /// The node's data.
        data: Bytes,
        /// The node's Stat.
        stat: Stat,
    },
    /// getChildren (8) in a multiRead.
    GetChildren {
        /// Child names.
        children: Vec<String>,
    },
    /// The op failed (or, after a failure in a multi, was not run: `RuntimeInconsistency`).
    Error(ErrorCode),
}

impl MultiResult {
    /// Decodes the body of a result whose multi header said `type_`.
    pub fn decode(type_: i32, buf: &mut Bytes) -> Result<MultiResult, DecodeError> {
        Ok(match OpCode::from_i32(type_) {
            OpCode::Create => MultiResult::Create {
                path: String::decode(buf)?,
            },
            OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                let r = Create2Response::decode(buf)?;
                MultiResult::Create2 {
                    path: r.path,
                    stat: r.stat,
                }
            }
            OpCode::Delete => MultiResult::Delete,
            OpCode::SetData => MultiResult::SetData {
                stat: Stat::decode(buf)?,
            },
            OpCode::Check => MultiResult::Check,
            OpCode::GetData => {
                let r = GetDataResponse::decode(buf)?;
                MultiResult::GetData {
                    data: r.data,
                    stat: r.stat,
                }
            }
            OpCode::GetChildren => MultiResult::GetChildren {
                children: Vec::<String>::decode(buf)?,
            },
            OpCode::Error => {
                MultiResult::Error(ErrorCode::from_i32(ErrorResponse::decode(buf)?.err))
            }
            _ => return Err(DecodeError::UnknownOpCode(type_)),
        })
    }

    /// The multi header this result is sent with (`{type, false, 0}`, or `{-1, false, code}` for
    /// an error), for fake servers.
    pub fn header(&self) -> MultiHeader {
        let (op, err) = match self {
            MultiResult::Create { .. } => (OpCode::Create, 0),
            MultiResult::Create2 { .. } => (OpCode::Create2, 0),
            MultiResult::Delete => (OpCode::Delete, 0),
            MultiResult::SetData { .. } => (OpCode::SetData, 0),
            MultiResult::Check => (OpCode::Check, 0),
            MultiResult::GetData { .. } => (OpCode::GetData, 0),
            MultiResult::GetChildren { .. } => (OpCode::GetChildren, 0),
            MultiResult::Error(code) => (OpCode::Error, code.as_i32()),
        };
        MultiHeader {
            type_: op.as_i32(),
            done: false,
            err,
        }
    }

    /// Appends the result's body (without its header).
    pub fn encode_body(&self, buf: &mut BytesMut) {
        match self {
            MultiResult::Create { path } => path.encode(buf),
            MultiResult::Create2 { path, stat } => {
                path.encode(buf);
                stat.encode(buf);
            }
            MultiResult::Delete | MultiResult::Check => {}
            MultiResult::SetData { stat } => stat.encode(buf),
            MultiResult::GetData { data, stat } => {
                data.encode(buf);
                stat.encode(buf);
            }
            MultiResult::GetChildren { children } => children.encode(buf),
            MultiResult::Error(code) => ErrorResponse { err: code.as_i32() }.encode(buf),
        }
    }
}

/// The decoded body of a successful reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Response {
    /// No body: delete, setWatches(2), checkWatches, removeWatches, auth, ping, closeSession.
    Empty,
    /// create (1).
    Create {
        /// The created path (with the sequence suffix, if any).
        path: String,
    },
    /// create2 (15), createContainer (19), createTTL (21).
    Create2 {
        /// The created path.
        path: String,
        /// The new node's Stat.
        stat: Stat,
    },
    /// exists (3), setData (5), setACL (7).
    Stat(Stat),
    /// getData (4).
    GetData {
        /// The node's data (shares the frame's memory).
        data: Bytes,
        /// The node's Stat.
        stat: Stat,
    },
    /// getACL (6).
    GetAcl {
        /// The node's ACL.
        acl: Vec<Acl>,
        /// The node's Stat.
        stat: Stat,
    },
    /// getChildren (8).
    Children(ChildNames),
    /// getChildren2 (12).
    Children2 {
        /// Child names (sharing the frame's memory).
        children: ChildNames,
        /// The parent's Stat.
        stat: Stat,
    },
    /// sync (9).
    Sync {
        /// The synced path.
        path: String,
    },
    /// multi (14) and multiRead (22): one result per op, in order.
    Multi(Vec<MultiResult>),
    /// addWatch (106).
    AddWatch,
    /// getEphemerals (103).
    Ephemerals(Vec<String>),
    /// getAllChildrenNumber (104).
    AllChildrenNumber(i32),
    /// whoAmI (107).
    WhoAmI(Vec<ClientInfo>),
    /// sasl (102): the server's next SASL token (empty for a null one).
    Sasl {
        /// The server's token.
        token: Bytes,
    },
}

impl Response {
    /// Decodes the body of a successful (err == 0) reply to a request of type `op`.
    ///
    /// Multi and multiRead report failures per op with header err 0, so they always come here.
    /// Ops that have no reply this client can receive (notification, check, reconfig,
    /// server-internal ops) give `UnknownOpCode`.
    pub fn decode(op: OpCode, body: &mut Bytes) -> Result<Response, DecodeError> {
        Ok(match op {
            OpCode::Delete
            | OpCode::SetWatches
            | OpCode::SetWatches2
            | OpCode::CheckWatches
            | OpCode::RemoveWatches
            | OpCode::Auth
            | OpCode::Ping
            | OpCode::CloseSession => Response::Empty,
            OpCode::Create => Response::Create {
                path: String::decode(body)?,
            },
            OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                let r = Create2Response::decode(body)?;
                Response::Create2 {
                    path: r.path,
                    stat: r.stat,
                }
            }
            OpCode::Exists | OpCode::SetData | OpCode::SetAcl => {
                Response::Stat(Stat::decode(body)?)
            }
            OpCode::GetData => {
                let r = GetDataResponse::decode(body)?;
                Response::GetData {
                    data: r.data,
                    stat: r.stat,
                }
            }
            OpCode::GetAcl => {
                let r = GetAclResponse::decode(body)?;
                Response::GetAcl {
                    acl: r.acl,
                    stat: r.stat,
                }
            }
            OpCode::GetChildren => Response::Children(ChildNames::decode(body)?),
            // GetChildren2Response's fields, with the names left in the frame.
            OpCode::GetChildren2 => Response::Children2 {
                children: ChildNames::decode(body)?,
                stat: Stat::decode(body)?,
            },
            OpCode::Sync => Response::Sync {
                path: String::decode(body)?,
            },
            OpCode::Multi | OpCode::MultiRead => Response::Multi(decode_multi_results(body)?),
            OpCode::AddWatch => {
                // The server sends ErrorResponse{0}; tolerate an empty body as well.
                if body.has_remaining() {
                    ErrorResponse::decode(body)?;
                }
                Response::AddWatch
            }
            OpCode::GetEphemerals => Response::Ephemerals(Vec::<String>::decode(body)?),
            OpCode::GetAllChildrenNumber => Response::AllChildrenNumber(i32::decode(body)?),
            OpCode::WhoAmI => Response::WhoAmI(Vec::<ClientInfo>::decode(body)?),
            OpCode::Sasl => Response::Sasl {
                token: SetSaslResponse::decode(body)?.token,
            },
            other => return Err(DecodeError::UnknownOpCode(other.as_i32())),
        })
    }

    /// Appends the body a server would send for this response: the inverse of
    /// [`Response::decode`], for fake servers in tests.
    pub fn encode_body(&self, buf: &mut BytesMut) {
        match self {
            Response::Empty => {}
            Response::Create { path } | Response::Sync { path } => path.encode(buf),
            Response::Create2 { path, stat } => {
                path.encode(buf);
                stat.encode(buf);
            }
            Response::Stat(stat) => stat.encode(buf),
            Response::GetData { data, stat } => {
                data.encode(buf);
                stat.encode(buf);
            }
            Response::GetAcl { acl, stat } => {
                acl.encode(buf);
                stat.encode(buf);
            }
            Response::Children(children) => children.encode(buf),
            Response::Ephemerals(names) => names.encode(buf),
            Response::Children2 { children, stat } => {
                children.encode(buf);
                stat.encode(buf);
            }
            Response::Multi(results) => {
                for r in results {
                    r.header().encode(buf);
                    r.encode_body(buf);
                }
                MultiHeader::END.encode(buf);
            }
            Response::AddWatch => ErrorResponse { err: 0 }.encode(buf),
            Response::AllChildrenNumber(n) => n.encode(buf),
            Response::WhoAmI(infos) => infos.encode(buf),
            Response::Sasl { token } => token.encode(buf),
        }
    }
}

/// Reads multi results until the terminator. Every iteration consumes at least a 9-byte
/// header, so a hostile frame can only end the loop with the terminator or an EOF error.
fn decode_multi_results(body: &mut Bytes) -> Result<Vec<MultiResult>, DecodeError> {
    let mut results = Vec::new();
    loop {
        let header = MultiHeader::decode(body)?;
        if header.done {
            return Ok(results);
        }
        results.push(MultiResult::decode(header.type_, body)?);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::strategies::{arb_response_with_op, arb_stat};
    use proptest::prelude::*;

    fn stat_bytes(s: &Stat) -> Vec<u8> {
        let mut b = BytesMut::new();
        s.encode(&mut b);
        b.to_vec()
    }

    #[test]
    fn create_and_stat_vectors() {
        let r = Response::decode(
            OpCode::Create,
            &mut Bytes::from_static(&[0, 0, 0, 2, b'/', b'x']),
        );
        assert_eq!(r, Ok(Response::Create { path: "/x".into() }));

        let stat = Stat {
            version: 3,
            ..Stat::default()
        };
        let mut raw = vec![0, 0, 0, 1, b'/'];
        raw.extend(stat_bytes(&stat));
        for op in [OpCode::Create2, OpCode::CreateContainer, OpCode::CreateTtl] {
            let r = Response::decode(op, &mut Bytes::from(raw.clone()));
            assert_eq!(
                r,
                Ok(Response::Create2 {
                    path: "/".into(),
                    stat: stat.clone()
                })
            );
        }
        for op in [OpCode::Exists, OpCode::SetData, OpCode::SetAcl] {
            let r = Response::decode(op, &mut Bytes::from(stat_bytes(&stat)));
            assert_eq!(r, Ok(Response::Stat(stat.clone())));
        }
        assert!(Response::decode(OpCode::Exists, &mut Bytes::from(vec![0; 67])).is_err());
    }

    #[test]
    fn empty_ops_ignore_their_body() {
        for op in [
            OpCode::Delete,
            OpCode::Ping,
            OpCode::Auth,
            OpCode::SetWatches2,
        ] {
            assert_eq!(Response::decode(op, &mut Bytes::new()), Ok(Response::Empty));
        }
    }

    #[test]
    fn add_watch_tolerates_empty_body() {
        assert_eq!(
            Response::decode(OpCode::AddWatch, &mut Bytes::new()),
            Ok(Response::AddWatch)
        );
        assert_eq!(
            Response::decode(OpCode::AddWatch, &mut Bytes::from_static(&[0, 0, 0, 0])),
            Ok(Response::AddWatch)
        );
        assert!(Response::decode(OpCode::AddWatch, &mut Bytes::from_static(&[0, 0])).is_err());
    }

    #[test]
    fn unanswerable_ops_are_unknown() {
        for op in [
            OpCode::Notification,
            OpCode::Check,
            OpCode::Reconfig,
            OpCode::Error,
            OpCode::Unknown(42),
        ] {
            assert_eq!(
                Response::decode(op, &mut Bytes::new()),
                Err(DecodeError::UnknownOpCode(op.as_i32()))
            );
        }
    }

    #[test]
    fn failed_multi_vector() {
        // create ok, check failed with BADVERSION, delete not run.
        #[rustfmt::skip]
        let raw = [
            0, 0, 0, 1, 0, 0, 0, 0, 0,                  // header create, err 0
            0, 0, 0, 2, b'/', b'a',
            0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0x99, // header error, err -103
            0xff, 0xff, 0xff, 0x99,
            0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xfe, // header error, err -2
            0xff, 0xff, 0xff, 0xfe,
            0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff, // terminator
        ];
        let r = Response::decode(OpCode::Multi, &mut Bytes::copy_from_slice(&raw)).unwrap();
        let expected = Response::Multi(vec![
            MultiResult::Create { path: "/a".into() },
            MultiResult::Error(ErrorCode::BadVersion),
            MultiResult::Error(ErrorCode::RuntimeInconsistency),
        ]);
        assert_eq!(r, expected);
        let mut b = BytesMut::new();
        expected.encode_body(&mut b);
        assert_eq!(&b[..], &raw[..]);
    }

    #[test]
    fn multi_result_kinds() {
        let stat = Stat {
            czxid: 9,
            ..Stat::default()
        };
        let mut raw = Vec::new();
        let push_header = |raw: &mut Vec<u8>, t: i32| {
            raw.extend(t.to_be_bytes());
            raw.push(0);
            raw.extend(0i32.to_be_bytes());
        };
        for t in [15, 19, 21] {
            push_header(&mut raw, t);
            raw.extend([0, 0, 0, 1, b'/']);
            raw.extend(stat_bytes(&stat));
        }
        push_header(&mut raw, 2);
        push_header(&mut raw, 5);
        raw.extend(stat_bytes(&stat));
        push_header(&mut raw, 13);
        push_header(&mut raw, 4);
        raw.extend([0, 0, 0, 1, 0xab]);
        raw.extend(stat_bytes(&stat));
        push_header(&mut raw, 8);
        raw.extend([0, 0, 0, 1, 0, 0, 0, 1, b'c']);
        raw.extend([0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff]);
        let r = Response::decode(OpCode::MultiRead, &mut Bytes::from(raw)).unwrap();
        let c2 = MultiResult::Create2 {
            path: "/".into(),
            stat: stat.clone(),
        };
        assert_eq!(
            r,
            Response::Multi(vec![
                c2.clone(),
                c2.clone(),
                c2,
                MultiResult::Delete,
                MultiResult::SetData { stat: stat.clone() },
                MultiResult::Check,
                MultiResult::GetData {
                    data: Bytes::from_static(&[0xab]),
                    stat
                },
                MultiResult::GetChildren {
                    children: vec!["c".into()]
                },
            ])
        );
    }

    #[test]
    fn malformed_multis_are_errors() {
        let end = [0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff];
        // Empty multi is legal.
        assert_eq!(
            Response::decode(OpCode::Multi, &mut Bytes::copy_from_slice(&end)),
            Ok(Response::Multi(vec![]))
        );
        // No terminator.
        assert!(matches!(
            Response::decode(
                OpCode::Multi,
                &mut Bytes::from_static(&[0, 0, 0, 2, 0, 0, 0, 0, 0])
            ),
            Err(DecodeError::UnexpectedEof { .. })
        ));
        // Unknown type.
        let mut raw = vec![0, 0, 0, 3, 0, 0, 0, 0, 0];
        raw.extend(end);
        assert_eq!(
            Response::decode(OpCode::Multi, &mut Bytes::from(raw)),
            Err(DecodeError::UnknownOpCode(3))
        );
        // Empty body.
        assert!(Response::decode(OpCode::Multi, &mut Bytes::new()).is_err());
    }

    proptest! {
        #[test]
        fn response_round_trip((op, resp) in arb_response_with_op()) {
            let mut b = BytesMut::new();
            resp.encode_body(&mut b);
            let mut input = b.freeze();
            prop_assert_eq!(Response::decode(op, &mut input)?, resp);
            prop_assert!(input.is_empty());
        }

        #[test]
        fn truncated_stat_reply_is_error(stat in arb_stat(), cut in 0usize..68) {
            let raw = stat_bytes(&stat);
            prop_assert!(Response::decode(OpCode::Exists, &mut Bytes::copy_from_slice(&raw[..cut])).is_err());
        }
    }
}
