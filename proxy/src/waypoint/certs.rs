//! The waypoint's own certificate (SVID) and the mesh root, held so they can be replaced while
//! tunnels are open: every TLS handshake reads the current [`MeshCerts`], established
//! connections keep the keys they negotiated with. Sources (files reloaded on change, the mesh
//! CA's signing flow) call [`CertStore::replace`]; the TLS side only reads.

use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::RwLock;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use tokio::sync::watch;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::identity::SpiffeId;
use super::verify::spiffe_id_of;

/// Why a certificate set cannot be used as the waypoint's identity.
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    #[error("empty certificate chain")]
    EmptyChain,
    #[error("no mesh root certificate")]
    NoRoots,
    #[error("leaf certificate does not parse: {0}")]
    Leaf(String),
    #[error("leaf certificate has no SPIFFE ID (spiffe://<td>/ns/<ns>/sa/<sa>) URI SAN")]
    NoSpiffeId,
    #[error("private key: {0}")]
    Key(#[from] rustls::Error),
}

/// One consistent set: our chain and key, our identity, and the roots peers must chain to.
pub struct MeshCerts {
    /// Our leaf first, then intermediates; with the signing key, ready for rustls resolvers.
    pub key: Arc<CertifiedKey>,
    /// The SPIFFE ID in our leaf's URI SAN.
    pub id: SpiffeId,
    /// Mesh root certificates (trust anchors for both directions).
    pub roots: Vec<CertificateDer<'static>>,
    /// Our leaf's expiry, for rotation and the "certificate expires" log line.
    pub not_after: SystemTime,
}

impl MeshCerts {
    /// Assembles a set from DER: the identity and expiry are read from the leaf, the key is
    /// loaded for signing (the ring provider, like every other TLS context of the proxy).
    pub fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        roots: Vec<CertificateDer<'static>>,
    ) -> Result<Self, CertsError> {
        let leaf = chain.first().ok_or(CertsError::EmptyChain)?;
        if roots.is_empty() {
            return Err(CertsError::NoRoots);
        }
        let (_, parsed) =
            X509Certificate::from_der(leaf).map_err(|e| CertsError::Leaf(e.to_string()))?;
        let secs = parsed.validity().not_after.timestamp().max(0) as u64;
        let not_after = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let id = spiffe_id_of(leaf).ok_or(CertsError::NoSpiffeId)?;
        let signer = crate::conn::tls::provider()
            .key_provider
            .load_private_key(key)?;
        Ok(Self {
            key: Arc::new(CertifiedKey::new(chain, signer)),
            id,
            roots,
            not_after,
        })
    }
}

/// The current [`MeshCerts`], swappable at run time.
pub struct CertStore {
    current: RwLock<Arc<MeshCerts>>,
    changed: watch::Sender<u64>,
}

impl CertStore {
    pub fn new(initial: MeshCerts) -> Arc<Self> {
        Arc::new(Self {
            current: RwLock::new(Arc::new(initial)),
            changed: watch::channel(0).0,
        })
    }

    /// What a handshake starting now uses.
    pub fn current(&self) -> Arc<MeshCerts> {
        self.current.read().clone()
    }

    /// Installs a new set; handshakes from now on use it, open connections are untouched.
    pub fn replace(&self, next: MeshCerts) {
        *self.current.write() = Arc::new(next);
        self.changed.send_modify(|g| *g += 1);
    }

    /// A receiver whose value (a generation counter) changes on every [`replace`](Self::replace),
    /// for caches built from the current set (e.g. a verifier over the roots).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}
