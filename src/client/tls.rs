//! TLS to the servers' `secureClientPort` (feature `tls`): the settings ([`TlsOptions`]), the
//! handshake and the steady state of an established TLS connection.
//!
//! The handshake runs on tokio-rustls at connect time, inside the driver's connect future (so the
//! session's connect timeout bounds it like the TCP connect). Then the TLS stream is taken apart
//! (`into_inner`): the driver keeps the `TcpStream` and rustls' `ClientConnection` and drives the
//! connection without IO of its own, by readiness as for plain TCP: ciphertext read with
//! `try_read` goes into `read_tls`, `process_new_packets` decrypts, plaintext comes out of
//! `reader()`; plaintext goes into `writer()`, ciphertext out with `write_tls` over `try_write`.
//! The session state machine never sees any of it.

use crate::error::{ConnectionError, Error, Result};
use crate::session::HostPort;
use bytes::{Buf, BytesMut};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{AlertDescription, CertificateError, ClientConfig, ClientConnection, RootCertStore};
use std::fmt;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// TLS settings for [`ConnectOptions::tls`](crate::ConnectOptions::tls) (feature `tls`): the
/// CA certificates that sign the servers' certificates, optionally a client certificate and key
/// (for servers with `ssl.clientAuth=need`), optionally the name the servers' certificates must
/// be valid for.
///
/// The servers' certificates are always verified: signed by one of the CAs given (the system's
/// roots are not used), and valid for the host name (or IP address) of the connect string, or
/// for [`server_name`](TlsOptions::server_name) if set. There is no way to turn this off.
/// TLS 1.2 and 1.3 (rustls, with the `ring` provider); PEM files only (convert a Java keystore
/// with `keytool -exportcert -rfc` and `openssl pkcs12 -nocerts -nodes`).
///
/// Files are read when the client connects: a missing or malformed file fails `connect` at once
/// with [`Error::InvalidArgument`].
///
/// ```no_run
/// # async fn f() -> zksync::Result<()> {
/// use zksync::{ConnectOptions, TlsOptions};
/// let tls = TlsOptions::ca_file("/etc/zookeeper/ca.pem")
///     .client_cert_files("/etc/zookeeper/client.pem", "/etc/zookeeper/client-key.pem");
/// let client = ConnectOptions::default()
///     .tls(tls)
///     .connect("zk1.example.com:2182,zk2.example.com:2182")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsOptions {
    ca: Pem,
    client: Option<(Pem, Pem)>,
    server_name: Option<String>,
}

/// PEM text, or a file holding it.
#[derive(Clone)]
enum Pem {
    File(PathBuf),
    Data(Vec<u8>),
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pem::File(p) => write!(f, "{}", p.display()),
            Pem::Data(d) => write!(f, "<{} bytes of PEM>", d.len()),
        }
    }
}

