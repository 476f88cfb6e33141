//! TLS with rustls: the server side of the TLS port (optionally verifying client
//! certificates against `--tls-ca-cert-file`), and the client side a follower
//! uses to reach a TLS leader (`--tls-replication yes`).
//!
//! Connections are generic over their stream type, so a plain TCP connection
//! pays nothing for TLS existing: the TLS path is a separate monomorphised copy
//! of the connection loop over `tokio_rustls::server::TlsStream<TcpStream>`.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A stream a client connection runs over (plain TCP or TLS); the leader's
/// side of a replication link takes over the same stream.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for S {}

use crate::settings::{TlsAuthClients, TlsConfig};

/// How long a TLS handshake may take before the connection is dropped (a
/// client that connects and never completes it holds nothing longer).
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read certificates from {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad certificate in {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate found in {}", path.display()));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("cannot read a private key from {}: {e}", path.display()))
}

fn load_roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for c in load_certs(path)? {
        roots
            .add(c)
            .map_err(|e| format!("bad CA certificate in {}: {e}", path.display()))?;
    }
    Ok(roots)
}

fn required<'a>(p: &'a Option<std::path::PathBuf>, name: &str) -> Result<&'a Path, String> {
    p.as_deref().ok_or_else(|| format!("{name} is required"))
}

/// The acceptor for the TLS port.
pub fn acceptor(t: &TlsConfig) -> Result<tokio_rustls::TlsAcceptor, String> {
    let certs = load_certs(required(&t.cert_file, "tls-cert-file")?)?;
    let key = load_key(required(&t.key_file, "tls-key-file")?)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match t.auth_clients {
        TlsAuthClients::No => builder.with_no_client_auth(),
        auth => {
            let roots = load_roots(required(&t.ca_cert_file, "tls-ca-cert-file")?)?;
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let v = if auth == TlsAuthClients::Optional {
                v.allow_unauthenticated()
            } else {
                v
            };
            builder.with_client_cert_verifier(v.build().map_err(|e| e.to_string())?)
        }
    };
    let config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls-cert-file/tls-key-file: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// The connector a follower uses: the leader's certificate must chain to
/// `tls-ca-cert-file` and name the host; our own certificate is offered for
/// client authentication.
pub fn connector(t: &TlsConfig) -> Result<Connector, String> {
    let roots = load_roots(required(&t.ca_cert_file, "tls-ca-cert-file")?)?;
    let certs = load_certs(required(&t.cert_file, "tls-cert-file")?)?;
    let key = load_key(required(&t.key_file, "tls-key-file")?)?;
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .map_err(|e| format!("tls-cert-file/tls-key-file: {e}"))?;
    Ok(Connector(tokio_rustls::TlsConnector::from(Arc::new(
        config,
    ))))
}

/// The TLS client configuration of a follower.
#[derive(Clone)]
pub struct Connector(pub tokio_rustls::TlsConnector);

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connector")
    }
}

/// A follower's link: plain TCP or TLS.
#[derive(Debug)]
pub enum Link {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Link {
    /// Connects the TLS session over `tcp` to `host`.
    pub async fn tls(connector: &Connector, host: &str, tcp: TcpStream) -> Result<Link, String> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("invalid TLS server name {host}: {e}"))?;
        let s = connector
            .0
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {host}: {e}"))?;
        Ok(Link::Tls(Box::new(s)))
    }
}

impl AsyncRead for Link {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Link::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Link {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Link::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Link::Plain(s) => Pin::new(s).poll_flush(cx),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Link::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
