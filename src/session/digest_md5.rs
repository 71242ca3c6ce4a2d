//! DIGEST-MD5 (RFC 2831), client side, as ZooKeeper's `DigestLoginModule` serves it: the JDK's
//! SASL server with realm `zk-sasl-md5`, service `zookeeper` (digest-uri
//! `zookeeper/zk-sasl-md5`), quality of protection `auth` only (no integrity or confidentiality
//! layer), algorithm `md5-sess`.
//!
//! Two rounds: an empty first token, the server's challenge (realm, nonce, qop, charset,
//! algorithm), the client's response (user, nonce, a fresh cnonce, the response digest), then
//! the server's `rspauth`, which proves the server knows the password too and is checked here.

use super::sasl::{SaslMechanism, SaslStep};
use bytes::Bytes;
use md5::{Digest, Md5};
use std::fmt;

/// The service and host ZooKeeper's client and server both use for DIGEST-MD5.
pub const SERVICE: &str = "zookeeper";
/// See [`SERVICE`]; also the realm the server announces.
pub const SERVER_NAME: &str = "zk-sasl-md5";

/// DIGEST-MD5 for one exchange. `Debug` never shows the password.
pub struct DigestMd5 {
    user: String,
    password: String,
    digest_uri: String,
    /// Made at the first token (from the OS's random source) unless given.
    cnonce: Option<String>,
    /// The `rspauth` the server must send once the response was sent.
    expect_rspauth: Option<String>,
}

impl fmt::Debug for DigestMd5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestMd5")
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .finish_non_exhaustive()
    }
}

impl DigestMd5 {
    /// DIGEST-MD5 for ZooKeeper (digest-uri `zookeeper/zk-sasl-md5`) with a random cnonce.
    pub fn new(user: &str, password: &str) -> DigestMd5 {
        let mut m = Self::with(user, password, SERVICE, SERVER_NAME, "");
        m.cnonce = None;
        m
    }

    /// Any service and host, and a given cnonce (for the RFC's example).
    pub(crate) fn with(
        user: &str,
        password: &str,
        service: &str,
        host: &str,
        cnonce: &str,
    ) -> DigestMd5 {
        DigestMd5 {
            user: user.to_string(),
            password: password.to_string(),
            digest_uri: format!("{service}/{host}"),
            cnonce: Some(cnonce.to_string()),
            expect_rspauth: None,
        }
    }

    /// The response to a challenge, and the `rspauth` the server must answer with.
    pub(crate) fn respond(&self, challenge: &[u8]) -> Result<(String, String), String> {
        let cnonce = self.cnonce.as_deref().ok_or("no cnonce")?;
        let text = std::str::from_utf8(challenge)
            .map_err(|_| "the DIGEST-MD5 challenge is not UTF-8".to_string())?;
        if text.trim().is_empty() {
            return Err("the server sent no DIGEST-MD5 challenge (is SASL set up on it?)".into());
        }
        let directives = parse(text)?;
        let one = |key: &str| -> Result<Option<&str>, String> {
            let mut it = directives
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(key));
            let first = it.next().map(|(_, v)| v.as_str());
            if it.next().is_some() {
                return Err(format!("the challenge has more than one {key}"));
            }
            Ok(first)
        };
        let nonce = one("nonce")?.ok_or("the challenge has no nonce")?;
        match one("algorithm")? {
            Some(a) if a.eq_ignore_ascii_case("md5-sess") => {}
            other => return Err(format!("unsupported DIGEST-MD5 algorithm {other:?}")),
        }
        if let Some(qop) = one("qop")? {
            if !qop
                .split(',')
                .any(|q| q.trim().eq_ignore_ascii_case("auth"))
            {
                return Err(format!("the server offers qop {qop:?}, not auth"));
            }
        }
        let utf8 = match one("charset")? {
            None => false,
            Some(c) if c.eq_ignore_ascii_case("utf-8") => true,
            Some(c) => return Err(format!("unsupported charset {c:?}")),
        };
        // Several realms may be offered: take the first; none means the empty realm.
        let realm = directives
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("realm"))
            .map_or("", |(_, v)| v.as_str());
        let nc = "00000001";
        let qop = "auth";
        let a1_hash = {
            let mut inner = Md5::new();
            inner.update(encode(&self.user, utf8)?);
            inner.update(b":");
            inner.update(encode(realm, utf8)?);
            inner.update(b":");
            inner.update(encode(&self.password, utf8)?);
            let inner: [u8; 16] = inner.finalize().into();
            let mut a1 = Md5::new();
            a1.update(inner);
            a1.update(format!(":{nonce}:{cnonce}"));
            hex(&a1.finalize())
        };
        let kd = |a2: &str| {
            let a2 = hex(&Md5::digest(a2.as_bytes()));
            let s = format!("{a1_hash}:{nonce}:{nc}:{cnonce}:{qop}:{a2}");
            hex(&Md5::digest(s.as_bytes()))
        };
        let response = kd(&format!("AUTHENTICATE:{}", self.digest_uri));
        let rspauth = kd(&format!(":{}", self.digest_uri));
        let mut out = String::new();
        if utf8 {
            out.push_str("charset=utf-8,");
        }
        out.push_str(&format!("username={}", quote(&self.user)));
        if !realm.is_empty() {
            out.push_str(&format!(",realm={}", quote(realm)));
        }
        out.push_str(&format!(
            ",nonce={},nc={nc},cnonce={},digest-uri={},maxbuf=65536,response={response},qop={qop}",
            quote(nonce),
            quote(cnonce),
            quote(&self.digest_uri)
        ));
        Ok((out, rspauth))
    }
}

