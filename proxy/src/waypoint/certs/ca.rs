//! Certificates from the mesh CA, as istio-agent and ztunnel obtain theirs: generate a key pair,
//! send a CSR whose URI SAN is our SPIFFE ID with the pod's projected service-account token as
//! the bearer credential, and get back a chain (leaf first, root last).
//!
//! The key never leaves the process. The certificate is renewed at half of its lifetime; a
//! failed renewal is retried with backoff (1 s doubling to 30 s) while the current set keeps
//! serving, and the "expires soon / expired" log lines say so if it goes on too long.

mod grpc;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{CertificateParams, DistinguishedName, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::task::JoinHandle;

pub use grpc::{frame, unframe, CaClient, IstioCertificateRequest, IstioCertificateResponse, PATH};

use super::expiry::ExpiryLog;
use super::leaf::{assemble, fmt_time, Origin};
use super::{CaConfig, CaError, CertError, CertStore, MeshCerts};
use crate::config::DataSource;
use crate::conn::tls::root_store;
use crate::waypoint::identity::SpiffeId;

const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Least time between two renewals, so a CA issuing oddly backdated certificates (half the
/// lifetime already gone) cannot make us ask in a loop.
const MIN_RENEWAL_GAP: Duration = Duration::from_secs(1);

/// A configured CA and what to ask it for.
pub struct CaSource {
    client: CaClient,
    token_file: PathBuf,
    identity: SpiffeId,
    validity: Duration,
}

impl CaSource {
    /// From a resolved configuration: reads the CA root now (the token is read per request).
    pub fn new(cfg: &CaConfig) -> Result<CaSource, CertError> {
        let identity = cfg
            .identity
            .parse::<SpiffeId>()
            .map_err(|source| CertError::Identity {
                identity: cfg.identity.clone(),
                source,
            })?;
        let tls = match (&cfg.root, cfg.tls()) {
            (Some(root), true) => {
                let roots = root_store(&DataSource::File(root.clone()))?;
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let mut tls = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(crate::conn::tls::TlsError::from)?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                tls.alpn_protocols = vec![b"h2".to_vec()];
                Some(Arc::new(tls))
            }
            _ => None,
        };
        Ok(CaSource {
            client: CaClient::new(&cfg.address, tls)?,
            token_file: cfg.token_file.clone(),
            identity,
            validity: cfg.validity,
        })
    }

    /// One signing exchange: a fresh key, a CSR, the CA's chain, checked into a set.
    pub async fn fetch(&self) -> Result<MeshCerts, CertError> {
        let (key, csr) = self.csr()?;
        let token = self.token()?;
        let request = IstioCertificateRequest {
            csr,
            validity_duration: self.validity.as_secs().max(1) as i64,
        };
        let response = self.client.create_certificate(&request, &token).await?;
        let address = self.client.address();
        let invalid = |reason: String| CaError::Response {
            address: address.to_owned(),
            reason,
        };
        let mut certs: Vec<CertificateDer<'static>> = Vec::new();
        for pem in &response.cert_chain {
            for c in rustls_pemfile::certs(&mut pem.as_bytes()) {
                certs.push(c.map_err(|e| invalid(format!("cert_chain PEM: {e}")))?);
            }
        }
        if certs.len() < 2 {
            return Err(invalid(format!(
                "cert_chain has {} certificate(s); expected the leaf and the root",
                certs.len()
            ))
            .into());
        }
        let root = certs.pop().into_iter().collect();
        let (cert_name, root_name) = (
            format!("CA {address} cert_chain"),
            format!("CA {address} cert_chain (last, the root)"),
        );
        let origin = Origin {
            cert: &cert_name,
            key: "the generated key",
            root: &root_name,
        };
        let set = assemble(certs, key, root, &origin, SystemTime::now())?;
        if set.id != self.identity {
            return Err(CertError::WrongIdentity {
                want: self.identity.to_string(),
                got: set.id.to_string(),
            });
        }
        Ok(set)
    }

    /// Renews into `store` at half of each certificate's lifetime, until aborted.
    pub fn rotate(self, store: Arc<CertStore>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut expiry = ExpiryLog::default();
            loop {
                let wait = until_renewal(&store.current(), SystemTime::now()).max(MIN_RENEWAL_GAP);
                tokio::time::sleep(wait).await;
                let mut backoff = BACKOFF_START;
                loop {
                    match self.fetch().await {
                        Ok(certs) => {
                            tracing::info!(
                                "waypoint certificate renewed by {}: {}, valid until {}",
                                self.client.address(),
                                certs.id,
                                fmt_time(certs.not_after)
                            );
                            store.replace(certs);
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(
                                "renewing the waypoint certificate: {e}; retrying in {backoff:?}, \
                                 the current certificate keeps serving"
                            );
                            expiry.check(&store.current(), "the mesh CA");
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(BACKOFF_MAX);
                        }
                    }
                }
            }
        })
    }

    /// A new ECDSA P-256 key and a PEM CSR carrying only our SPIFFE ID (the CA sets the rest).
    fn csr(&self) -> Result<(PrivateKeyDer<'static>, String), CertError> {
        let fail = |e: rcgen::Error| CaError::Csr(e.to_string());
        let key = KeyPair::generate().map_err(fail)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        let uri = self.identity.to_string().try_into().map_err(fail)?;
        params.subject_alt_names = vec![SanType::URI(uri)];
        let csr = params.serialize_request(&key).map_err(fail)?;
        let pem = csr.pem().map_err(fail)?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok((der, pem))
    }

    fn token(&self) -> Result<String, CaError> {
        let raw = std::fs::read_to_string(&self.token_file).map_err(|source| CaError::Token {
            path: self.token_file.clone(),
            source,
        })?;
        let token = raw.trim();
        if token.is_empty() {
            return Err(CaError::EmptyToken {
                path: self.token_file.clone(),
            });
        }
        Ok(token.to_owned())
    }
}

/// Time left until half of the current leaf's lifetime has passed (zero if it has).
pub fn until_renewal(certs: &MeshCerts, now: SystemTime) -> Duration {
    let not_before = certs.not_before().unwrap_or(now);
    let lifetime = certs
        .not_after
        .duration_since(not_before)
        .unwrap_or_default();
    (not_before + lifetime / 2)
        .duration_since(now)
        .unwrap_or_default()
}
