//! The waypoint's own certificate (SVID) and the mesh root, held so they can be replaced while
//! tunnels are open: every TLS handshake reads the current [`MeshCerts`], established
//! connections keep the keys they negotiated with. Sources (files reloaded on change, the mesh
//! CA's signing flow) call [`CertStore::replace`]; the TLS side only reads.

use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::RwLock;
use rustls::pki_types::CertificateDer;
use rustls::sign::CertifiedKey;
use tokio::sync::watch;

use super::identity::SpiffeId;

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
