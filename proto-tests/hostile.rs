//! A hostile in-process fake server: whatever it sends, the client reports an error (connect
//! fails, or the call fails with ConnectionLoss / FrameTooLarge / Protocol), never panics and
//! never hangs, and recovers when the next connection behaves.

use crate::fake::*;
use bytes::{Bytes, BytesMut};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use zksync::proto::{encode_frame_with, xid, ConnectResponse, Encode, ReplyHeader};
use zksync::{Client, Error, ErrorCode, SessionState};
use zksync_test_support::*;

/// Connecting to `fake` fails with `Unreachable`, whose message names the fake's address and
/// `cause` (what the fake did).
async fn assert_connect_fails(fake: &Fake, what: &str, cause: &str) {
    let panics = panics_on_this_thread();
    let r = within(what, opts().connect(&fake.hosts())).await;
    match &r {
        Err(Error::Unreachable(u)) => {
            let msg = u.to_string();
            let said = format!("{}: {cause}", fake.hosts());
            assert!(
                msg.contains(&said),
                "{what}: {msg:?} should contain {said:?}"
            );
        }
        other => panic!("{what}: expected the connect to fail, got {other:?}"),
    }
    assert!(fake.accepted() >= 1, "{what}: the client never connected");
    assert_eq!(panics_on_this_thread(), panics, "{what}: a task panicked");
}

