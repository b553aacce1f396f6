//! The waypoint's own certificate (SVID) and the mesh root, held so they can be replaced while
//! tunnels are open: every TLS handshake reads the current [`MeshCerts`], established
//! connections keep the keys they negotiated with. Sources (files reloaded on change, the mesh
//! CA's signing flow) call [`CertStore::replace`]; the TLS side only reads.
//!
//! - [`config`]: where the certificates come from ([`CertsConfig`]).
//! - [`files`]: PEM files, polled and reloaded on change.
//! - [`ca`]: the mesh CA's CSR flow, renewed at half-life.
//! - [`start`]: obtains the first set (before the listeners bind) and keeps it fresh.

pub mod ca;
pub mod config;
mod error;
pub mod expiry;
pub mod files;
mod leaf;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::RwLock;
use rustls::pki_types::CertificateDer;
use rustls::sign::CertifiedKey;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::identity::SpiffeId;

pub use config::{CaConfig, CertsConfig, FilesConfig};
pub use error::{CaError, CertError};

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
    /// Checks and assembles a set from DER parts held in memory (tests, embedders): the same
    /// checks as the file and CA sources, with the parts named generically in errors.
    pub fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: rustls::pki_types::PrivateKeyDer<'static>,
        roots: Vec<CertificateDer<'static>>,
    ) -> Result<Self, CertError> {
        Self::from_der_at(chain, key, roots, SystemTime::now())
    }

    /// [`from_der`](Self::from_der) with the validity checked at `now`: lets a test hold an
    /// already expired certificate to prove that peers refuse it.
    pub fn from_der_at(
        chain: Vec<CertificateDer<'static>>,
        key: rustls::pki_types::PrivateKeyDer<'static>,
        roots: Vec<CertificateDer<'static>>,
        now: SystemTime,
    ) -> Result<Self, CertError> {
        let origin = leaf::Origin {
            cert: "certificate chain",
            key: "private key",
            root: "root certificates",
        };
        leaf::assemble(chain, key, roots, &origin, now)
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

    /// How many times the set was replaced since start.
    pub fn generation(&self) -> u64 {
        *self.changed.borrow()
    }
}

/// Loads the first certificate set from `cfg` (relative paths against `base_dir`) and starts
/// the task that keeps it fresh: the file watcher, or the CA renewal loop. Returns once the
/// first set is in the store, so listeners can bind with a certificate; the task runs until
/// the handle is aborted.
pub async fn start(
    cfg: &CertsConfig,
    base_dir: &Path,
) -> Result<(Arc<CertStore>, JoinHandle<()>), CertError> {
    let (certs, source) = first(cfg, base_dir).await?;
    let store = CertStore::new(certs);
    let task = source.keep_fresh(store.clone());
    Ok((store, task))
}

/// Switches an existing store to a new source (a configuration reload changed
/// `waypoint.certs`): loads the first set, installs it, and returns the task keeping it fresh.
/// On error the store is untouched, so the caller's old source can keep running.
pub async fn restart(
    cfg: &CertsConfig,
    base_dir: &Path,
    store: &Arc<CertStore>,
) -> Result<JoinHandle<()>, CertError> {
    let (certs, source) = first(cfg, base_dir).await?;
    store.replace(certs);
    Ok(source.keep_fresh(store.clone()))
}

/// A source that produced its first set and can now keep a store fresh.
enum Source {
    Files(files::FileSource),
    Ca(ca::CaSource),
}

impl Source {
    fn keep_fresh(self, store: Arc<CertStore>) -> JoinHandle<()> {
        match self {
            Source::Files(f) => f.watch(store, files::POLL),
            Source::Ca(c) => c.rotate(store),
        }
    }
}

async fn first(cfg: &CertsConfig, base_dir: &Path) -> Result<(MeshCerts, Source), CertError> {
    match cfg.resolved(base_dir) {
        CertsConfig::Files(f) => {
            let source = files::FileSource::new(&f);
            let certs = source.load()?;
            tracing::info!(
                "waypoint certificate from {}: {}, valid until {}",
                f.cert.display(),
                certs.id,
                leaf::fmt_time(certs.not_after)
            );
            Ok((certs, Source::Files(source)))
        }
        CertsConfig::Ca(c) => {
            let source = ca::CaSource::new(&c)?;
            let certs = source.fetch().await?;
            tracing::info!(
                "waypoint certificate from the mesh CA {}: {}, valid until {}",
                c.address,
                certs.id,
                leaf::fmt_time(certs.not_after)
            );
            Ok((certs, Source::Ca(source)))
        }
    }
}
