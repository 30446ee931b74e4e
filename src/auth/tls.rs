//! TLS on the gRPC listener, from PEM files read once at start.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use super::SecurityError;

/// The PEM files of `--tls-cert`, `--tls-key` and `--tls-client-ca`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CA certificates that client certificates must chain to (mutual TLS); none: clients need none.
    pub client_ca: Option<PathBuf>,
}

fn read_pem(what: &'static str, path: &Path) -> Result<Vec<u8>, SecurityError> {
    let pem = std::fs::read(path).map_err(|source| SecurityError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })?;
    // rustls would only say "no certificate"/"no private key" without naming the file.
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN ") {
        return Err(SecurityError::NotPem {
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(pem)
}

/// `server` serving TLS with `files`; a certificate or key that rustls refuses fails here, at start.
pub fn with_tls<L>(server: Server<L>, files: &TlsFiles) -> Result<Server<L>, SecurityError> {
    let cert = read_pem("TLS certificate", &files.cert)?;
    let key = read_pem("TLS key", &files.key)?;
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
    if let Some(ca) = &files.client_ca {
        config = config.client_ca_root(Certificate::from_pem(read_pem("TLS client CA", ca)?));
    }
    server
        .tls_config(config)
        .map_err(|error| SecurityError::Tls {
            cert: files.cert.clone(),
            key: files.key.clone(),
            reason: chain(&error),
        })
}

/// An error with its sources: tonic's own message is only "transport error".
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