#[tokio::test]
async fn garbage_instead_of_a_connect_response() {
    // (what the server sends, the bytes, the cause the client reports)
    let undecodable = "protocol violation: undecodable handshake answer";
    let too_large = "frame of 2147483647 bytes exceeds the limit";
    let closed = "the server closed the connection";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "text",
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(),
            "frame of 1213486160 bytes exceeds the limit",
        ),
        ("short frame", frame(b"hello"), undecodable),
        ("empty frame", frame(b""), undecodable),
        (
            "lying password length",
            {
                let mut v = vec![0u8; 8];
                v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
                v.extend_from_slice(&0x7fff_ffffi32.to_be_bytes());
                v.extend_from_slice(&[0; 16]);
                frame(&v)
            },
            undecodable,
        ),
        (
            "oversized length",
            0x7fff_ffffi32.to_be_bytes().to_vec(),
            too_large,
        ),
        (
            "negative length",
            (-5i32).to_be_bytes().to_vec(),
            "protocol violation: negative frame length -5",
        ),
        (
            "truncated frame, then close",
            {
                let mut v = 37i32.to_be_bytes().to_vec();
                v.extend_from_slice(&[0; 10]);
                v
            },
            closed,
        ),
        ("close without a word", vec![], closed),
    ];
    // All at once: each case waits for its connect to give up.
    let mut set = tokio::task::JoinSet::new();
    for (what, bytes, cause) in cases {
        let bytes = Arc::new(bytes);
        set.spawn(async move {
            let fake = Fake::start(move |_, mut s| {
                let bytes = bytes.clone();
                async move {
                    if read_connect(&mut s).await.is_some() {
                        let _ = s.write_all(&bytes).await;
                    }
                }
            })
            .await;
            assert_connect_fails(&fake, what, cause).await;
        });
    }
    while let Some(r) = set.join_next().await {
        if let Err(e) = r {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

#[tokio::test]
async fn handshake_never_answered() {
    let fake = Fake::start(|_, s| hold(s)).await;
    let cause = "connected, but no answer to the handshake within 500ms";
    assert_connect_fails(&fake, "silent server", cause).await;
    assert!(
        fake.accepted() >= 2,
        "the client retried after each connect timeout"
    );
}

#[tokio::test]
async fn read_only_rejection_header() {
    let fake = Fake::start(|_, mut s| async move {
        if read_connect(&mut s).await.is_some() {
            let mut b = BytesMut::new();
            ReplyHeader {
                xid: 0,
                zxid: 0,
                err: ErrorCode::NotReadOnly,
            }
            .encode(&mut b);
            let _ = s.write_all(&frame(&b)).await;
            hold(s).await;
        }
    })
    .await;
    let cause = "the server refused the session: NotReadOnly (-119)";
    assert_connect_fails(&fake, "not read-only", cause).await;
}

#[tokio::test]
async fn expired_session_in_the_handshake() {
    let panics = panics_on_this_thread();
    let fake = Fake::start(|_, mut s| async move {
        if read_connect(&mut s).await.is_some() {
            let resp = ConnectResponse {
                passwd: Bytes::from_static(&[0; 16]),
                ..Default::default()
            };
            let mut b = BytesMut::new();
            encode_frame_with(&mut b, |b| resp.encode(b));
            let _ = s.write_all(&b).await;
            // The server answers, then closes at once: the answer must still count.
        }
    })
    .await;
    let r = within("connect", opts().connect(&fake.hosts())).await;
    assert_eq!(r.map(|_| ()), Err(Error::SessionExpired));
    assert_eq!(fake.accepted(), 1, "an expired session is final");
    assert_eq!(panics_on_this_thread(), panics);
}

/// What the first connection does after the handshake, when the client's first request came.
type Misbehaviour = fn(i32) -> Vec<u8>;

/// Runs one misbehaviour on the first connection (with a valid handshake), a well-behaved
/// server on every later one; checks the failing call's error, then that the client recovers.
async fn misbehave_after_handshake(
    what: &str,
    get_data: bool,
    bad: Misbehaviour,
    expect: fn(&Error) -> bool,
) {
    let panics = panics_on_this_thread();
    let fake = Fake::start(move |n, mut s| async move {
        if n > 0 {
            return serve_well(s).await;
        }
        if handshake(&mut s).await.is_none() {
            return;
        }
        if let Some((x, _)) = read_request(&mut s).await {
            let _ = s.write_all(&bad(x)).await;
            let _ = s.flush().await;
        }
        // Close (dropping the stream) unless the bytes themselves end the connection.
    })
    .await;
    let c: Client = within(what, opts().connect(&fake.hosts())).await.unwrap();
    let sid = c.session_id();
    assert_eq!(sid, FAKE_SESSION);
    let r = if get_data {
        within(what, c.get_data("/x")).await.map(|_| ())
    } else {
        within(what, c.exists("/x")).await.map(|_| ())
    };
    match &r {
        Err(e) if expect(e) => {}
        other => panic!("{what}: unexpected result {other:?}"),
    }
    // Recovers on the next (well-behaved) connection, same session.
    assert_eq!(within(what, c.exists("/x")).await, Ok(None), "{what}");
    assert_eq!(c.session_id(), sid);
    assert!(c.state().is_connected());
    assert_eq!(fake.accepted(), 2, "{what}: exactly one reconnect");
    within(what, c.close()).await;
    assert_eq!(c.state(), SessionState::Closed);
    assert_eq!(panics_on_this_thread(), panics, "{what}: a task panicked");
}

fn conn_loss(e: &Error) -> bool {
    matches!(e, Error::ConnectionLoss | Error::Protocol(_))
}

#[tokio::test]
async fn reply_with_the_wrong_xid() {
    misbehave_after_handshake(
        "wrong xid",
        false,
        |x| reply(x + 100, ErrorCode::Ok, &[]),
        conn_loss,
    )
    .await;
}

#[tokio::test]
async fn reply_with_an_oversized_length() {
    misbehave_after_handshake(
        "oversized length",
        false,
        |_| 0x7fff_fff0i32.to_be_bytes().to_vec(),
        |e| {
            matches!(
                e,
                Error::FrameTooLarge {
                    len: 0x7fff_fff0,
                    ..
                }
            )
        },
    )
    .await;
}

#[tokio::test]
async fn reply_with_a_negative_length() {
    misbehave_after_handshake(
        "negative length",
        false,
        |_| (-1i32).to_be_bytes().to_vec(),
        conn_loss,
    )
    .await;
}

#[tokio::test]
async fn close_in_the_middle_of_a_frame() {
    misbehave_after_handshake(
        "mid-frame close",
        false,
        |x| {
            let mut v = reply(x, ErrorCode::Ok, &[0; 68]);
            v.truncate(30);
            v
        },
        conn_loss,
    )
    .await;
}

#[tokio::test]
async fn close_without_a_reply() {
    misbehave_after_handshake(
        "no reply",
        false,
        |_| vec![],
        |e| *e == Error::ConnectionLoss,
    )
    .await;
}

#[tokio::test]
async fn reply_body_that_does_not_decode() {
    // getData's reply must hold a buffer and a 68-byte Stat; three bytes are not that.
    misbehave_after_handshake(
        "undecodable body",
        true,
        |x| reply(x, ErrorCode::Ok, &[1, 2, 3]),
        |e| matches!(e, Error::Protocol(_)),
    )
    .await;
}

#[tokio::test]
async fn truncated_reply_header() {
    misbehave_after_handshake(
        "short header",
        false,
        |_| frame(&[0, 0, 0, 1, 0]),
        conn_loss,
    )
    .await;
}

#[tokio::test]
async fn garbage_notification_before_the_reply() {
    misbehave_after_handshake(
        "bad notification",
        false,
        |x| {
            let mut v = reply(xid::NOTIFICATION, ErrorCode::Ok, &[0xff, 0xff]);
            v.extend(reply(x, ErrorCode::NoNode, &[]));
            v
        },
        conn_loss,
    )
    .await;
}

#[tokio::test]
async fn unknown_error_code_is_a_server_error_not_a_crash() {
    let panics = panics_on_this_thread();
    let fake = Fake::start(|_, mut s| async move {
        if handshake(&mut s).await.is_none() {
            return;
        }
        while let Some((x, op)) = read_request(&mut s).await {
            let err = if x < 0 || op == -11 {
                ErrorCode::Ok
            } else {
                ErrorCode::from_i32(-999)
            };
            if s.write_all(&reply(x, err, &[])).await.is_err() {
                return;
            }
        }
    })
    .await;
    let c = within("connect", opts().connect(&fake.hosts()))
        .await
        .unwrap();
    let r = within("call", c.get_data("/x")).await;
    assert!(
        matches!(r, Err(Error::Server(code)) if code.as_i32() == -999),
        "{r:?}"
    );
    assert!(c.state().is_connected());
    c.close().await;
    assert_eq!(panics_on_this_thread(), panics);
}

#[tokio::test]
async fn unsolicited_notifications_and_dribbled_bytes() {
    let panics = panics_on_this_thread();
    let fake = Fake::start(|_, mut s| async move {
        let Some(req) = read_connect(&mut s).await else {
            return;
        };
        // The handshake answer one byte at a time.
        for b in connect_response(&req) {
            if s.write_all(&[b]).await.is_err() || s.flush().await.is_err() {
                return;
            }
            tokio::task::yield_now().await;
        }
        while let Some((x, op)) = read_request(&mut s).await {
            // A flood of notifications nobody asked for, then the reply, dribbled.
            let mut out = Vec::new();
            for i in 0..5000 {
                let mut body = BytesMut::new();
                1i32.encode(&mut body); // NodeCreated
                3i32.encode(&mut body); // SyncConnected
                format!("/unwatched/{i}").as_str().encode(&mut body);
                out.extend(reply(xid::NOTIFICATION, ErrorCode::Ok, &body));
            }
            if s.write_all(&out).await.is_err() {
                return;
            }
            let err = if x < 0 || op == -11 {
                ErrorCode::Ok
            } else {
                ErrorCode::NoNode
            };
            for b in reply(x, err, &[]) {
                if s.write_all(&[b]).await.is_err() || s.flush().await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
            if op == -11 {
                return;
            }
        }
    })
    .await;
    let c = within("connect", opts().connect(&fake.hosts()))
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(within("exists", c.exists("/x")).await, Ok(None));
    }
    assert_eq!(fake.accepted(), 1, "no reconnect");
    c.close().await;
    assert_eq!(panics_on_this_thread(), panics);
}

#[tokio::test]
async fn reply_when_nothing_was_asked() {
    let panics = panics_on_this_thread();
    let fake = Fake::start(|n, mut s| async move {
        if n > 0 {
            return serve_well(s).await;
        }
        if handshake(&mut s).await.is_none() {
            return;
        }
        // An answer to a request never made: the stream cannot be trusted any more.
        let _ = s.write_all(&reply(42, ErrorCode::Ok, &[])).await;
        hold(s).await;
    })
    .await;
    let c = within("connect", opts().connect(&fake.hosts()))
        .await
        .unwrap();
    // Either the call raced the bogus reply and lost its connection, or it went to the next one.
    let r = within("exists", c.exists("/x")).await;
    assert!(matches!(r, Ok(None) | Err(Error::ConnectionLoss)), "{r:?}");
    assert_eq!(within("exists", c.exists("/x")).await, Ok(None));
    assert_eq!(fake.accepted(), 2);
    c.close().await;
    assert_eq!(panics_on_this_thread(), panics);
}

#[tokio::test]
async fn panic_probe_sees_panics_of_spawned_tasks() {
    // The probe the tests above rely on: a panic inside a task spawned on the test's runtime
    // (where the client's driver runs) is counted although tokio swallows it.
    let before = panics_on_this_thread();
    let r = tokio::spawn(async { panic!("deliberate panic to check the probe") }).await;
    assert!(r.is_err());
    assert_eq!(panics_on_this_thread(), before + 1);
}

#[tokio::test]
async fn auth_failure_answer_followed_by_close() {
    // The server's last words before closing must be heard: AUTHFAILED, then EOF.
    let panics = panics_on_this_thread();
    let fake = Fake::start(|_, mut s| async move {
        if handshake(&mut s).await.is_none() {
            return;
        }
        while let Some((x, _)) = read_request(&mut s).await {
            if x == xid::AUTH {
                let _ = s.write_all(&reply(x, ErrorCode::AuthFailed, &[])).await;
                return;
            }
            if s.write_all(&reply(x, ErrorCode::NoNode, &[]))
                .await
                .is_err()
            {
                return;
            }
        }
    })
    .await;
    let c = within("connect", opts().connect(&fake.hosts()))
        .await
        .unwrap();
    assert_eq!(
        within("add_auth", c.add_auth("digest", b"u:p")).await,
        Err(Error::AuthFailed)
    );
    assert_eq!(c.state(), SessionState::AuthFailed);
    assert_eq!(c.exists("/x").await, Err(Error::AuthFailed));
    assert_eq!(fake.accepted(), 1);
    assert_eq!(panics_on_this_thread(), panics);
}

#[tokio::test]
async fn server_goes_silent_after_the_handshake() {
    // No reply, no ping answer: the client's read timeout (2/3 of the 4 s session) drops the
    // connection, the pending call fails with ConnectionLoss, and the next server is used.
    let panics = panics_on_this_thread();
    let fake = Fake::start(|n, mut s| async move {
        if n > 0 {
            return serve_well(s).await;
        }
        if handshake(&mut s).await.is_some() {
            hold(s).await;
        }
    })
    .await;
    let c = within("connect", opts().connect(&fake.hosts()))
        .await
        .unwrap();
    assert_eq!(
        within("silent call", c.exists("/x")).await,
        Err(Error::ConnectionLoss)
    );
    assert_eq!(within("next call", c.exists("/x")).await, Ok(None));
    assert_eq!(c.session_id(), FAKE_SESSION);
    assert_eq!(fake.accepted(), 2);
    c.close().await;
    assert_eq!(panics_on_this_thread(), panics);
}

#[tokio::test]
async fn deep_pipeline_still_gets_a_lone_late_reply() {
    // With hundreds of requests in flight the client lets replies accumulate in the socket
    // (a raised receive low-water mark) to save wake-ups. A server that then answers only one
    // more request must still have that reply delivered: the client lowers the mark after a
    // moment. Without that fallback the second call below would wait forever.
    const DEPTH: usize = 300;
    let panics = panics_on_this_thread();
    let permits = Arc::new(tokio::sync::Semaphore::new(0));
    let server_permits = permits.clone();
    let fake = Fake::start(move |_, mut s| {
        let permits = server_permits.clone();
        async move {
            if handshake(&mut s).await.is_none() {
                return;
            }
            let mut xids = Vec::new();
            while xids.len() < DEPTH {
                match read_request(&mut s).await {
                    Some((x, _)) if x >= 0 => xids.push(x),
                    Some((x, _)) => {
                        let _ = s.write_all(&reply(x, ErrorCode::Ok, &[])).await;
                    }
                    None => return,
                }
            }
            for x in xids {
                let Ok(p) = permits.acquire().await else {
                    return;
                };
                p.forget();
                if s.write_all(&reply(x, ErrorCode::NoNode, &[]))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            hold(s).await;
        }
    })
    .await;
    let c = within("connect", opts().connect(&fake.hosts()))
        .await
        .unwrap();
    let (done, mut replies) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..DEPTH {
        let (c, done) = (c.clone(), done.clone());
        tokio::spawn(async move { done.send(c.exists("/x").await) });
    }
    // The first reply arrives while nothing is held back; the second after the client has
    // seen 299 requests in flight and raised the mark.
    for n in 0..2 {
        permits.add_permits(1);
        let r = within("a lone reply", replies.recv()).await;
        assert_eq!(r, Some(Ok(None)), "reply {n}");
    }
    permits.add_permits(DEPTH - 2);
    for _ in 2..DEPTH {
        assert_eq!(within("the rest", replies.recv()).await, Some(Ok(None)));
    }
    assert!(c.state().is_connected());
    c.close().await;
    assert_eq!(panics_on_this_thread(), panics);
}
