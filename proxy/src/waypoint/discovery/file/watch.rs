//! Reloading the discovery file: its content is polled (once a second by default), a new
//! content that parses replaces the published [`Registry`](super::super::Registry), one that
//! does not is logged and the running registry keeps serving.
//!
//! As for the main configuration (`config::watch`), the content is hashed rather than the
//! mtime checked, which catches `ConfigMap` symlink swaps, and a change is loaded only once two
//! consecutive polls see it, so a file caught mid-write is never applied.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::load;
use crate::config::ConfigError;
use crate::waypoint::discovery::Publisher;

/// Loads `path` now (an unreadable or invalid file is an error: the waypoint must not start
/// without destinations), publishes it, and polls it every `interval` from then on. Must be
/// called inside a tokio runtime; aborting the handle stops watching.
pub fn watch(
    path: &Path,
    publisher: Publisher,
    interval: Duration,
) -> Result<JoinHandle<()>, ConfigError> {
    let last = content_hash(path);
    let registry = load(path)?;
    tracing::info!(
        services = registry.by_host.len(),
        workloads = registry.workloads.len(),
        "discovery file {} loaded",
        path.display()
    );
    publisher.publish(registry);
    let mut poller = Poller {
        path: path.to_path_buf(),
        last,
        pending: None,
        publisher,
    };
    Ok(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            poller.check();
        }
    }))
}

struct Poller {
    path: PathBuf,
    /// Hash of the content last loaded or attempted, so a broken file is reported once.
    last: Option<u64>,
    /// A new content seen by the previous poll, loaded when the next poll sees it unchanged.
    pending: Option<u64>,
    publisher: Publisher,
}

impl Poller {
    fn check(&mut self) {
        let now = content_hash(&self.path);
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
        match load(&self.path) {
            Ok(registry) => {
                tracing::info!(
                    services = registry.by_host.len(),
                    workloads = registry.workloads.len(),
                    "discovery file {} reloaded",
                    self.path.display()
                );
                self.publisher.publish(registry);
            }
            Err(e) => tracing::error!("{e}; keeping the running discovery registry"),
        }
    }
}

fn content_hash(path: &Path) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    Some(h.finish())
}
