//! Deterministic fuzzing of every decoder: a seeded xorshift generates random byte strings and
//! mutations (truncations, bit flips, hostile lengths, splices) of valid encodings, and every
//! decoder must answer `Ok` or `Err` without panicking. Where a decoder succeeds, re-encoding
//! its output must decode to the same value (decoders and encoders agree on every accepted input).

use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::{Bytes, BytesMut};

use super::*;

/// xorshift64*: tiny, seeded, good enough to drive mutations; no rand crate needed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Lengths and counts that tend to break length handling.
const NASTY_INTS: [i32; 12] = [
    -1,
    -2,
    i32::MIN,
    i32::MAX,
    0,
    1,
    2,
    4,
    16,
    68,
    0x000f_ffff,
    0x0100_0000,
];

fn enc<T: Encode + ?Sized>(v: &T) -> Vec<u8> {
    let mut b = BytesMut::new();
    v.encode(&mut b);
    b.to_vec()
}

fn sample_stat() -> Stat {
    Stat {
        czxid: 0x1_0000_0001,
        mzxid: 2,
        ctime: 1_700_000_000_000,
        mtime: 1_700_000_000_001,
        version: 3,
        cversion: 4,
        aversion: 5,
        ephemeral_owner: 0x0102_0304_0506_0708,
        data_length: 1,
        num_children: 2,
        pzxid: 6,
    }
}

/// Valid encodings to mutate: records, request bodies, response bodies, frames.
fn corpus() -> Vec<Vec<u8>> {
    let stat = sample_stat();
    let create = CreateRequest {
        path: "/lock/_c_0123-write-".into(),
        data: Bytes::from_static(b"payload"),
        acl: [Acl::open_unsafe(), Acl::creator_all()].concat(),
        flags: create_mode::EPHEMERAL_SEQUENTIAL,
    };
    let ttl = CreateTtlRequest {
        path: "/t".into(),
        data: Bytes::new(),
        acl: Acl::read_unsafe(),
        flags: create_mode::PERSISTENT_WITH_TTL,
        ttl: 60_000,
    };
    let names = vec!["a".to_string(), "é/ü".to_string(), String::new()];
    let requests = vec![
        Request::Create(create.clone()),
        Request::CreateTtl(ttl.clone()),
        Request::SetAcl(SetAclRequest {
            path: "/x".into(),
            acl: Acl::open_unsafe(),
            version: -1,
        }),
        Request::Multi(vec![
            MultiOp::Create(create.clone()),
            MultiOp::CreateTtl(ttl),
            MultiOp::Check(CheckVersionRequest {
                path: "/c".into(),
                version: 1,
            }),
            MultiOp::SetData(SetDataRequest {
                path: "/s".into(),
                data: Bytes::from_static(b"d"),
                version: 2,
            }),
            MultiOp::Delete(DeleteRequest {
                path: "/d".into(),
                version: -1,
            }),
        ]),
        Request::MultiRead(vec![
            MultiReadOp::GetData(PathWatchRequest {
                path: "/g".into(),
                watch: true,
            }),
            MultiReadOp::GetChildren(PathWatchRequest {
                path: "/".into(),
                watch: false,
            }),
        ]),
        Request::SetWatches2(SetWatches2 {
            relative_zxid: 99,
            data_watches: names.clone(),
            exist_watches: vec![],
            child_watches: names.clone(),
            persistent_watches: vec!["/p".into()],
            persistent_recursive_watches: vec!["/r".into()],
        }),
        Request::Auth(AuthPacket {
            type_: 0,
            scheme: "digest".into(),
            auth: Bytes::from_static(b"u:p"),
        }),
        Request::AddWatch(AddWatchRequest {
            path: "/w".into(),
            mode: add_watch_mode::PERSISTENT_RECURSIVE,
        }),
    ];
    let responses = vec![
        Response::Create2 {
            path: "/n0000000001".into(),
            stat: stat.clone(),
        },
        Response::GetData {
            data: Bytes::from_static(b"hello"),
            stat: stat.clone(),
        },
        Response::GetAcl {
            acl: Acl::open_unsafe(),
            stat: stat.clone(),
        },
        Response::Children2 {
            children: names.iter().collect(),
            stat: stat.clone(),
        },
        Response::Multi(vec![
            MultiResult::Create { path: "/a".into() },
            MultiResult::Create2 {
                path: "/b".into(),
                stat: stat.clone(),
            },
            MultiResult::SetData { stat: stat.clone() },
            MultiResult::Delete,
            MultiResult::Check,
            MultiResult::GetData {
                data: Bytes::from_static(b"z"),
                stat: stat.clone(),
            },
            MultiResult::GetChildren {
                children: names.clone(),
            },
            MultiResult::Error(ErrorCode::BadVersion),
            MultiResult::Error(ErrorCode::RuntimeInconsistency),
        ]),
        Response::WhoAmI(vec![ClientInfo {
            auth_scheme: "ip".into(),
            user: "127.0.0.1".into(),
        }]),
        Response::AddWatch,
    ];

    let mut out = Vec::new();
    for r in &requests {
        let mut b = BytesMut::new();
        r.encode_body(&mut b);
        out.push(b.to_vec());
        let mut f = BytesMut::new();
        encode_request_frame(&mut f, 5, r);
        out.push(f.to_vec());
    }
    for r in &responses {
        let mut b = BytesMut::new();
        r.encode_body(&mut b);
        out.push(b.to_vec());
    }
    out.push(enc(&stat));
    out.push(enc(&ConnectRequest::default()));
    out.push(enc(&ConnectResponse {
        protocol_version: 0,
        time_out: 4000,
        session_id: 0x0102_0304_0506_0708,
        passwd: Bytes::from_static(&[7; 16]),
        read_only: true,
    }));
    out.push(enc(&ReplyHeader {
        xid: 0,
        zxid: 0,
        err: ErrorCode::NotReadOnly,
    }));
    out.push(enc(&WatcherEvent {
        type_: watcher_event_type::NODE_DELETED,
        state: keeper_state::SYNC_CONNECTED,
        path: "/gone".into(),
    }));
    out.push(enc(&names));
    out
}

