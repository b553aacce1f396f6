//! Opening one upstream connection: a stream from the endpoint's [`Transport`] (TCP or a tunnel)
//! with a connect timeout, optional TLS (SNI + CA, ALPN), then the HTTP/1.1 or HTTP/2
//! handshake. The connection driver runs on its own task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;

use super::transport::Transport;
use crate::http::body::ProxyBody;
use crate::http::error::{ErrorKind, ProxyError};

/// Upstream TLS: the client config (CA or, like Envoy without a validation context, none) and
/// the SNI to send.
#[derive(Clone)]
pub struct UpstreamTls {
    pub config: Arc<rustls::ClientConfig>,
    /// The same trust and identity for raw byte streams (TCP proxy): only the configured
    /// ALPN, never the HTTP defaults.
    pub stream_config: Arc<rustls::ClientConfig>,
    pub sni: ServerName<'static>,
}

/// How to reach endpoints of one cluster.
#[derive(Clone)]
pub struct ConnectSpec {
    pub connect_timeout: Duration,
    pub http2: bool,
    pub tls: Option<UpstreamTls>,
}

/// A ready-to-use connection.
pub enum Sender {
    H1(http1::SendRequest<ProxyBody>),
    H2(http2::SendRequest<ProxyBody>),
}

/// Connects to `addr` for a request of `client`. `on_close` runs when the connection ends (it
/// releases the breaker slot).
pub async fn connect(
    addr: SocketAddr,
    transport: &Transport,
    spec: &ConnectSpec,
    client: Option<SocketAddr>,
    on_close: impl FnOnce() + Send + 'static,
) -> Result<Sender, ProxyError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        ProxyError::new(ErrorKind::ConnectFailure, format!("{what} {addr}: {e}"))
    };
    let tcp = transport.open(addr, spec.connect_timeout, client).await?;
    match &spec.tls {
        None => handshake(TokioIo::new(tcp), spec.http2, on_close).await,
        Some(tls) => {
            let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
            let stream = tokio::time::timeout(
                spec.connect_timeout,
                connector.connect(tls.sni.clone(), tcp),
            )
            .await
            .map_err(|_| fail("TLS handshake timeout with", &"timed out"))?
            .map_err(|e| fail("TLS handshake with", &e))?;
            handshake(TokioIo::new(stream), spec.http2, on_close).await
        }
    }
}

async fn handshake<I>(
    io: I,
    http2: bool,
    on_close: impl FnOnce() + Send + 'static,
) -> Result<Sender, ProxyError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let fail = |e: hyper::Error| ProxyError::new(ErrorKind::ConnectFailure, e.to_string());
    if http2 {
        let (sender, conn) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .handshake(io)
            .await
            .map_err(fail)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "upstream h2 connection ended");
            }
            on_close();
        });
        Ok(Sender::H2(sender))
    } else {
        let (sender, conn) = http1::Builder::new().handshake(io).await.map_err(fail)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "upstream h1 connection ended");
            }
            on_close();
        });
        Ok(Sender::H1(sender))
    }
}

/// A verifier that accepts any server certificate: Envoy's behaviour for an upstream TLS
/// context without `validation_context` (encrypt, do not authenticate).
#[derive(Debug)]
pub struct NoVerify(pub Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
