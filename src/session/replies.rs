//! Frames from the server: replies matched strictly in order, watch events, and what a frame
//! that does not fit the stream does to the connection.

use super::*;

impl<C: Completer, W: WatchSink> Session<C, W> {
    /// One complete frame (without its length prefix) arrived.
    pub fn on_frame(&mut self, now: Instant, mut frame: Bytes) {
        self.last_recv = now;
        match self.phase {
            Phase::Handshaking { sent_at } => self.on_handshake(now, sent_at, &mut frame),
            Phase::Authenticating => self.on_sasl_frame(now, &mut frame),
            Phase::Connected | Phase::Closing => self.on_reply(now, &mut frame),
            _ => {}
        }
    }

    pub(super) fn on_reply(&mut self, now: Instant, frame: &mut Bytes) {
        let header = match ReplyHeader::decode(frame) {
            Ok(h) => h,
            Err(e) => return self.protocol_violation(now, format!("bad reply header: {e}")),
        };
        // Only a reply that fits the stream may move lastZxid: the zxid of an out-of-sync frame
        // is noise, and a too-high one would make every server refuse this client.
        let in_sync = match header.xid {
            xid::NOTIFICATION => true,
            // Replies to our own pings, credentials and watch re-registrations: only as many
            // as we sent. One more means the stream is not what we think it is.
            xid::PING => !self.pings.is_empty(),
            xid::AUTH => !self.auth_waiters.is_empty(),
            xid::SET_WATCHES => !self.set_watches_sent.is_empty(),
            x => self.inflight.front().is_some_and(|p| p.xid == x),
        };
        if in_sync && header.zxid > self.last_zxid {
            self.last_zxid = header.zxid;
        }
        if !in_sync && matches!(header.xid, xid::PING | xid::AUTH | xid::SET_WATCHES) {
            let msg = format!("unsolicited reply with xid {}", header.xid);
            return self.protocol_violation(now, msg);
        }
        if header.err == ErrorCode::SessionClosedRequireSaslAuth {
            // The server requires SASL and this connection did not do it (the client has no
            // SASL configured): it closes the connection, and every server of the ensemble
            // would do the same. Terminal, like a refused credential.
            crate::trace::debug!("server requires SASL authentication (err -124)");
            self.actions.push_back(Action::Disconnect);
            return self.terminate(Error::AuthFailed, SessionState::AuthFailed);
        }
        match header.xid {
            xid::NOTIFICATION => match WatcherEvent::decode(frame) {
                Ok(ev) if ev.type_ == crate::proto::watcher_event_type::NONE => {}
                Ok(ev) => self.watches.dispatch(&ev, &self.cfg.chroot),
                Err(e) => self.protocol_violation(now, format!("bad notification: {e}")),
            },
            xid::PING => {
                if let Some(sent) = self.pings.pop_front() {
                    self.anchor(sent, now);
                }
            }
            xid::AUTH => {
                let (sent, waiter) = self.auth_waiters.pop_front().unzip();
                let waiter = waiter.flatten();
                if header.err == ErrorCode::AuthFailed {
                    if let Some(w) = waiter {
                        w.complete(Err(Error::AuthFailed));
                    }
                    self.actions.push_back(Action::Disconnect);
                    self.terminate(Error::AuthFailed, SessionState::AuthFailed);
                } else {
                    if let Some(sent) = sent {
                        self.anchor(sent, now);
                    }
                    if let Some(w) = waiter {
                        w.complete(if header.err == ErrorCode::Ok {
                            Ok(Response::Empty)
                        } else {
                            Err(Error::from_code(header.err))
                        });
                    }
                }
            }
            xid::SET_WATCHES => {
                if let Some(sent) = self.set_watches_sent.pop_front() {
                    self.anchor(sent, now);
                }
            }
            x => self.on_user_reply(now, x, header.err, frame),
        }
    }

    /// A request sent at `sent` was answered at `now`: the server heard from us then.
    pub(super) fn anchor(&mut self, sent: Instant, now: Instant) {
        self.alive_anchor = Some(self.alive_anchor.map_or(sent, |a| a.max(sent)));
        let confirm_after = lease::forward_bound(self.timeout()) + self.cfg.server_sync_limit;
        self.lease.on_answer(sent, now, confirm_after);
    }

    pub(super) fn on_user_reply(&mut self, now: Instant, x: i32, err: ErrorCode, body: &mut Bytes) {
        if self.inflight.front().map(|p| p.xid) != Some(x) {
            let expected = self.inflight.front().map(|p| p.xid);
            return self.protocol_violation(now, format!("reply xid {x}, expected {expected:?}"));
        }
        let p = self.inflight.pop_front().expect("front checked");
        self.anchor(p.sent_at, now);
        if p.op == OpCode::CloseSession {
            return self.finish_close();
        }
        let result = if err != ErrorCode::Ok {
            if let (ErrorCode::NoNode, Some(w)) = (err, p.watch) {
                if p.op == OpCode::Exists {
                    self.watches.add(WatchKind::Exist, w.path, w.sink);
                }
            }
            Err(Error::from_code(err))
        } else {
            match Response::decode(p.op, body) {
                Ok(resp) => {
                    if let Some(w) = p.watch {
                        self.watches.add(w.kind, w.path, w.sink);
                    }
                    match p.remove.map(|b| *b) {
                        // A 3.8.0 server answers checkWatches with OK when any connection of
                        // that server watches the path: only this session's registry knows.
                        Some((path, t)) if p.op == OpCode::CheckWatches => {
                            if self.watches.contains(&path, t) {
                                Ok(resp)
                            } else {
                                Err(Error::Server(ErrorCode::NoWatcher))
                            }
                        }
                        Some((path, t)) => {
                            self.watches.remove(&path, t, &self.cfg.chroot);
                            Ok(resp)
                        }
                        None => Ok(resp),
                    }
                }
                Err(e) => {
                    let msg = format!("undecodable {:?} reply: {e}", p.op);
                    if let Some(c) = p.completer {
                        c.complete(Err(Error::Protocol(msg.clone())));
                    }
                    return self.protocol_violation(now, msg);
                }
            }
        };
        if let Some(c) = p.completer {
            c.complete(result);
        }
    }

    pub(super) fn protocol_violation(&mut self, now: Instant, why: String) {
        // The stream can no longer be trusted: drop it; the session itself may be fine. What
        // is in flight fails with ConnectionLoss; the reason is kept for the host (see
        // `unreachable`) and logged.
        self.drop_connection(now, ConnectionError::Protocol(why));
    }
}
