//! Reload triggering: SIGHUP, or the configuration file's content changing (polled, by
//! default every second), loads the file again; a configuration that loads is published on a
//! `tokio::sync::watch` channel for the proxy to apply, one that fails is logged and dropped,
//! and the running configuration keeps serving.
//!
//! Polling the content (not mtime alone) catches editors that replace the file and
//! `ConfigMap` symlink swaps, and costs one small read per second. A change is loaded once two
//! consecutive polls see the same new content, so a file caught mid-write is never applied. Files the configuration
//! references (wasm modules, certificates) are not watched: send SIGHUP after changing them;
//! a SIGHUP always publishes, even when the configuration itself is unchanged.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::{load, Config};

/// What triggers a reload, and where attempts are counted.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// How often to check the file's content; `None` disables polling.
    pub poll: Option<Duration>,
    /// Reload on SIGHUP (Unix).
    pub sighup: bool,
    pub metrics: Option<ReloadMetrics>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            poll: Some(Duration::from_secs(1)),
            sighup: true,
            metrics: None,
        }
    }
}

/// Outcome of loading the file again.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum ReloadResult {
    ok,
    error,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    pub result: ReloadResult,
}

/// `config_reloads_total{result="ok"|"error"}`: a rejected file is visible to alerting, not
/// only in the log.
#[derive(Debug, Clone, Default)]
pub struct ReloadMetrics {
    pub reloads: Family<ReloadLabels, Counter>,
    /// The consumer counts a reload once it is applied (a file can load and still fail to
    /// build), so the watcher only counts files that fail to load.
    applied_elsewhere: bool,
}

impl ReloadMetrics {
    pub fn new(registry: &mut Registry) -> ReloadMetrics {
        let m = ReloadMetrics::default();
        registry.register(
            "config_reloads",
            "Configuration file loads after start, by result",
            m.reloads.clone(),
        );
        m
    }

    /// The same counters, for a watcher whose consumer calls [`ReloadMetrics::record`] with
    /// the outcome of applying each loaded file.
    pub fn load_errors_only(&self) -> ReloadMetrics {
        ReloadMetrics {
            reloads: self.reloads.clone(),
            applied_elsewhere: true,
        }
    }

    pub fn record(&self, result: ReloadResult) {
        self.reloads.get_or_create(&ReloadLabels { result }).inc();
    }
}

/// A running watcher; dropping it stops watching.
pub struct ConfigWatcher {
    rx: watch::Receiver<Arc<Config>>,
    trigger: Arc<Notify>,
    task: JoinHandle<()>,
}

impl ConfigWatcher {
    /// Starts watching `path`, whose current configuration is `initial`. Must be called
    /// inside a tokio runtime; the SIGHUP handler is installed before this returns.
    pub fn spawn(
        path: &Path,
        initial: Arc<Config>,
        options: WatchOptions,
    ) -> std::io::Result<ConfigWatcher> {
        #[cfg(unix)]
        let hangup = if options.sighup {
            Some(tokio::signal::unix::signal(
                tokio::signal::unix::SignalKind::hangup(),
            )?)
        } else {
            None
        };
        #[cfg(not(unix))]
        let hangup: Option<()> = None;
        let (tx, rx) = watch::channel(initial);
        let trigger = Arc::new(Notify::new());
        let mut state = Poller {
            path: path.to_path_buf(),
            last: content_hash(path),
            pending: None,
            tx,
            metrics: options.metrics.clone(),
        };
        let manual = trigger.clone();
        let task = tokio::spawn(async move {
            let mut hangup = hangup;
            let mut ticker = options.poll.map(|p| {
                let mut t = tokio::time::interval(p);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            loop {
                let forced = tokio::select! {
                    _ = manual.notified() => true,
                    Some(()) = sighup(&mut hangup) => {
                        tracing::info!("SIGHUP: reloading {}", state.path.display());
                        true
                    }
                    _ = tick(&mut ticker) => false,
                };
                state.check(forced);
            }
        });
        Ok(ConfigWatcher { rx, trigger, task })
    }

    /// A receiver of every configuration that loaded successfully (starting with the initial
    /// one, already marked seen).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
        self.rx.clone()
    }

    /// Reloads now, as SIGHUP does.
    pub fn trigger(&self) {
        self.trigger.notify_one();
    }
}

impl Drop for ConfigWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Poller {
    path: PathBuf,
    /// Hash of the content last loaded or attempted, so a broken file is reported once.
    last: Option<u64>,
    /// A changed content seen by the previous poll: it is loaded once a second poll sees it
    /// unchanged, so a file caught mid-write (truncated, half written) is never loaded.
    pending: Option<u64>,
    tx: watch::Sender<Arc<Config>>,
    metrics: Option<ReloadMetrics>,
}

impl Poller {
    fn check(&mut self, forced: bool) {
        let now = content_hash(&self.path);
        if !forced {
            if now == self.last {
                self.pending = None;
                return;
            }
            if self.pending != now {
                self.pending = now;
                return;
            }
        }
        self.pending = None;
        self.last = now;
        let result = match load(&self.path) {
            Ok(config) => {
                tracing::info!("configuration reloaded from {}", self.path.display());
                self.tx.send_replace(Arc::new(config));
                ReloadResult::ok
            }
            Err(e) => {
                tracing::error!("{e}; keeping the running configuration");
                ReloadResult::error
            }
        };
        if let Some(m) = &self.metrics {
            if !(m.applied_elsewhere && result == ReloadResult::ok) {
                m.record(result);
            }
        }
    }
}

fn content_hash(path: &Path) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    Some(h.finish())
}

async fn tick(ticker: &mut Option<tokio::time::Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(unix)]
async fn sighup(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn sighup(_: &mut Option<()>) -> Option<()> {
    std::future::pending().await
}