/// No key material in debug output: file names, or the size of in-memory PEM.
impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca", &self.ca)
            .field("client_cert", &self.client.as_ref().map(|(c, _)| c))
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl TlsOptions {
    /// Trust the CA certificates in this PEM file (one or more `CERTIFICATE` blocks).
    pub fn ca_file(path: impl Into<PathBuf>) -> TlsOptions {
        TlsOptions {
            ca: Pem::File(path.into()),
            client: None,
            server_name: None,
        }
    }

    /// Trust the CA certificates in this PEM text (one or more `CERTIFICATE` blocks).
    pub fn ca_pem(pem: impl Into<Vec<u8>>) -> TlsOptions {
        TlsOptions {
            ca: Pem::Data(pem.into()),
            client: None,
            server_name: None,
        }
    }

    /// Present this client certificate (PEM: the certificate, then any intermediates) with its
    /// private key (PEM: PKCS#8, PKCS#1 or SEC1), for servers that require one (mutual TLS).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn client_cert_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client = Some((Pem::File(cert.into()), Pem::File(key.into())));
        self
    }

    /// [`client_cert_files`](TlsOptions::client_cert_files) from PEM text in memory.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn client_cert_pem(mut self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.client = Some((Pem::Data(cert.into()), Pem::Data(key.into())));
        self
    }

    /// The name every server's certificate must be valid for (a DNS name or an IP address),
    /// instead of the host of the connect string: for servers reached by IP address or through
    /// a tunnel whose certificates name the service. Also sent as SNI when a DNS name.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.to_string());
        self
    }

    /// The rustls configuration these settings describe (files read now).
    pub(crate) fn connector(&self) -> Result<TlsConnector> {
        let mut roots = RootCertStore::empty();
        let cas = certs(&self.ca, "CA")?;
        for ca in cas {
            roots
                .add(ca)
                .map_err(|e| invalid(format!("TLS: bad CA certificate in {:?}: {e}", self.ca)))?;
        }
        // ring, not aws-lc-rs: no cmake or nasm to build. (rustls 0.23.48 deprecates ring's
        // default provider for lacking post-quantum key exchange; ZooKeeper's Java servers
        // offer none either.)
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS: {e}")))?
            .with_root_certificates(roots);
        let config = match &self.client {
            None => builder.with_no_client_auth(),
            Some((cert, key_pem)) => {
                let chain = certs(cert, "client")?;
                let key = private_key(key_pem)?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    invalid(format!(
                        "TLS: client certificate {cert:?} and key {key_pem:?}: {e} (an EC key \
                         exported from a Java keystore lacks its public half: rewrite it with \
                         `openssl ec -in KEY | openssl pkcs8 -topk8 -nocrypt`)"
                    ))
                })?
            }
        };
        let server_name = match &self.server_name {
            None => None,
            Some(name) => Some(
                ServerName::try_from(name.clone())
                    .map_err(|e| invalid(format!("TLS: server name {name:?}: {e}")))?,
            ),
        };
        Ok(TlsConnector {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }
}

fn invalid(why: String) -> Error {
    Error::InvalidArgument(why)
}

fn pem_bytes(pem: &Pem, what: &str) -> Result<Vec<u8>> {
    match pem {
        Pem::Data(d) => Ok(d.clone()),
        Pem::File(p) => std::fs::read(p)
            .map_err(|e| invalid(format!("TLS: cannot read {what} file {}: {e}", p.display()))),
    }
}

/// Every certificate of a PEM text; at least one.
fn certs(pem: &Pem, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = pem_bytes(pem, &format!("{what} certificate"))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("TLS: {what} certificates {pem:?}: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(format!(
            "TLS: no CERTIFICATE in the {what} certificates {pem:?}"
        )));
    }
    Ok(certs)
}

fn private_key(pem: &Pem) -> Result<PrivateKeyDer<'static>> {
    let bytes = pem_bytes(pem, "client key")?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| invalid(format!("TLS: no usable private key in {pem:?}: {e}")))
}

/// A TLS client configuration, ready for handshakes (shared by the driver and its probes).
#[derive(Clone)]
pub(crate) struct TlsConnector {
    connector: tokio_rustls::TlsConnector,
    server_name: Option<ServerName<'static>>,
}

impl TlsConnector {
    /// The TLS handshake on `tcp`, a connection to `host`.
    pub(crate) async fn handshake(
        &self,
        host: &HostPort,
        tcp: TcpStream,
    ) -> Result<TlsStream<TcpStream>, ConnectionError> {
        let name = match &self.server_name {
            Some(n) => n.clone(),
            None => ServerName::try_from(host.host.clone()).map_err(|e| ConnectionError::Tls {
                why: format!("{:?} is not a valid server name for TLS", host.host),
                source: Arc::new(e),
            })?,
        };
        self.connector
            .connect(name.clone(), tcp)
            .await
            .map_err(|e| handshake_error(e, &name))
    }
}

/// A failed handshake's cause: rustls' error if there is one, else the socket's.
fn handshake_error(e: io::Error, name: &ServerName<'_>) -> ConnectionError {
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return tls_error(tls.clone(), Some(name));
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => ConnectionError::Tls {
            why: "the server closed the connection during the TLS handshake (is this its \
                  secureClientPort? does it require a client certificate?)"
                .into(),
            source: Arc::new(e),
        },
        _ => e.into(),
    }
}