impl SaslMechanism for DigestMd5 {
    fn name(&self) -> &'static str {
        "DIGEST-MD5"
    }

    fn initial_response(&mut self) -> Result<Bytes, String> {
        if self.cnonce.is_none() {
            let mut raw = [0u8; 16];
            getrandom::getrandom(&mut raw).map_err(|e| format!("no random cnonce: {e}"))?;
            self.cnonce = Some(hex(&raw));
        }
        Ok(Bytes::new())
    }

    fn step(&mut self, server_token: &[u8]) -> Result<SaslStep, String> {
        match self.expect_rspauth.take() {
            None => {
                let (response, rspauth) = self.respond(server_token)?;
                self.expect_rspauth = Some(rspauth);
                Ok(SaslStep::Send(Bytes::from(response)))
            }
            Some(expected) => {
                let text = std::str::from_utf8(server_token)
                    .map_err(|_| "the server's final DIGEST-MD5 token is not UTF-8".to_string())?;
                let got = parse(text)?
                    .into_iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("rspauth"))
                    .map(|(_, v)| v)
                    .ok_or("the server's final DIGEST-MD5 token has no rspauth")?;
                if got.eq_ignore_ascii_case(&expected) {
                    Ok(SaslStep::Done)
                } else {
                    Err("the server's rspauth does not match: it does not know the password".into())
                }
            }
        }
    }
}

