//! Certificates from PEM files (a mounted Secret, cert-manager, an agent writing files),
//! reloaded when their content changes.
//!
//! The three files are polled every second and hashed together, like the configuration file
//! (`config::watch`): a new content is loaded once two consecutive polls see it unchanged,
//! so a set caught mid-write (a new cert with the old key) is never tried. A set that loads is
//! installed with [`CertStore::replace`]: new handshakes use it, open tunnels keep the keys
//! they negotiated. A set that fails is logged, once per content, and the old set keeps serving.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;

use super::expiry::ExpiryLog;
use super::leaf::{assemble, Origin};
use super::{CertError, CertStore, FilesConfig, MeshCerts};
use crate::config::{DataSource, Secret};
use crate::conn::tls::{load_certs, load_key};

/// How often the files are checked.
pub const POLL: Duration = Duration::from_secs(1);

/// The chain, key and root files of one certificate set.
#[derive(Debug, Clone)]
pub struct FileSource {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub root: PathBuf,
}

impl FileSource {
    /// From resolved (absolute or cwd-relative) paths.
    pub fn new(cfg: &FilesConfig) -> FileSource {
        FileSource {
            cert: cfg.cert.clone(),
            key: cfg.key.clone(),
            root: cfg.root.clone(),
        }
    }

    /// Reads and checks the set now.
    pub fn load(&self) -> Result<MeshCerts, CertError> {
        let chain = load_certs(&DataSource::File(self.cert.clone()))?;
        let key = load_key(&Secret(DataSource::File(self.key.clone())))?;
        let roots = load_certs(&DataSource::File(self.root.clone()))?;
        let (cert, keyp, root) = (
            self.cert.display().to_string(),
            self.key.display().to_string(),
            self.root.display().to_string(),
        );
        let origin = Origin {
            cert: &cert,
            key: &keyp,
            root: &root,
        };
        assemble(chain, key, roots, &origin, SystemTime::now())
    }

    /// Polls the files every `every` and installs each valid new set into `store`; also logs
    /// the current certificate's approaching expiry. The task runs until aborted.
    pub fn watch(self, store: Arc<CertStore>, every: Duration) -> JoinHandle<()> {
        let mut poller = Poller {
            last: self.content_hash(),
            pending: None,
            source: self,
        };
        let mut expiry = ExpiryLog::default();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                poller.check(&store);
                expiry.check(&store.current(), "the certificate files");
            }
        })
    }

    /// One hash over the three contents; `None` when any is unreadable (so its coming back is
    /// a change too).
    fn content_hash(&self) -> Option<u64> {
        let mut h = DefaultHasher::new();
        for p in [&self.cert, &self.key, &self.root] {
            read(p)?.hash(&mut h);
        }
        Some(h.finish())
    }
}

fn read(p: &Path) -> Option<Vec<u8>> {
    std::fs::read(p).ok()
}

struct Poller {
    source: FileSource,
    /// The content last loaded or attempted, so a broken set is reported once.
    last: Option<u64>,
    /// A new content seen by the previous poll, loaded if this poll sees it again.
    pending: Option<u64>,
}

impl Poller {
    fn check(&mut self, store: &CertStore) {
        let now = self.source.content_hash();
        if now == self.last {
            self.pending = None;
            return;
        }
        if self.pending != now {
            self.pending = now;
            return;
        }
        self.pending = None;
        self.last = now;
        match self.source.load() {
            Ok(certs) => {
                tracing::info!(
                    "waypoint certificate reloaded from {}: {}, valid until {}",
                    self.source.cert.display(),
                    certs.id,
                    super::leaf::fmt_time(certs.not_after)
                );
                store.replace(certs);
            }
            Err(e) => tracing::error!("{e}; keeping the current waypoint certificate"),
        }
    }
}
