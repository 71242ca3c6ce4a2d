//! A connection's life: attempts, failures (and their causes, per host) and back-off, drops,
//! the timers (pings, read timeout, client-side expiry, request timeouts) and the probes that
//! leave a read-only server.

use super::*;

impl<C: Completer, W: WatchSink> Session<C, W> {
    /// Starts the first connection attempt.
    pub fn start(&mut self, now: Instant) {
        if self.phase == Phase::Idle {
            self.begin_attempt(now);
        }
    }

    pub(super) fn begin_attempt(&mut self, now: Instant) {
        self.epoch += 1;
        self.retry_at = None;
        self.phase = Phase::Connecting;
        self.attempt_started = now;
        self.attempt_deadline = Some(now + self.connect_timeout());
        let host = self.ring.next_host();
        crate::trace::debug!("connecting to {host}");
        self.host = Some(host.clone());
        self.actions.push_back(Action::Connect(host));
    }

    /// The connection attempt failed (refused, unreachable, name not resolved) for `reason`.
    pub fn on_connect_failed(&mut self, now: Instant, reason: ConnectionError) {
        if matches!(
            self.phase,
            Phase::Connecting | Phase::Handshaking { .. } | Phase::Authenticating
        ) {
            self.attempt_failed(now, reason);
        }
    }

    /// Records why the current connection or attempt ended, for [`Session::unreachable`].
    fn record_failure(&mut self, what: &str, reason: ConnectionError) {
        if let Some(host) = &self.host {
            crate::trace::debug!("{what} {host}: {reason}");
            self.ring.record(host, reason);
        }
    }

    pub(super) fn attempt_failed(&mut self, now: Instant, reason: ConnectionError) {
        self.record_failure("connection attempt failed on", reason);
        self.out.clear();
        self.sasl = None;
        self.attempt_deadline = None;
        self.phase = Phase::Idle;
        self.schedule_next_attempt(now);
    }

    /// After a failed attempt or a dropped connection: expire if the session is past saving,
    /// else try the next host at once, or after a back-off once a whole lap has failed.
    pub(super) fn schedule_next_attempt(&mut self, now: Instant) {
        if self.check_client_expiry(now) {
            return;
        }
        let backoff = self.ring.failed(&mut self.rng);
        if backoff.is_zero() {
            self.begin_attempt(now);
        } else {
            self.retry_at = Some(now + backoff);
        }
    }

    /// The connection dropped (EOF, IO error, or the driver gave up on a frame) for `reason`.
    /// The oldest in-flight request fails with [`Error::FrameTooLarge`] when that is the
    /// reason; everything else in flight fails with [`Error::ConnectionLoss`].
    pub fn on_connection_lost(&mut self, now: Instant, reason: ConnectionError) {
        match self.phase {
            Phase::Connecting | Phase::Handshaking { .. } | Phase::Authenticating => {
                self.attempt_failed(now, reason)
            }
            Phase::Connected => self.drop_connection(now, reason),
            Phase::Closing => self.finish_close(),
            Phase::Idle | Phase::Terminal => {}
        }
    }

    /// Drops an established connection for `reason`: fails what is in flight, reconnects to
    /// the next host.
    pub(super) fn drop_connection(&mut self, now: Instant, reason: ConnectionError) {
        let cause = reason.request_error();
        self.record_failure("connection lost to", reason);
        self.abandon_connection(now, cause);
        self.schedule_next_attempt(now);
    }

    /// Drops an established connection and fails what is in flight; the caller decides where
    /// to connect next.
    pub(super) fn abandon_connection(&mut self, now: Instant, cause: Error) {
        self.epoch += 1;
        self.rw_seeker.stop();
        self.actions.push_back(Action::Disconnect);
        self.out.clear();
        self.pings.clear();
        self.set_watches_sent.clear();
        self.lease.on_connection_lost();
        let mut first = Some(cause);
        while let Some(p) = self.inflight.pop_front() {
            let err = match first.take() {
                Some(e @ Error::FrameTooLarge { .. }) => e,
                _ => Error::ConnectionLoss,
            };
            if let Some(c) = p.completer {
                c.complete(Err(err));
            }
        }
        for w in self.auth_waiters.drain(..).filter_map(|(_, w)| w) {
            w.complete(Err(Error::ConnectionLoss));
        }
        self.phase = Phase::Idle;
        self.set_state(SessionState::Disconnected { since: now });
    }

    /// Declares the session expired when this client has not heard an answer for a request it
    /// sent within the whole negotiated timeout: by then the server may have expired it.
    pub(super) fn check_client_expiry(&mut self, now: Instant) -> bool {
        match self.expiry_deadline() {
            Some(d) if now >= d => {
                self.terminate(Error::SessionExpired, SessionState::Expired);
                true
            }
            _ => false,
        }
    }

