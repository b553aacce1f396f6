//! rustls configurations for HBONE tunnels, both directions: TLS 1.3 only, ALPN `h2`, our
//! certificate read from the [`CertStore`] at each handshake (so a rotation needs no restart
//! and leaves open tunnels alone), peers checked by the mesh verifiers in [`super::verify`].

use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ServerConfig, SignatureScheme};

use super::certs::CertStore;
use super::identity::SpiffeId;
use super::verify::{spiffe_id_of, MeshClientVerifier, MeshServerVerifier};
use crate::conn::tls::provider;

/// HBONE's only application protocol.
pub const ALPN_H2: &[u8] = b"h2";

/// Presents the current certificate of the store, to clients and to servers alike.
#[derive(Clone)]
pub struct CurrentCert(pub Arc<CertStore>);

impl std::fmt::Debug for CurrentCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CurrentCert")
            .field(&self.0.current().id.to_string())
            .finish()
    }
}

impl ResolvesServerCert for CurrentCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current().key.clone())
    }
}

impl ResolvesClientCert for CurrentCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current().key.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The inbound (15008) configuration: a client certificate is required and must carry a
/// SPIFFE ID in `trust_domain`.
pub fn server_config(
    store: Arc<CertStore>,
    trust_domain: &str,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = provider();
    let verifier = MeshClientVerifier::new(store.clone(), trust_domain, provider.clone());
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_cert_resolver(Arc::new(CurrentCert(store)));
    cfg.alpn_protocols = vec![ALPN_H2.to_vec()];
    // No resumption: a resumed session carries the peer's certificate from the first
    // handshake, unverified again, so a rotated identity (or an expired certificate) would
    // outlive its replacement. Tunnels are long-lived and pooled; a full handshake is cheap.
    cfg.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    cfg.send_tls13_tickets = 0;
    Ok(Arc::new(cfg))
}

/// The outbound configuration: our certificate, no SNI, the server checked by chain and trust
/// domain (never by name).
pub fn client_config(
    store: Arc<CertStore>,
    trust_domain: &str,
) -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = provider();
    let verifier = MeshServerVerifier::new(store.clone(), trust_domain, provider.clone());
    let mut cfg = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_cert_resolver(Arc::new(CurrentCert(store)));
    cfg.enable_sni = false;
    cfg.alpn_protocols = vec![ALPN_H2.to_vec()];
    // See `server_config`: every connection presents (and verifies) the current certificates.
    cfg.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(cfg))
}

/// The verified peer's SPIFFE ID after a handshake (the verifiers guarantee there is one).
pub fn peer_identity(conn: &rustls::CommonState) -> Option<SpiffeId> {
    conn.peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| spiffe_id_of(c))
}
