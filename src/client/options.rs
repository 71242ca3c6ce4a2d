//! Connection settings: a builder for everything `Client::connect` needs. The session's own
//! settings are a [`SessionConfig`], so their defaults are written once, there.

use crate::client::Client;
use crate::error::Result;
use crate::proto::{Acl, DEFAULT_MAX_FRAME};
use crate::session::SessionConfig;
use bytes::Bytes;
use std::time::Duration;

/// Settings for [`Client::connect`]. Start from `ConnectOptions::default()` and change what you
/// need; every setter returns the options again.
///
/// ```no_run
/// # async fn f() -> zksync::Result<()> {
/// use std::time::Duration;
/// let client = zksync::ConnectOptions::default()
///     .session_timeout(Duration::from_secs(6))
///     .connect("127.0.0.1:2181,127.0.0.1:2182/app")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The session state machine's settings (timeouts, read-only, queue, credentials, a
    /// session to resume); its chroot and seed are set at connect.
    pub(crate) session: SessionConfig,
    pub(crate) establish_timeout: Option<Duration>,
    pub(crate) max_frame: usize,
    pub(crate) coalesce_replies: bool,
    pub(crate) chroot: Option<String>,
    pub(crate) default_acl: Vec<Acl>,
    /// TLS settings (feature `tls`); `None`: plain TCP.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<super::tls::TlsOptions>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            session: SessionConfig::default(),
            establish_timeout: None,
            max_frame: DEFAULT_MAX_FRAME,
            coalesce_replies: true,
            chroot: None,
            default_acl: Acl::open_unsafe(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ConnectOptions {
    /// The session timeout to ask for (default 10 s). The server clamps it into its own
    /// `[minSessionTimeout, maxSessionTimeout]`; [`Client::session_timeout`] tells the result.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn session_timeout(mut self, t: Duration) -> Self {
        self.session.session_timeout = t;
        self
    }

    /// Time allowed for one server's TCP connect plus handshake before the next server is tried
    /// (default: session timeout / number of servers, at least 250 ms).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.session.connect_timeout = Some(t);
        self
    }

    /// How long `connect` waits for the first session before failing with
    /// [`Error::Unreachable`](crate::Error::Unreachable) (default: the session timeout).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn establish_timeout(mut self, t: Duration) -> Self {
        self.establish_timeout = Some(t);
        self
    }

    /// How long a request may wait for a connection while the client is disconnected before
    /// failing with [`Error::Timeout`](crate::Error::Timeout) (default: no limit; it still fails
    /// when the session expires).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.session.request_timeout = Some(t);
        self
    }

    /// Largest reply frame accepted (default `jute.maxbuffer` + header room). A larger reply
    /// fails its request with [`Error::FrameTooLarge`](crate::Error::FrameTooLarge) instead of
    /// being buffered.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// Let replies to a deep pipeline (128 or more requests in flight) accumulate for up to
    /// about a millisecond before reading them (default true; Linux 4.18+, elsewhere a no-op).
    ///
    /// Each wake-up of the client's thread costs more kernel time than the read it serves;
    /// with many requests in flight the server stays busy anyway, so reading in batches cuts
    /// the client's CPU per operation several times over (see the README's benchmarks). A
    /// call made with fewer requests in flight (a lock, a barrier, one call at a time) is
    /// never delayed. Turn it off if you pipeline deeply and every millisecond of each reply's
    /// latency matters more than CPU.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn coalesce_replies(mut self, on: bool) -> Self {
        self.coalesce_replies = on;
        self
    }

    /// How many requests may wait for a connection while disconnected (default 10 000).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn max_queued_requests(mut self, n: usize) -> Self {
        self.session.max_queued = n;
        self
    }

    /// Allow read-only servers (a partitioned minority) to serve this session (default false).
    ///
    /// On a read-only server the state is
    /// [`SessionState::ConnectedReadOnly`](crate::SessionState::ConnectedReadOnly): reads and
    /// watches work, writes fail with `ErrorCode::NotReadOnly`. The client keeps asking the
    /// other hosts (the `isro` four-letter word, after 100 ms, then at doubling intervals up
    /// to 10 s) and moves to the first that serves read-write; calls in flight at that moment
    /// fail with `ConnectionLoss`, as on any reconnect. Until a read-write server has seen the
    /// session, each handshake asks for a new session, since a read-only server's session is
    /// unknown to the others: [`Client::session_id`] then changes once, and watches are
    /// registered again with the new session. Such a session is never declared expired on the
    /// client's clock either: it owns no ephemeral nodes, and the next handshake replaces it.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn read_only(mut self, allowed: bool) -> Self {
        self.session.read_only = allowed;
        self
    }

    /// The servers' `syncLimit × tickTime` (default: not given, 0): how long a follower goes on
    /// answering clients after it last heard from the leader. Given it, the lease
    /// ([`Client::session_valid_until`], `LockGuard::valid_until`) stays safe when a follower is
    /// cut off from the leader by a network that drops packets, or the leader stalls (a GC
    /// pause, a frozen VM): a contact then counts for the lease only once a request sent
    /// `T/4 + S` after its answer was answered, by which time the follower that answered had
    /// passed it on to a live leader. Without it the lease is safe in those cases only if
    /// `syncLimit × tickTime + tickTime/2 <= T/4` (README, "The lease"). The lease then runs
    /// about `7T/12 - S` ahead instead of `T/2` to `2T/3`: `connect` refuses an `S` of half the
    /// requested session timeout `T` or more.
    ///
    /// ```no_run
    /// # async fn f() -> zksync::Result<()> {
    /// use std::time::Duration;
    /// // Servers with tickTime=2000 and syncLimit=5: a follower answers up to 10 s unled.
    /// let client = zksync::ConnectOptions::default()
    ///     .session_timeout(Duration::from_secs(30))
    ///     .server_sync_limit(Duration::from_secs(10))
    ///     .connect("127.0.0.1:2181")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn server_sync_limit(mut self, s: Duration) -> Self {
        self.session.server_sync_limit = s;
        self
    }

    /// Credentials sent on every (re)connect, e.g. `("digest", b"user:password")`.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn auth(mut self, scheme: &str, auth: &[u8]) -> Self {
        self.session
            .auth
            .push((scheme.to_string(), Bytes::copy_from_slice(auth)));
        self
    }

    /// Authenticate with SASL DIGEST-MD5 as `user` (a `user_<name>="<password>"` entry of the
    /// servers' JAAS `Server` section with ZooKeeper's `DigestLoginModule`), after every
    /// (re)connect and before any other request; feature `sasl`.
    ///
    /// Requests made meanwhile wait. Wrong credentials end the session with
    /// [`Error::AuthFailed`](crate::Error::AuthFailed) (and `connect` fails with it at once).
    /// The server's proof that it knows the password (`rspauth`) is checked too. The password is
    /// kept for reconnects and never shown by `Debug`. DIGEST-MD5 protects the password, not
    /// the traffic: use TLS as well where the network is not trusted.
    ///
    /// ```no_run
    /// # async fn f() -> zksync::Result<()> {
    /// let password = std::env::var("ZK_PASSWORD").unwrap_or_default();
    /// let client = zksync::ConnectOptions::default()
    ///     .sasl_digest_md5("alice", &password)
    ///     .connect("127.0.0.1:2181")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "sasl")]
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn sasl_digest_md5(mut self, user: &str, password: &str) -> Self {
        let (u, p) = (user.to_string(), password.to_string());
        self.session.sasl = Some(crate::session::SaslConfig::new(
            format!("DIGEST-MD5 as {user:?}"),
            move |_host| Box::new(crate::session::DigestMd5::new(&u, &p)),
        ));
        self
    }

    /// Authenticate with SASL GSSAPI, i.e. Kerberos V5 (feature `gssapi`), to the service
    /// principal `zookeeper/<host>@REALM`, where `<host>` is each server's host name as the
    /// connect string gives it (canonicalised by the Kerberos library as its krb5.conf says:
    /// `dns_canonicalize_hostname`, `rdns`); see [`sasl_gssapi_service`] to name another
    /// service or host. The exchange runs after every (re)connect and before any other request,
    /// as for [`sasl_digest_md5`].
    ///
    /// The credentials are the process's Kerberos credentials, found by the system's GSS-API
    /// library (MIT krb5) as for any Kerberos client: the ticket cache of `KRB5CCNAME` or the
    /// default one (after `kinit`), or a client keytab (`KRB5_CLIENT_KTNAME`, from which the
    /// library gets tickets itself); `KRB5_CONFIG` names the krb5.conf. No ticket, a service
    /// unknown to the KDC, or a refusal by the server end the session with
    /// [`Error::AuthFailed`](crate::Error::AuthFailed) (and `connect` fails with it at once);
    /// the GSS-API error is in the debug log (feature `tracing`). The server knows the client
    /// as its principal (`alice@EXAMPLE.COM`, ACL id `sasl:alice@EXAMPLE.COM` unless the servers
    /// strip the realm or host). Only authentication is negotiated (no security layer): use
    /// TLS as well where the network is not trusted.
    ///
    /// The GSS-API calls block the client's task while they run; the first one of each
    /// connection asks the KDC for a service ticket unless the cache holds one.
    ///
    /// [`sasl_gssapi_service`]: Self::sasl_gssapi_service
    /// [`sasl_digest_md5`]: Self::sasl_digest_md5
    ///
    /// ```no_run
    /// # async fn f() -> zksync::Result<()> {
    /// // After `kinit alice@EXAMPLE.COM`, or with KRB5_CLIENT_KTNAME=/etc/myapp/alice.keytab:
    /// let client = zksync::ConnectOptions::default()
    ///     .sasl_gssapi()
    ///     .connect("zk1.example.com:2181,zk2.example.com:2181,zk3.example.com:2181")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "gssapi")]
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn sasl_gssapi(self) -> Self {
        self.sasl_gssapi_service(crate::session::GSSAPI_SERVICE, None)
    }

    /// As [`sasl_gssapi`](Self::sasl_gssapi), with the service principal's service name
    /// (ZooKeeper's `zookeeper.sasl.client.username`, default `zookeeper`) and, if given, one
    /// host name for every server (for servers that share one principal, or a connect string
    /// of IP addresses): the principal is `service/host@REALM`.
    #[cfg(feature = "gssapi")]
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn sasl_gssapi_service(mut self, service: &str, host: Option<&str>) -> Self {
        let service = service.to_string();
        let fixed = host.map(str::to_string);
        let label = match &fixed {
            Some(h) => format!("GSSAPI for {service}/{h}"),
            None => format!("GSSAPI for {service}/<server host>"),
        };
        self.session.sasl = Some(crate::session::SaslConfig::new(label, move |host| {
            let host = fixed.as_deref().unwrap_or(host);
            Box::new(crate::session::Gssapi::new(&service, host))
        }));
        self
    }

    /// A chroot: every path is relative to it. Also accepted as a connect-string suffix.
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn chroot(mut self, root: &str) -> Self {
        self.chroot = Some(root.to_string());
        self
    }

    /// The ACL used by `create` (default: world-readable and writable, `OPEN_ACL_UNSAFE`).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn default_acl(mut self, acl: Vec<Acl>) -> Self {
        self.default_acl = acl;
        self
    }

    /// Attach to an existing session instead of creating one (its id and password, from
    /// [`Client::session_id`] and [`Client::session_passwd`]).
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn resume_session(mut self, id: i64, passwd: &[u8]) -> Self {
        self.session.resume = Some((id, Bytes::copy_from_slice(passwd)));
        self
    }

    /// Connect with TLS (feature `tls`): to the servers' `secureClientPort`, verifying their
    /// certificates against the CA of `tls` and their host names (see [`TlsOptions`]). Every
    /// connection uses it: the first, every reconnect and the read-write probes of read-only
    /// mode. A failed handshake shows in [`Error::Unreachable`](crate::Error::Unreachable) as a
    /// [`ConnectionError::Tls`](crate::ConnectionError::Tls) of that server, saying why (an
    /// untrusted CA, a certificate for another name, a client certificate the server requires).
    ///
    /// [`TlsOptions`]: super::TlsOptions
    ///
    /// ```no_run
    /// # async fn f() -> zksync::Result<()> {
    /// use zksync::{ConnectOptions, TlsOptions};
    /// let client = ConnectOptions::default()
    ///     .tls(
    ///         TlsOptions::ca_file("/etc/zookeeper/tls/ca.pem")
    ///             .client_cert_files("/etc/zookeeper/tls/client.pem", "/etc/zookeeper/tls/client-key.pem"),
    ///     )
    ///     .connect("zk1.example.com:2281,zk2.example.com:2281,zk3.example.com:2281")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    #[must_use = "a builder method returns the changed value; the original is consumed"]
    pub fn tls(mut self, tls: super::tls::TlsOptions) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Connects with these options; see [`Client::connect`].
    ///
    /// **Cancel-safety:** as for [`Client::connect`].
    pub async fn connect(self, hosts: &str) -> Result<Client> {
        Client::connect_with(hosts, self).await
    }
}
