//! The handshake: what a ConnectRequest asks for, and what a ConnectResponse means (a new,
//! resumed, replaced or expired session; a read-only server), then credentials, watches and
//! queued requests in that order.

use super::*;

impl<C: Completer, W: WatchSink> Session<C, W> {
    /// The TCP connection asked for by [`Action::Connect`] is up: send the handshake.
    pub fn on_connected(&mut self, now: Instant) {
        if self.phase != Phase::Connecting {
            return;
        }
        self.out.clear();
        let (session_id, passwd) = self.handshake_session();
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: self.last_zxid,
            time_out: ms(self.cfg.session_timeout),
            session_id,
            passwd,
            read_only: self.cfg.read_only,
        };
        encode_connect_frame(&mut self.out, &req);
        self.phase = Phase::Handshaking { sent_at: now };
        self.last_ping = now;
        self.last_recv = now;
    }

    /// The session id and password a handshake asks for: none (a new session) until a
    /// read-write server has seen this one, since only read-write servers know sessions beyond
    /// their own (see `read_only`).
    pub(super) fn handshake_session(&self) -> (i64, Bytes) {
        if self.resumes_session() {
            (self.session_id, self.passwd.clone())
        } else {
            (0, Bytes::from_static(&[0u8; 16]))
        }
    }

    pub(super) fn on_handshake(&mut self, now: Instant, sent_at: Instant, frame: &mut Bytes) {
        let resp = match decode_connect_reply(frame) {
            Ok(ConnectReply::Accepted(r)) => r,
            // A read-only server refusing us, or garbage: try the next host.
            Ok(ConnectReply::Rejected(header)) => {
                return self.handshake_failed(now, ConnectionError::Refused(header.err))
            }
            Err(e) => {
                let why = format!("undecodable handshake answer: {e}");
                return self.handshake_failed(now, ConnectionError::Protocol(why));
            }
        };
        let (asked, _) = self.handshake_session();
        let resumed_other = asked != 0 && resp.session_id != asked;
        if resp.time_out <= 0 || resp.session_id == 0 || resumed_other {
            self.actions.push_back(Action::Disconnect);
            self.terminate(Error::SessionExpired, SessionState::Expired);
            return;
        }
        if asked == 0 && self.session_id != 0 && resp.session_id != self.session_id {
            // A new session replaces a read-only one: the old one's liveness says nothing.
            self.alive_anchor = None;
            self.lease.reset();
        }
        self.session_id = resp.session_id;
        self.passwd = resp.passwd;
        self.negotiated = Some(Duration::from_millis(resp.time_out as u64));
        self.alive_anchor = Some(self.alive_anchor.map_or(sent_at, |a| a.max(sent_at)));
        self.lease.on_handshake(sent_at);
        self.ring.succeeded();
        crate::trace::debug!(
            "session 0x{:x} on {} (timeout {}ms, read-only: {})",
            resp.session_id,
            self.host.as_ref().map_or(String::new(), |h| h.to_string()),
            resp.time_out,
            resp.read_only
        );
        match self.cfg.sasl.clone() {
            // The attempt's deadline still runs: SASL is part of the handshake.
            Some(sasl) => self.start_sasl(now, &sasl, resp.read_only),
            None => self.established(now, resp.read_only),
        }
    }

    /// The session is established on this connection (after SASL, if configured): publish the
    /// state, then send credentials, watches and queued requests.
    pub(super) fn established(&mut self, now: Instant, read_only: bool) {
        self.attempt_deadline = None;
        self.phase = Phase::Connected;
        if read_only {
            self.set_state(SessionState::ConnectedReadOnly);
            if self.ring.len() > 1 {
                self.rw_seeker.start(now);
            }
        } else {
            self.seen_read_write = true;
            self.rw_seeker.stop();
            self.set_state(SessionState::Connected);
        }
        // Order matters: credentials first (so re-registered watches pass ACL checks), then
        // watches (so no event between the two is missed), then queued requests.
        for (scheme, auth) in self.cfg.auth.clone() {
            self.write_auth(scheme, auth);
            self.auth_waiters.push_back((now, None));
        }
        for batch in self.watches.set_watches_batches(self.last_zxid) {
            let req = match batch {
                SetWatchesBatch::V1(b) => Request::SetWatches(b),
                SetWatchesBatch::V2(b) => Request::SetWatches2(b),
            };
            encode_request_frame(&mut self.out, xid::SET_WATCHES, &req);
            self.set_watches_sent.push_back(now);
        }
        while let Some(q) = self.queued.pop_front() {
            self.send(now, q.request, q.watch, q.completer);
        }
        self.last_ping = now;
    }

    fn handshake_failed(&mut self, now: Instant, reason: ConnectionError) {
        self.actions.push_back(Action::Disconnect);
        self.attempt_failed(now, reason);
    }

    pub(super) fn write_auth(&mut self, scheme: String, auth: Bytes) {
        let req = Request::Auth(AuthPacket {
            type_: 0,
            scheme,
            auth,
        });
        encode_request_frame(&mut self.out, xid::AUTH, &req);
    }
}