/// A string as hashed: ISO 8859-1 when every character fits (RFC 2831 2.1.2.1, also with
/// `charset=utf-8`), else UTF-8, which only `charset=utf-8` allows.
fn encode(s: &str, utf8: bool) -> Result<Vec<u8>, String> {
    if s.chars().all(|c| (c as u32) < 0x100) {
        Ok(s.chars().map(|c| c as u8).collect())
    } else if utf8 {
        Ok(s.as_bytes().to_vec())
    } else {
        Err("a name or password outside ISO 8859-1 needs charset=utf-8".into())
    }
}

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `key=value` or `key="quoted \"value\""` directives, comma-separated (RFC 2831 7.1: empty
/// list elements and whitespace around them are allowed).
fn parse(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!("malformed DIGEST-MD5 directive {key:?}"));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.push(chars.next().ok_or("unterminated quoted value")?),
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => return Err("unterminated quoted value".into()),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim_end().to_string();
        }
        out.push((key.trim().to_string(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2831 section 4: the IMAP example (its response value, and its rspauth).
    #[test]
    fn rfc_2831_example() {
        let challenge = br#"realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8"#;
        let m = DigestMd5::with(
            "chris",
            "secret",
            "imap",
            "elwood.innosoft.com",
            "OA6MHXh6VqTrRk",
        );
        let (resp, rspauth) = m.respond(challenge).unwrap();
        assert_eq!(
            resp,
            "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",\
             nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\",\
             digest-uri=\"imap/elwood.innosoft.com\",maxbuf=65536,\
             response=d388dad90d4bbd760a152321f2143af7,qop=auth"
        );
        assert_eq!(rspauth, "ea40f60335c427b5527b84dbabcdfffd");
    }

    /// A transcript of the real ZooKeeper 3.8.0 (Debian) in the SASL mode of scripts/ensemble
    /// (user alice, password alice-secret), recorded with a fixed cnonce: the server accepted
    /// this response, and its rspauth, computed by the JDK's DIGEST-MD5 server, matches ours.
    /// Note the challenge has no qop (it defaults to auth).
    #[test]
    fn zookeeper_3_8_transcript() {
        let challenge = br#"realm="zk-sasl-md5",nonce="AIYrNVZo6QC3fIYJGbIjmztAtKsqxCKohQMPIMBh",charset=utf-8,algorithm=md5-sess"#;
        let mut m = DigestMd5::with(
            "alice",
            "alice-secret",
            SERVICE,
            SERVER_NAME,
            "zksyncTranscriptCnonce",
        );
        assert_eq!(m.initial_response().unwrap(), Bytes::new());
        let SaslStep::Send(resp) = m.step(challenge).unwrap() else {
            panic!("no response")
        };
        assert_eq!(
            &resp[..],
            &b"charset=utf-8,username=\"alice\",realm=\"zk-sasl-md5\",\
               nonce=\"AIYrNVZo6QC3fIYJGbIjmztAtKsqxCKohQMPIMBh\",nc=00000001,\
               cnonce=\"zksyncTranscriptCnonce\",digest-uri=\"zookeeper/zk-sasl-md5\",\
               maxbuf=65536,response=1077cc63cfd5901a14f7e3487f97e5e8,qop=auth"[..]
        );
        assert_eq!(
            m.step(b"rspauth=9f42d3b541fcc9d895351fd746ecf5d9").unwrap(),
            SaslStep::Done
        );
    }

    #[test]
    fn full_exchange_checks_rspauth() {
        let challenge = br#"realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8"#;
        let mk = || {
            DigestMd5::with(
                "chris",
                "secret",
                "imap",
                "elwood.innosoft.com",
                "OA6MHXh6VqTrRk",
            )
        };
        let mut m = mk();
        assert_eq!(m.initial_response().unwrap(), Bytes::new());
        assert!(matches!(m.step(challenge).unwrap(), SaslStep::Send(_)));
        assert_eq!(
            m.step(b"rspauth=ea40f60335c427b5527b84dbabcdfffd").unwrap(),
            SaslStep::Done
        );
        let mut m = mk();
        m.step(challenge).unwrap();
        let err = m
            .step(b"rspauth=00000000000000000000000000000000")
            .unwrap_err();
        assert!(err.contains("rspauth does not match"), "{err}");
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        let m = DigestMd5::with("u", "p", "zookeeper", "zk-sasl-md5", "c");
        for (challenge, why) in [
            (&b""[..], "no DIGEST-MD5 challenge"),
            (br#"realm="r",qop="auth",algorithm=md5-sess"#, "no nonce"),
            (
                br#"nonce="n",qop="auth-conf",algorithm=md5-sess"#,
                "not auth",
            ),
            (br#"nonce="n",qop="auth""#, "algorithm"),
            (
                br#"nonce="n",nonce="m",algorithm=md5-sess"#,
                "more than one nonce",
            ),
            (br#"nonce="n,algorithm=md5-sess"#, "unterminated"),
        ] {
            let err = m.respond(challenge).unwrap_err();
            assert!(err.contains(why), "{err:?} should say {why:?}");
        }
    }

    #[test]
    fn quoting_and_latin1() {
        assert_eq!(
            parse(r#" a = "x\"y" ,, b=c ,realm="r1",realm="r2""#).unwrap(),
            vec![
                ("a".into(), "x\"y".into()),
                ("b".into(), "c".into()),
                ("realm".into(), "r1".into()),
                ("realm".into(), "r2".into())
            ]
        );
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        // ISO 8859-1 when it fits, even with charset=utf-8; UTF-8 only when it must.
        assert_eq!(encode("é", true).unwrap(), vec![0xe9]);
        assert_eq!(encode("€", true).unwrap(), "€".as_bytes());
        assert!(encode("€", false).is_err());
    }

    #[test]
    fn debug_hides_the_password() {
        let m = DigestMd5::with("alice", "s3cr3t-pw", "zookeeper", "zk-sasl-md5", "c");
        let shown = format!("{m:?}");
        assert!(
            shown.contains("alice") && !shown.contains("s3cr3t-pw"),
            "{shown}"
        );
    }
}
