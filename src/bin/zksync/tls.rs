//! `--tls-ca`, `--tls-cert`, `--tls-key`, `--tls-server-name` (and their environment
//! variables): TLS to the servers' secure client port.

use clap::Args;
use std::path::PathBuf;
use zksync::TlsOptions;

/// TLS settings of every subcommand.
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// Connect with TLS, trusting the CA certificates in this PEM file (the servers'
    /// secureClientPort; their certificates and host names are verified).
    #[arg(long, global = true, value_name = "FILE", env = "ZKSYNC_TLS_CA")]
    pub tls_ca: Option<PathBuf>,

    /// Present this client certificate (PEM; with --tls-key) to servers that require one.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "ZKSYNC_TLS_CERT",
        requires_all = ["tls_ca", "tls_key"]
    )]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "ZKSYNC_TLS_KEY",
        requires_all = ["tls_ca", "tls_cert"]
    )]
    pub tls_key: Option<PathBuf>,

    /// The name the servers' certificates must be valid for, instead of the host names of
    /// --servers (e.g. when connecting by IP address).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        env = "ZKSYNC_TLS_SERVER_NAME",
        requires = "tls_ca"
    )]
    pub tls_server_name: Option<String>,
}

impl TlsArgs {
    /// The TLS options asked for, if any.
    pub fn options(&self) -> Option<TlsOptions> {
        let ca = self.tls_ca.as_ref()?;
        let mut tls = TlsOptions::ca_file(ca);
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            tls = tls.client_cert_files(cert, key);
        }
        if let Some(name) = &self.tls_server_name {
            tls = tls.server_name(name);
        }
        Some(tls)
    }
}
