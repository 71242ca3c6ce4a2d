//! SASL in the handshake: after the ConnectResponse and before anything else (credentials,
//! SetWatches, queued requests), on every connection, the session runs a SASL exchange through
//! the protocol's `sasl` packets (op 102, ordinary xids, one token each way per round; see
//! `proto::GetSaslRequest`). The mechanism is pluggable ([`SaslMechanism`]); the crate ships
//! DIGEST-MD5 (feature `sasl`, `digest_md5`) and GSSAPI, i.e. Kerberos V5 (feature `gssapi`,
//! `gssapi`).
//!
//! While the exchange runs the phase is `Authenticating`: the session is not yet published as
//! connected, user requests stay queued, and the connect timeout of the attempt still runs (a
//! server that stops answering mid-exchange is left for the next one). The server answers a
//! failed exchange with AUTHFAILED (-115), or SESSIONCLOSEDREQUIRESASLAUTH (-124) when it
//! requires SASL, and closes the connection: the session becomes terminal with
//! [`Error::AuthFailed`], since another server would refuse the same credentials. A mechanism
//! that cannot go on (a challenge it cannot parse, a server proof that does not verify) ends
//! the session the same way.

use super::*;
use std::fmt;
use std::sync::Arc;

/// What a mechanism wants next after reading the server's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslStep {
    /// Send this token and wait for the server's next one.
    Send(Bytes),
    /// The exchange is complete (and the server, where the mechanism proves it, verified).
    Done,
}

/// The client side of one SASL mechanism, for one exchange (a new one per connection).
///
/// The session sends [`SaslMechanism::initial_response`], then feeds every server token to
/// [`SaslMechanism::step`] until it returns [`SaslStep::Done`]. An `Err` ends the session with
/// [`Error::AuthFailed`]; its text goes to the debug log.
pub trait SaslMechanism: Send {
    /// The mechanism's name, e.g. `DIGEST-MD5`.
    fn name(&self) -> &'static str;
    /// The first token (empty for mechanisms without an initial response, like DIGEST-MD5).
    fn initial_response(&mut self) -> Result<Bytes, String>;
    /// Reads the server's token and says what to do next.
    fn step(&mut self, server_token: &[u8]) -> Result<SaslStep, String>;
}

/// A mechanism factory: given the host name of the server being connected to (as the connect
/// string names it), a fresh mechanism for one exchange.
type NewMechanism = dyn Fn(&str) -> Box<dyn SaslMechanism> + Send + Sync;

/// Makes a fresh mechanism for each connection; `Debug` shows the label only (never secrets).
#[derive(Clone)]
pub struct SaslConfig {
    label: String,
    new: Arc<NewMechanism>,
}

impl SaslConfig {
    /// A configuration whose exchanges use mechanisms made by `new` (from the server's host
    /// name, which GSSAPI needs for the service principal); `label` is what `Debug` shows (a
    /// mechanism and user name, say).
    pub fn new(
        label: impl Into<String>,
        new: impl Fn(&str) -> Box<dyn SaslMechanism> + Send + Sync + 'static,
    ) -> Self {
        SaslConfig {
            label: label.into(),
            new: Arc::new(new),
        }
    }
}

impl fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SaslConfig({})", self.label)
    }
}

/// The exchange under way on the current connection.
pub(super) struct SaslRun {
    mech: Box<dyn SaslMechanism>,
    /// The xid of the packet whose answer is awaited, and when it was sent.
    xid: i32,
    sent_at: Instant,
    /// What the ConnectResponse said, applied once the exchange is done.
    read_only: bool,
}

impl<C: Completer, W: WatchSink> Session<C, W> {
    /// The ConnectResponse accepted the session: start the exchange.
    pub(super) fn start_sasl(&mut self, now: Instant, cfg: &SaslConfig, read_only: bool) {
        let host = self.host.as_ref().map_or("", |h| h.host.as_str());
        let mut mech = (cfg.new)(host);
        crate::trace::debug!("SASL {} as {}", mech.name(), cfg.label);
        self.phase = Phase::Authenticating;
        match mech.initial_response() {
            Ok(token) => {
                let xid = self.send_sasl(token);
                self.sasl = Some(SaslRun {
                    mech,
                    xid,
                    sent_at: now,
                    read_only,
                });
            }
            Err(why) => self.sasl_failed(&why),
        }
    }

    fn send_sasl(&mut self, token: Bytes) -> i32 {
        let x = self.next_xid();
        let req = Request::Sasl(crate::proto::GetSaslRequest { token });
        encode_request_frame(&mut self.out, x, &req);
        x
    }

    /// A frame while authenticating: the answer to the last SASL packet, or the end.
    pub(super) fn on_sasl_frame(&mut self, now: Instant, frame: &mut Bytes) {
        let header = match ReplyHeader::decode(frame) {
            Ok(h) => h,
            Err(e) => return self.sasl_protocol(now, format!("bad SASL reply header: {e}")),
        };
        let Some(run) = self.sasl.as_mut() else {
            return self.sasl_protocol(now, "SASL reply without an exchange".into());
        };
        if header.xid != run.xid {
            let msg = format!("reply xid {} during SASL, expected {}", header.xid, run.xid);
            return self.sasl_protocol(now, msg);
        }
        let sent = run.sent_at;
        self.anchor(sent, now);
        if matches!(
            header.err,
            ErrorCode::AuthFailed | ErrorCode::SessionClosedRequireSaslAuth
        ) {
            return self.sasl_failed(&format!("the server refused: {}", header.err));
        }
        if header.err != ErrorCode::Ok {
            let msg = format!("SASL answered {}", header.err);
            return self.sasl_protocol(now, msg);
        }
        let token = match crate::proto::SetSaslResponse::decode(frame) {
            Ok(r) => r.token,
            Err(e) => return self.sasl_protocol(now, format!("undecodable SASL reply: {e}")),
        };
        let run = self.sasl.as_mut().expect("checked above");
        match run.mech.step(&token) {
            Ok(SaslStep::Send(t)) => {
                let x = self.send_sasl(t);
                let run = self.sasl.as_mut().expect("checked above");
                run.xid = x;
                run.sent_at = now;
            }
            Ok(SaslStep::Done) => {
                let run = self.sasl.take().expect("checked above");
                crate::trace::debug!("SASL {} done", run.mech.name());
                self.established(now, run.read_only);
            }
            Err(why) => self.sasl_failed(&why),
        }
    }

    /// The server broke the exchange: this connection is lost, another server may do better.
    fn sasl_protocol(&mut self, now: Instant, why: String) {
        self.sasl = None;
        self.actions.push_back(Action::Disconnect);
        self.attempt_failed(now, ConnectionError::Protocol(why));
    }

    /// Authentication failed: terminal, as for a refused auth packet.
    fn sasl_failed(&mut self, why: &str) {
        crate::trace::debug!("SASL authentication failed: {why}");
        let _ = why;
        self.sasl = None;
        self.actions.push_back(Action::Disconnect);
        self.terminate(Error::AuthFailed, SessionState::AuthFailed);
    }
}
