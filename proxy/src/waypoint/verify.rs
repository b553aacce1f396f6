//! Peer certificate verification for HBONE, both directions.
//!
//! rustls checks chains; the mesh also needs the peer's SPIFFE ID and a trust domain equal to
//! ours, which rustls never looks at. Each verifier here runs the chain check over the *current*
//! mesh roots (rebuilt when the [`CertStore`] generation changes, so a root rotation applies to
//! the next handshake), then the identity check. The server side delegates chain checks to
//! rustls' [`WebPkiClientVerifier`]; the client side verifies the chain but ignores the server
//! name: HBONE sends no SNI and mesh certificates name workloads by URI SAN, not by DNS name.

use std::sync::Arc;

use parking_lot::Mutex;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, RootCertStore,
    SignatureScheme,
};
use tokio::sync::watch;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::certs::{CertStore, MeshCerts};
use super::identity::SpiffeId;
use crate::conn::PeerCert;

/// Why a peer's certificate is not an acceptable mesh identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("certificate has no SPIFFE URI SAN of the form spiffe://<td>/ns/<ns>/sa/<sa>")]
    NoSpiffeId,
    #[error("peer {id} is in trust domain {got:?}, expected {want:?}")]
    TrustDomain {
        id: String,
        got: String,
        want: String,
    },
    #[error("mesh roots unusable: {0}")]
    Roots(String),
}

impl From<IdentityError> for rustls::Error {
    fn from(e: IdentityError) -> Self {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
    }
}

/// The mesh identity in a DER certificate: the first URI SAN that parses as a [`SpiffeId`].
pub fn spiffe_id_of(der: &[u8]) -> Option<SpiffeId> {
    PeerCert::from_der(der)?
        .uri_sans
        .iter()
        .find_map(|u| u.parse().ok())
}

/// Checks that `der` names a SPIFFE ID in `trust_domain`.
pub fn check_identity(der: &[u8], trust_domain: &str) -> Result<SpiffeId, IdentityError> {
    let id = spiffe_id_of(der).ok_or(IdentityError::NoSpiffeId)?;
    if id.trust_domain != trust_domain {
        return Err(IdentityError::TrustDomain {
            id: id.to_string(),
            got: id.trust_domain.clone(),
            want: trust_domain.to_owned(),
        });
    }
    Ok(id)
}

/// Logs a refused certificate with what identifies the peer (its SPIFFE ID or subject) and,
/// for an expired one, its expiry, so an operator sees *who* failed and why.
fn log_refusal(side: &str, der: &[u8], err: &rustls::Error) {
    let who = PeerCert::from_der(der)
        .map(|p| p.spiffe_id().map(str::to_owned).unwrap_or(p.subject))
        .unwrap_or_else(|| "<unparsable certificate>".into());
    let expired = matches!(
        err,
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        )
    );
    if expired {
        let not_after = X509Certificate::from_der(der)
            .map(|(_, c)| c.validity().not_after.to_string())
            .unwrap_or_default();
        tracing::warn!(side, peer = %who, %not_after, "HBONE peer certificate expired; handshake refused");
    } else {
        tracing::warn!(side, peer = %who, error = %err, "HBONE peer certificate refused");
    }
}

/// A value derived from the current mesh roots, rebuilt when the store's generation moves.
struct PerGeneration<T> {
    store: Arc<CertStore>,
    generation: watch::Receiver<u64>,
    cached: Mutex<Option<(u64, Arc<T>)>>,
    build: fn(&MeshCerts, &Arc<CryptoProvider>) -> Result<T, IdentityError>,
    provider: Arc<CryptoProvider>,
}

impl<T> PerGeneration<T> {
    fn new(
        store: Arc<CertStore>,
        provider: Arc<CryptoProvider>,
        build: fn(&MeshCerts, &Arc<CryptoProvider>) -> Result<T, IdentityError>,
    ) -> Self {
        Self {
            generation: store.subscribe(),
            store,
            cached: Mutex::new(None),
            build,
            provider,
        }
    }

    fn get(&self) -> Result<Arc<T>, IdentityError> {
        // Read the generation before the certificates: a replace in between rebuilds next time.
        let generation = *self.generation.borrow();
        let mut cached = self.cached.lock();
        if let Some((g, v)) = cached.as_ref() {
            if *g == generation {
                return Ok(v.clone());
            }
        }
        let v = Arc::new((self.build)(&self.store.current(), &self.provider)?);
        *cached = Some((generation, v.clone()));
        Ok(v)
    }
}

fn root_store(certs: &MeshCerts) -> Result<RootCertStore, IdentityError> {
    let mut roots = RootCertStore::empty();
    for r in &certs.roots {
        roots
            .add(r.clone())
            .map_err(|e| IdentityError::Roots(e.to_string()))?;
    }
    Ok(roots)
}

fn webpki_client(
    certs: &MeshCerts,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, IdentityError> {
    WebPkiClientVerifier::builder_with_provider(Arc::new(root_store(certs)?), provider.clone())
        .build()
        .map_err(|e| IdentityError::Roots(e.to_string()))
}

fn roots(certs: &MeshCerts, _: &Arc<CryptoProvider>) -> Result<RootCertStore, IdentityError> {
    root_store(certs)
}

/// Server side: a client certificate is required, must chain to the mesh roots and carry a
/// SPIFFE ID in our trust domain.
pub struct MeshClientVerifier {
    trust_domain: String,
    inner: PerGeneration<Arc<dyn ClientCertVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl MeshClientVerifier {
    pub fn new(store: Arc<CertStore>, trust_domain: &str, provider: Arc<CryptoProvider>) -> Self {
        Self {
            trust_domain: trust_domain.to_owned(),
            inner: PerGeneration::new(store, provider.clone(), webpki_client),
            provider,
        }
    }
}

impl std::fmt::Debug for MeshClientVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshClientVerifier")
            .field("trust_domain", &self.trust_domain)
            .finish_non_exhaustive()
    }
}

impl ClientCertVerifier for MeshClientVerifier {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    /// No CA hints: mesh clients have exactly one certificate, and the roots may rotate.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let result = self
            .inner
            .get()
            .map_err(rustls::Error::from)
            .and_then(|v| v.verify_client_cert(end_entity, intermediates, now))
            .and_then(|ok| {
                check_identity(end_entity, &self.trust_domain)?;
                Ok(ok)
            });
        if let Err(e) = &result {
            log_refusal("inbound", end_entity, e);
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Client side: the server's chain must lead to the mesh roots and its SPIFFE ID be in our
/// trust domain; the server name is not checked (HBONE dials pod IPs, certificates name
/// workloads).
pub struct MeshServerVerifier {
    trust_domain: String,
    roots: PerGeneration<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl MeshServerVerifier {
    pub fn new(store: Arc<CertStore>, trust_domain: &str, provider: Arc<CryptoProvider>) -> Self {
        Self {
            trust_domain: trust_domain.to_owned(),
            roots: PerGeneration::new(store, provider.clone(), roots),
            provider,
        }
    }
}

impl std::fmt::Debug for MeshServerVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshServerVerifier")
            .field("trust_domain", &self.trust_domain)
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for MeshServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = self.roots.get().map_err(rustls::Error::from).and_then(|r| {
            let parsed = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &parsed,
                &r,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
            check_identity(end_entity, &self.trust_domain)?;
            Ok(ServerCertVerified::assertion())
        });
        if let Err(e) = &result {
            log_refusal("outbound", end_entity, e);
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
