//! SASL GSSAPI (RFC 4752), client side, with Kerberos V5 through the system's GSS-API library
//! (MIT krb5's libgssapi_krb5, by the `libgssapi` crate), as ZooKeeper's servers serve it with
//! the JDK's `Krb5LoginModule` and GSSAPI SASL server.
//!
//! The exchange:
//! 1. the security context: `gss_init_sec_context` for the host-based service
//!    `<service>@<host>` (`zookeeper@zk1.example.com`, i.e. the principal
//!    `zookeeper/zk1.example.com@REALM`), mutual authentication asked for. Its first token
//!    (the AP-REQ, with a service ticket the library gets from the KDC with the client's
//!    credentials: the default ccache, `KRB5CCNAME`, or a client keytab `KRB5_CLIENT_KTNAME`)
//!    is the initial response; each server token goes back into the context until it is
//!    established (the server's AP-REP proves the server holds the service key). When the
//!    context completes without a token to send, an empty one is sent, as the JDK's client
//!    does.
//! 2. the security layer: the server sends a wrapped 4-octet offer (a bit mask of layers, a
//!    maximum size); the client unwraps it, checks that "no security layer" (1) is offered,
//!    and answers wrap(`[1, 0, 0, 0]` + authorization id, empty here: the server then uses the
//!    authenticated principal), without confidentiality.
//! 3. the server's last packet (an empty token) says it accepted; a refusal comes as AUTHFAILED.
//!
//! The library calls block the thread they run on: the first step may ask the KDC for a service
//! ticket (on a loopback or LAN KDC a millisecond; the KDC timeouts of krb5.conf if it is down).

use super::sasl::{SaslMechanism, SaslStep};
use bytes::Bytes;
use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext};
use libgssapi::name::Name;
use libgssapi::oid::{GSS_MECH_KRB5, GSS_NT_HOSTBASED_SERVICE};
use std::fmt;

/// The service name ZooKeeper's servers use by default (`zookeeper.sasl.client.username` of the
/// Java client): the service principal is `zookeeper/<host>@REALM`.
pub const SERVICE: &str = "zookeeper";

/// "No security layer" in the offer's bit mask and the client's choice.
const LAYER_NONE: u8 = 1;

enum State {
    /// Not started.
    New,
    /// The security context is being established.
    Context(ClientCtx),
    /// Established: the next server token is the wrapped security-layer offer.
    Layer(ClientCtx),
    /// The choice was sent: the next server token ends the exchange.
    Final,
    Finished,
}

/// SASL GSSAPI (Kerberos V5) for one exchange with one server.
pub struct Gssapi {
    /// `service@host`, a GSS host-based service name.
    target: String,
    state: State,
}

impl fmt::Debug for Gssapi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gssapi")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Gssapi {
    /// GSSAPI for the service principal `service/host` (the library resolves the realm, and
    /// canonicalises the host name as its krb5.conf says: `dns_canonicalize_hostname`, `rdns`).
    pub fn new(service: &str, host: &str) -> Gssapi {
        Gssapi {
            target: format!("{service}@{host}"),
            state: State::New,
        }
    }

    fn gss(&self, what: &str, e: libgssapi::error::Error) -> String {
        format!("GSSAPI {what} for {}: {e}", self.target)
    }
}

impl SaslMechanism for Gssapi {
    fn name(&self) -> &'static str {
        "GSSAPI"
    }

    fn initial_response(&mut self) -> Result<Bytes, String> {
        let name = Name::new(self.target.as_bytes(), Some(GSS_NT_HOSTBASED_SERVICE))
            .map_err(|e| self.gss("service name", e))?;
        let flags = CtxFlags::GSS_C_MUTUAL_FLAG | CtxFlags::GSS_C_INTEG_FLAG;
        let mut ctx = ClientCtx::new(None, name, flags, Some(GSS_MECH_KRB5));
        let token = ctx
            .step(None, None)
            .map_err(|e| self.gss("init_sec_context", e))?;
        let token = token.map_or_else(Bytes::new, |t| Bytes::copy_from_slice(&t));
        self.state = if ctx.is_complete() {
            State::Layer(ctx)
        } else {
            State::Context(ctx)
        };
        Ok(token)
    }

    fn step(&mut self, server_token: &[u8]) -> Result<SaslStep, String> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::New => Err("GSSAPI: a server token before the initial response".into()),
            State::Context(mut ctx) => {
                let out = ctx
                    .step(Some(server_token), None)
                    .map_err(|e| self.gss("init_sec_context", e))?;
                let out = out.map_or_else(Bytes::new, |t| Bytes::copy_from_slice(&t));
                self.state = if ctx.is_complete() {
                    State::Layer(ctx)
                } else {
                    State::Context(ctx)
                };
                Ok(SaslStep::Send(out))
            }
            State::Layer(mut ctx) => {
                let offer = ctx
                    .unwrap(server_token)
                    .map_err(|e| self.gss("unwrap of the security-layer offer", e))?;
                let answer = choose_layer(&offer)?;
                let wrapped = ctx
                    .wrap(false, &answer)
                    .map_err(|e| self.gss("wrap of the security-layer choice", e))?;
                self.state = State::Final;
                Ok(SaslStep::Send(Bytes::copy_from_slice(&wrapped)))
            }
            State::Final => Ok(SaslStep::Done),
            State::Finished => Err("GSSAPI: a server token after the exchange".into()),
        }
    }
}

/// The answer to the server's (unwrapped) security-layer offer: no security layer, maximum
/// size 0 (RFC 4752 section 3.1: 0 when no layer is chosen), no authorization id.
pub(crate) fn choose_layer(offer: &[u8]) -> Result<[u8; 4], String> {
    let &[layers, _, _, _] = offer else {
        return Err(format!(
            "GSSAPI: the security-layer offer has {} octets, not 4",
            offer.len()
        ));
    };
    if layers & LAYER_NONE == 0 {
        return Err(format!(
            "GSSAPI: the server requires a security layer (offer mask {layers:#04x}); only \
             authentication (qop auth) is supported"
        ));
    }
    Ok([LAYER_NONE, 0, 0, 0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layer_choice_is_no_layer_and_size_zero() {
        assert_eq!(choose_layer(&[0x07, 0x01, 0x00, 0x00]), Ok([1, 0, 0, 0]));
        assert_eq!(choose_layer(&[0x01, 0x00, 0xff, 0xff]), Ok([1, 0, 0, 0]));
    }

    #[test]
    fn an_offer_without_the_no_layer_option_or_of_another_size_is_refused() {
        let e = choose_layer(&[0x06, 0x01, 0x00, 0x00]).unwrap_err();
        assert!(e.contains("requires a security layer"), "{e}");
        let e = choose_layer(&[0x01, 0x00, 0x00]).unwrap_err();
        assert!(e.contains("3 octets"), "{e}");
        assert!(choose_layer(&[]).is_err());
    }

    #[test]
    fn the_target_is_a_host_based_service_and_debug_shows_it() {
        let m = Gssapi::new(SERVICE, "zk1.example.com");
        assert_eq!(m.target, "zookeeper@zk1.example.com");
        assert_eq!(m.name(), "GSSAPI");
        assert!(format!("{m:?}").contains("zookeeper@zk1.example.com"));
    }

    #[test]
    fn a_server_token_before_the_start_is_an_error() {
        let mut m = Gssapi::new(SERVICE, "localhost");
        assert!(m.step(b"x").is_err());
    }
}