    /// Time passed: ping, time out reads and attempts, retry, expire.
    pub fn on_timeout(&mut self, now: Instant) {
        self.expire_queued(now);
        match self.phase {
            Phase::Terminal => {}
            Phase::Idle => {
                if self.check_client_expiry(now) {
                    return;
                }
                if self.retry_at.is_some_and(|t| now >= t) {
                    self.begin_attempt(now);
                }
            }
            Phase::Connecting | Phase::Handshaking { .. } | Phase::Authenticating => {
                if let Some(deadline) = self.attempt_deadline.filter(|&t| now >= t) {
                    self.actions.push_back(Action::Disconnect);
                    let reason = self.attempt_timeout(deadline);
                    self.attempt_failed(now, reason);
                } else if self.expiry_deadline().is_some_and(|d| now >= d) {
                    // Abandon the attempt in progress: its socket must not outlive the session.
                    self.actions.push_back(Action::Disconnect);
                    self.check_client_expiry(now);
                }
            }
            Phase::Connected => {
                let t = self.timeout();
                // No answer to anything sent in the last session timeout: the server may have
                // expired us even if other frames kept arriving (a one-way partition with watch
                // events flowing). drop_connection declares the expiry (unless the session
                // is one that is replaced, not resumed: then the client just moves on).
                if self.answer_deadline().is_some_and(|d| now >= d) {
                    self.drop_connection(now, ConnectionError::Unanswered(t));
                } else if now >= self.last_recv + t * 2 / 3 {
                    self.drop_connection(now, ConnectionError::ReadTimeout(t * 2 / 3));
                } else {
                    if now >= self.last_ping + ping_interval(t) {
                        encode_request_frame(&mut self.out, xid::PING, &Request::Ping);
                        self.pings.push_back(now);
                        self.last_ping = now;
                    }
                    if self.rw_seeker.due(now) {
                        self.probe_for_read_write();
                    }
                }
            }
            Phase::Closing => {
                if self.close_deadline.is_some_and(|t| now >= t) {
                    self.finish_close();
                }
            }
        }
    }

    /// Asks the driver to probe the next host other than the current one.
    pub(super) fn probe_for_read_write(&mut self) {
        let mut host = self.ring.next_host();
        if Some(&host) == self.host.as_ref() {
            host = self.ring.next_host();
        }
        self.rw_seeker.probe_started(self.epoch);
        self.actions.push_back(Action::ProbeReadWrite {
            host,
            timeout: self.connect_timeout(),
            epoch: self.epoch,
        });
    }

    /// The answer to [`Action::ProbeReadWrite`] taken at `epoch`: whether `host` serves
    /// read-write. If it does, the session leaves its read-only server for it (requests in
    /// flight fail with [`Error::ConnectionLoss`], as on any reconnect); if not, the next probe
    /// comes later.
    pub fn on_probe_result(&mut self, now: Instant, epoch: u64, host: &HostPort, read_write: bool) {
        let on_read_only = self.phase == Phase::Connected
            && self.state == SessionState::ConnectedReadOnly
            && epoch == self.epoch
            && self.rw_seeker.awaits(epoch);
        if !on_read_only {
            return;
        }
        if !read_write {
            self.rw_seeker.probe_failed(now);
            return;
        }
        crate::trace::debug!("{host} serves read-write: leaving the read-only server");
        self.abandon_connection(now, Error::ConnectionLoss);
        self.ring.point_at(host);
        self.begin_attempt(now);
    }

    pub(super) fn expire_queued(&mut self, now: Instant) {
        let Some(rt) = self.cfg.request_timeout else {
            return;
        };
        while self.queued.front().is_some_and(|q| now >= q.queued_at + rt) {
            let q = self.queued.pop_front().expect("front checked");
            q.completer.complete(Err(Error::Timeout));
        }
    }

    /// What the attempt under way has got to by `until`, as the timeout it amounts to.
    fn attempt_timeout(&self, until: Instant) -> ConnectionError {
        let ran = until.saturating_duration_since(self.attempt_started);
        match self.phase {
            // The SASL exchange is part of the handshake.
            Phase::Handshaking { .. } | Phase::Authenticating => {
                ConnectionError::HandshakeTimeout(ran)
            }
            _ => ConnectionError::ConnectTimeout(ran),
        }
    }

    /// Why no session could be established (for `connect` giving up after `waited`): every
    /// host in connection order with what ended its last attempt. An attempt still under way
    /// on a host that has not failed before counts as the timeout it has run into so far.
    pub fn unreachable(&self, now: Instant, waited: Duration) -> Unreachable {
        let mut hosts = self.ring.attempts();
        let latest = self.host.as_ref().and_then(|h| self.ring.position(h));
        let attempting = matches!(
            self.phase,
            Phase::Connecting | Phase::Handshaking { .. } | Phase::Authenticating
        );
        if let (Some(i), true) = (latest, attempting) {
            hosts[i]
                .error
                .get_or_insert_with(|| self.attempt_timeout(now));
        }
        Unreachable::new(waited, hosts, latest)
    }
}
