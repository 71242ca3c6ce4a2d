//! Requests from the user: xids, sending or queueing, closing the session, and the terminal
//! state that fails everything.

use super::*;

impl<C: Completer, W: WatchSink> Session<C, W> {
    /// Submits a request with client-visible paths already mapped to server paths (see
    /// [`Chroot::apply`]). `watch` asks for a registration if the reply allows it: `Data` for
    /// `getData` (and `exists`, which registers `Exist` instead on NoNode), `Child` for
    /// `getChildren`, the persistent kinds for `addWatch`.
    pub fn submit(
        &mut self,
        now: Instant,
        request: Request,
        watch: Option<(WatchKind, W)>,
        completer: C,
    ) {
        if let Some(err) = &self.terminal_error {
            return completer.complete(Err(err.clone()));
        }
        if self.phase == Phase::Closing {
            return completer.complete(Err(Error::Closed));
        }
        if let Request::Auth(a) = &request {
            // Remembered so it is re-sent after every reconnect.
            self.cfg.auth.push((a.scheme.clone(), a.auth.clone()));
            if self.phase == Phase::Connected {
                let Request::Auth(a) = request else {
                    unreachable!()
                };
                self.write_auth(a.scheme, a.auth);
                self.auth_waiters.push_back((now, Some(completer)));
            } else {
                // Sent with the other credentials once connected.
                completer.complete(Ok(Response::Empty));
            }
            return;
        }
        match self.phase {
            Phase::Connected => self.send(now, request, watch, completer),
            _ => {
                if self.queued.len() >= self.cfg.max_queued {
                    return completer.complete(Err(Error::QueueFull(self.queued.len())));
                }
                self.queued.push_back(Queued {
                    request,
                    watch,
                    completer,
                    queued_at: now,
                });
            }
        }
    }

    pub(super) fn next_xid(&mut self) -> i32 {
        let x = self.next_xid;
        self.next_xid = if x == i32::MAX { 1 } else { x + 1 };
        x
    }

    pub(super) fn send(
        &mut self,
        now: Instant,
        request: Request,
        watch: Option<(WatchKind, W)>,
        completer: C,
    ) {
        let x = self.next_xid();
        let start = self.out.len();
        encode_request_frame(&mut self.out, x, &request);
        // The server drops the connection, without a word, on a frame above jute.maxbuffer:
        // refuse such a request here, with an error that says why, and keep the connection.
        let len = self.out.len() - start - 4;
        if len > crate::proto::DEFAULT_MAX_BUFFER {
            self.out.truncate(start);
            return completer.complete(Err(Error::FrameTooLarge {
                len,
                max: crate::proto::DEFAULT_MAX_BUFFER,
            }));
        }
        let path = || request.path().unwrap_or("/").to_string();
        let watch = watch.map(|(kind, sink)| {
            Box::new(PendingWatch {
                kind,
                path: path(),
                sink,
            })
        });
        let remove = match &request {
            Request::RemoveWatches(r) | Request::CheckWatches(r) => {
                Some(Box::new((r.path.clone(), r.type_)))
            }
            _ => None,
        };
        self.inflight.push_back(InFlight {
            xid: x,
            op: request.op_code(),
            sent_at: now,
            watch,
            remove,
            completer: Some(completer),
        });
    }

    /// Closes the session: sends closeSession if connected (so the server removes ephemeral
    /// nodes at once) and waits for its reply up to a short deadline; fails queued requests
    /// with [`Error::Closed`].
    pub fn close(&mut self, now: Instant) {
        for q in self.queued.drain(..) {
            q.completer.complete(Err(Error::Closed));
        }
        match self.phase {
            Phase::Connected => {
                let x = self.next_xid();
                encode_request_frame(&mut self.out, x, &Request::CloseSession);
                self.inflight.push_back(InFlight {
                    xid: x,
                    op: OpCode::CloseSession,
                    sent_at: now,
                    watch: None,
                    remove: None,
                    completer: None,
                });
                self.phase = Phase::Closing;
                self.close_deadline = Some(now + (self.timeout() / 3).min(Duration::from_secs(2)));
            }
            Phase::Closing | Phase::Terminal => {}
            _ => {
                self.actions.push_back(Action::Disconnect);
                self.terminate(Error::Closed, SessionState::Closed);
            }
        }
    }

    pub(super) fn finish_close(&mut self) {
        self.actions.push_back(Action::Disconnect);
        self.terminate(Error::Closed, SessionState::Closed);
    }

    /// Enters a terminal state: fails everything pending and every watch with `err`.
    pub(super) fn terminate(&mut self, err: Error, state: SessionState) {
        crate::trace::debug!("session 0x{:x} ended: {err}", self.session_id);
        self.epoch += 1;
        self.rw_seeker.stop();
        self.phase = Phase::Terminal;
        self.out.clear();
        self.attempt_deadline = None;
        self.retry_at = None;
        self.close_deadline = None;
        self.pings.clear();
        self.set_watches_sent.clear();
        for p in self.inflight.drain(..) {
            if let Some(c) = p.completer {
                c.complete(Err(err.clone()));
            }
        }
        for q in self.queued.drain(..) {
            q.completer.complete(Err(err.clone()));
        }
        for w in self.auth_waiters.drain(..).filter_map(|(_, w)| w) {
            w.complete(Err(err.clone()));
        }
        self.watches.fail_all(&err);
        self.terminal_error = Some(err);
        self.set_state(state);
    }

    /// The error every call fails with once the session is terminal.
    #[cfg(test)]
    pub fn terminal_error(&self) -> Option<&Error> {
        self.terminal_error.as_ref()
    }
}