/// One input, in one of several shapes.
fn generate(rng: &mut XorShift, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut v = if rng.below(5) == 0 {
        let len = rng.below(80);
        (0..len).map(|_| rng.next() as u8).collect()
    } else {
        corpus[rng.below(corpus.len())].clone()
    };
    for _ in 0..=rng.below(3) {
        match rng.below(6) {
            // Truncate.
            0 => {
                let cut = rng.below(v.len() + 1);
                v.truncate(cut);
            }
            // Flip a few bytes.
            1 => {
                for _ in 0..=rng.below(3) {
                    if !v.is_empty() {
                        let i = rng.below(v.len());
                        v[i] ^= 1 << rng.below(8);
                    }
                }
            }
            // Plant a nasty length.
            2 => {
                if v.len() >= 4 {
                    let i = rng.below(v.len() - 3);
                    let n = NASTY_INTS[rng.below(NASTY_INTS.len())];
                    v[i..i + 4].copy_from_slice(&n.to_be_bytes());
                }
            }
            // Splice with another corpus entry.
            3 => {
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(v.len() + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            // Append noise.
            4 => {
                for _ in 0..rng.below(16) {
                    v.push(rng.next() as u8);
                }
            }
            // Drop a byte from the middle (shifts every later field).
            _ => {
                if !v.is_empty() {
                    let i = rng.below(v.len());
                    v.remove(i);
                }
            }
        }
    }
    v
}

/// Decodes `T`; on success checks that re-encoding round-trips to the same value.
fn record<T: Decode + Encode + PartialEq + Debug>(input: &Bytes) -> usize {
    let mut b = input.clone();
    match T::decode(&mut b) {
        Ok(v) => {
            assert!(b.len() <= input.len());
            let again = T::decode(&mut Bytes::from(enc(&v))).expect("re-encoded value decodes");
            assert_eq!(again, v);
            1
        }
        Err(_) => 0,
    }
}

/// Feeds the input to every record decoder; returns how many of the composite ones (records
/// with strings, buffers or vectors) accepted it, a measure of how deep the inputs reach.
fn all_records(input: &Bytes) -> usize {
    record::<i32>(input);
    record::<i64>(input);
    record::<bool>(input);
    record::<Bytes>(input);
    record::<Option<Bytes>>(input);
    record::<String>(input);
    record::<Option<String>>(input);
    record::<Vec<String>>(input);
    record::<ChildNames>(input);
    record::<Vec<i64>>(input);
    record::<OpCode>(input);
    record::<ErrorCode>(input);
    record::<ConnectRequest>(input);
    record::<RequestHeader>(input);
    record::<ReplyHeader>(input);
    record::<Stat>(input);
    record::<Id>(input);
    record::<Acl>(input);
    record::<Vec<Acl>>(input);
    record::<CreateResponse>(input);
    record::<Create2Response>(input);
    record::<DeleteRequest>(input);
    record::<PathRequest>(input);
    record::<PathWatchRequest>(input);
    record::<ExistsResponse>(input);
    record::<GetDataResponse>(input);
    record::<SetDataRequest>(input);
    record::<SetDataResponse>(input);
    record::<SetAclResponse>(input);
    record::<GetChildrenResponse>(input);
    record::<SyncResponse>(input);
    record::<CheckVersionRequest>(input);
    record::<WatchesRequest>(input);
    record::<AddWatchRequest>(input);
    record::<ErrorResponse>(input);
    record::<GetEphemeralsResponse>(input);
    record::<GetAllChildrenNumberResponse>(input);
    record::<ClientInfo>(input);
    record::<SetWatches>(input);
    record::<WatcherEvent>(input);
    record::<MultiHeader>(input);
    record::<ConnectResponse>(input)
        + record::<CreateRequest>(input)
        + record::<CreateTtlRequest>(input)
        + record::<GetAclResponse>(input)
        + record::<SetAclRequest>(input)
        + record::<GetChildren2Response>(input)
        + record::<WhoAmIResponse>(input)
        + record::<AuthPacket>(input)
        + record::<SetWatches2>(input)
}

/// Every opcode `Response::decode` and `Request::decode` know, plus a few they do not.
fn fuzz_ops() -> Vec<OpCode> {
    let mut ops = OpCode::ALL.to_vec();
    ops.extend([OpCode::Unknown(10), OpCode::Unknown(i32::MIN)]);
    ops
}

/// Returns how many decodes produced a non-empty multi (the deepest decoding path), so the test
/// can check that the inputs reach past the first length check often enough to be worth anything.
fn all_messages(input: &Bytes, ops: &[OpCode]) -> usize {
    let mut deep = 0;
    for &op in ops {
        if let Ok(r) = Response::decode(op, &mut input.clone()) {
            if matches!(&r, Response::Multi(results) if !results.is_empty()) {
                deep += 1;
            }
            let mut b = BytesMut::new();
            r.encode_body(&mut b);
            assert_eq!(Response::decode(op, &mut b.freeze()).as_ref(), Ok(&r));
        }
        if let Ok(r) = Request::decode(op, &mut input.clone()) {
            if matches!(&r, Request::Multi(ops) if !ops.is_empty()) {
                deep += 1;
            }
            let mut b = BytesMut::new();
            r.encode_body(&mut b);
            assert_eq!(Request::decode(op, &mut b.freeze()).as_ref(), Ok(&r));
        }
    }
    let _ = decode_connect_reply(&mut input.clone());
    let _ = MultiResult::decode(-1, &mut input.clone());
    for max in [0, 8, 64] {
        let mut buf = BytesMut::from(&input[..]);
        let before = buf.len();
        let mut taken = 0;
        while let Ok(Some(frame)) = take_frame(&mut buf, max) {
            assert!(frame.len() <= max);
            taken += 4 + frame.len();
        }
        assert_eq!(taken + buf.len(), before);
    }
    deep
}

/// Runs `check` on `count` generated inputs and returns how many had at least one successful
/// decode; on a panic, reports the input that caused it.
fn run(seed: u64, count: usize, check: impl Fn(&Bytes) -> usize) -> usize {
    let corpus = corpus();
    let mut rng = XorShift(seed);
    let mut accepted = 0;
    for i in 0..count {
        let input = Bytes::from(generate(&mut rng, &corpus));
        match catch_unwind(AssertUnwindSafe(|| check(&input))) {
            Ok(n) => accepted += usize::from(n > 0),
            Err(_) => panic!(
                "decoder panicked on input #{i} (seed {seed:#x}): {:02x?}",
                &input[..]
            ),
        }
    }
    accepted
}

const FUZZ_INPUTS: usize = 100_000;

#[test]
fn fuzz_every_record_decoder() {
    let accepted = run(0x9e37_79b9_7f4a_7c15, FUZZ_INPUTS, all_records);
    eprintln!("record fuzz: {accepted} of {FUZZ_INPUTS} inputs decoded as a composite record");
    assert!(
        accepted > FUZZ_INPUTS / 10,
        "only {accepted} inputs decoded as a composite record"
    );
}

#[test]
fn fuzz_every_message_decoder() {
    let ops = fuzz_ops();
    let accepted = run(0xd1b5_4a32_d192_ed03, FUZZ_INPUTS, |input| {
        all_messages(input, &ops)
    });
    eprintln!("message fuzz: {accepted} of {FUZZ_INPUTS} inputs decoded as a non-empty multi");
    assert!(
        accepted > FUZZ_INPUTS / 50,
        "only {accepted} inputs decoded as a non-empty multi"
    );
}

/// True when `input` is exactly one valid message: a complete frame, a request or response body
/// of an op that has one, or one of the handshake records.
fn decodes_exactly(input: &Bytes) -> bool {
    fn whole<T>(input: &Bytes, f: impl FnOnce(&mut Bytes) -> Result<T, DecodeError>) -> bool {
        let mut b = input.clone();
        f(&mut b).is_ok() && b.is_empty()
    }
    let mut buf = BytesMut::from(&input[..]);
    if let Ok(Some(frame)) = take_frame(&mut buf, DEFAULT_MAX_FRAME) {
        if buf.is_empty() {
            let mut frame = frame;
            if let Ok(h) = RequestHeader::decode(&mut frame) {
                return whole(&frame, |b| Request::decode(h.op, b));
            }
        }
    }
    for op in OpCode::ALL {
        let response_has_body = !matches!(
            Response::decode(op, &mut Bytes::new()),
            Ok(Response::Empty | Response::AddWatch)
        );
        let request_has_body = !matches!(
            Request::decode(op, &mut Bytes::new()),
            Ok(Request::WhoAmI | Request::Ping | Request::CloseSession)
        );
        if (response_has_body && whole(input, |b| Response::decode(op, b)))
            || (request_has_body && whole(input, |b| Request::decode(op, b)))
        {
            return true;
        }
    }
    whole(input, decode_connect_reply)
        || whole(input, ConnectRequest::decode)
        || whole(input, WatcherEvent::decode)
        || whole(input, Vec::<String>::decode)
}

#[test]
fn corpus_entries_are_valid_messages() {
    // Guards the fuzzer's usefulness: unmutated corpus entries must be exactly one valid
    // message, so mutations start from inputs that reach deep into the decoders.
    for entry in corpus() {
        let input = Bytes::from(entry);
        assert!(
            decodes_exactly(&input),
            "corpus entry decodes nowhere: {:02x?}",
            &input[..]
        );
    }
}

#[test]
fn xorshift_is_deterministic() {
    let mut a = XorShift(1);
    let mut b = XorShift(1);
    for _ in 0..100 {
        assert_eq!(a.next(), b.next());
    }
    assert_ne!(XorShift(1).next(), XorShift(2).next());
}