/// rustls' error as the cause of a lost connection, with what it most likely means.
pub(crate) fn tls_error(e: rustls::Error, name: Option<&ServerName<'_>>) -> ConnectionError {
    use rustls::Error as E;
    let hint = match &e {
        E::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the server's certificate is not signed by a trusted CA (check the CA bundle)"
                .to_string()
        }
        E::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => match name {
            Some(n) => format!(
                "the server's certificate is not valid for {} (check the host name, or set \
                 the expected server name)",
                n.to_str()
            ),
            None => "the server's certificate is not valid for the server's name".to_string(),
        },
        E::InvalidCertificate(_) => "the server's certificate was rejected".to_string(),
        E::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::CertificateRequired
            | AlertDescription::HandshakeFailure
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::AccessDenied,
        ) => "the server refused the handshake: it requires a client certificate signed by a \
              CA it trusts (none or another was presented)"
            .to_string(),
        _ => "TLS failed".to_string(),
    };
    ConnectionError::Tls {
        why: format!("{hint}: {e}"),
        source: Arc::new(e),
    }
}

/// The established TLS connection the driver keeps beside its `TcpStream`.
pub(crate) type TlsConn = Box<ClientConnection>;

/// The TCP stream and rustls' state of an established TLS stream, apart.
pub(crate) fn into_parts(stream: TlsStream<TcpStream>) -> (TcpStream, TlsConn) {
    let (tcp, conn) = stream.into_inner();
    (tcp, Box::new(conn))
}

/// The socket as `io::Read`/`io::Write` for rustls, without waiting: `WouldBlock` when it
/// has nothing to give or take (the driver then waits for readiness).
struct NoWait<'a>(&'a TcpStream);

impl Read for NoWait<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for NoWait<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What one read gave.
pub(crate) enum Got {
    /// Plaintext was appended to the buffer.
    Data,
    /// The server closed the connection.
    Eof,
    /// Nothing more now: wait for readability.
    WouldBlock,
}

/// Appends the next plaintext to `rbuf` (at most `chunk` bytes), reading and decrypting
/// ciphertext as needed.
pub(crate) fn read(
    s: &TcpStream,
    conn: &mut ClientConnection,
    rbuf: &mut BytesMut,
    chunk: usize,
) -> Result<Got, ConnectionError> {
    loop {
        let start = rbuf.len();
        rbuf.resize(start + chunk, 0);
        let plain = conn.reader().read(&mut rbuf[start..]);
        match plain {
            Ok(0) => {
                // close_notify: a clean end of the stream.
                rbuf.truncate(start);
                return Ok(Got::Eof);
            }
            Ok(n) => {
                rbuf.truncate(start + n);
                return Ok(Got::Data);
            }
            Err(e) => {
                rbuf.truncate(start);
                match e.kind() {
                    io::ErrorKind::WouldBlock => {}
                    io::ErrorKind::UnexpectedEof => return Ok(Got::Eof),
                    _ => return Err(e.into()),
                }
            }
        }
        match conn.read_tls(&mut NoWait(s)) {
            Ok(0) => return Ok(Got::Eof),
            Ok(_) => {
                if let Err(e) = conn.process_new_packets() {
                    // Send the alert rustls queued, if the socket takes it now.
                    let _ = conn.write_tls(&mut NoWait(s));
                    return Err(tls_error(e, None));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Got::WouldBlock),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Encrypts what `wbuf` holds (as much as rustls buffers) and writes what the socket takes;
/// also whatever rustls has to send of its own (an alert, a key update's answer).
pub(crate) fn flush(
    s: &TcpStream,
    conn: &mut ClientConnection,
    wbuf: &mut BytesMut,
) -> Result<(), ConnectionError> {
    loop {
        if !wbuf.is_empty() {
            let n = conn.writer().write(wbuf)?;
            wbuf.advance(n);
        }
        if !conn.wants_write() {
            if wbuf.is_empty() {
                return Ok(());
            }
            // rustls took nothing and has nothing to send: cannot happen, but never spin.
            return Err(io::Error::from(io::ErrorKind::WriteZero).into());
        }
        match conn.write_tls(&mut NoWait(s)) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}
