//! Downstream TLS with rustls (ring): certificate chain and key from PEM, optional client CA
//! (mTLS, required or optional), ALPN `h2` + `http/1.1`.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::{PeerCert, TlsInfo};
use crate::config::{DataSource, DownstreamTls, Secret};

/// A TLS setting that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {what}: {source}")]
    Read {
        what: String,
        source: std::io::Error,
    },
    #[error("{what}: no {kind} found in PEM")]
    Empty { what: String, kind: &'static str },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("CA {what}: {reason}")]
    Verifier { what: String, reason: String },
}

fn name(src: &DataSource) -> String {
    match src {
        DataSource::File(p) => p.display().to_string(),
        DataSource::Inline(_) => "inline PEM".into(),
    }
}

fn read(src: &DataSource) -> Result<Vec<u8>, TlsError> {
    src.read().map_err(|source| TlsError::Read {
        what: name(src),
        source,
    })
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in a PEM source.
pub fn load_certs(src: &DataSource) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(src)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::Read {
            what: name(src),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            what: name(src),
            kind: "certificate",
        });
    }
    Ok(certs)
}

/// The first private key in a PEM source.
pub fn load_key(src: &Secret) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(&src.0)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|source| TlsError::Read {
            what: name(&src.0),
            source,
        })?
        .ok_or(TlsError::Empty {
            what: name(&src.0),
            kind: "private key",
        })
}

/// A root store from a PEM bundle.
pub fn root_store(src: &DataSource) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in load_certs(src)? {
        roots.add(c).map_err(|e| TlsError::Verifier {
            what: name(src),
            reason: e.to_string(),
        })?;
    }
    Ok(roots)
}

/// Builds the rustls server configuration.
pub fn server_config(t: &DownstreamTls) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = provider();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match &t.client_ca {
        Some(ca) => {
            let roots = Arc::new(root_store(ca)?);
            let v = WebPkiClientVerifier::builder_with_provider(roots, provider);
            let v = if t.require_client_cert {
                v
            } else {
                v.allow_unauthenticated()
            };
            let v = v.build().map_err(|e| TlsError::Verifier {
                what: name(ca),
                reason: e.to_string(),
            })?;
            builder.with_client_cert_verifier(v)
        }
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder.with_single_cert(load_certs(&t.cert_chain)?, load_key(&t.key)?)?;
    cfg.alpn_protocols = if t.alpn.is_empty() {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        t.alpn.iter().map(|a| a.as_bytes().to_vec()).collect()
    };
    Ok(Arc::new(cfg))
}

/// Builds the upstream client configuration: the CA when given (else no verification, as Envoy
/// without a validation context), an optional client certificate, ALPN for HTTP/2.
pub fn client_config(
    t: &crate::config::UpstreamTls,
    http2: bool,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match &t.ca {
        Some(ca) => builder.with_root_certificates(root_store(ca)?),
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(crate::upstream::connect::NoVerify(
                provider,
            ))),
    };
    let mut cfg = match &t.client_cert {
        Some((chain, key)) => builder.with_client_auth_cert(load_certs(chain)?, load_key(key)?)?,
        None => builder.with_no_client_auth(),
    };
    cfg.alpn_protocols = if !t.alpn.is_empty() {
        t.alpn.iter().map(|a| a.as_bytes().to_vec()).collect()
    } else if http2 {
        vec![b"h2".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(cfg))
}

/// What the handshake negotiated, for properties and logs.
pub fn info(stream: &TlsStream<TcpStream>) -> TlsInfo {
    let (_, conn) = stream.get_ref();
    TlsInfo {
        sni: conn.server_name().map(str::to_owned),
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        version: conn
            .protocol_version()
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .replace('_', "v")
            .replace("TLSv1v", "TLSv1."),
        cipher: conn
            .negotiated_cipher_suite()
            .and_then(|c| c.suite().as_str())
            .unwrap_or("")
            .to_owned(),
        peer: conn
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(|c| PeerCert::from_der(c)),
        local: None,
        tunnel: false,
    }
}
