//! The admin server: `/metrics`, `/ready`, `/config_dump`, `/logging`, `/healthz`.
//!
//! It runs on its own thread with its own single-threaded tokio runtime, so a slow or heavy
//! scrape never competes with data-plane workers for their schedulers. Everything
//! it shows comes through [`AdminState`]: the proxy's metrics registry, a hook returning the
//! filter-defined metrics, the configuration currently applied, a readiness flag and a log
//! level hook.
//!
//! Wiring, as `serve` would do it:
//! ```no_run
//! # use std::sync::{Arc, Mutex};
//! # use microwaf_proxy::{admin, config};
//! # async fn serve(path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
//! let log_level = admin::init_reloadable_logging("info")?;
//! let cfg = Arc::new(config::load(path)?);
//! let registry = Arc::new(Mutex::new(prometheus_client::registry::Registry::default()));
//! let reloads = config::watch::ReloadMetrics::new(&mut registry.lock().unwrap());
//! let options = config::watch::WatchOptions { metrics: Some(reloads), ..Default::default() };
//! let watcher = config::watch::ConfigWatcher::spawn(path, cfg.clone(), options)?;
//! let (applied_tx, applied_rx) = tokio::sync::watch::channel(cfg.clone());
//! let ready = admin::Readiness::default();
//! let reg = registry.clone();
//! let state = admin::AdminState::new(applied_rx, ready.clone())
//!     .with_registry_fn(Arc::new(move |out: &mut String| {
//!         prometheus_client::encoding::text::encode(out, &reg.lock().unwrap())
//!     }))
//!     .with_log_level(log_level);
//! let _admin = match cfg.admin {
//!     Some(addr) => Some(admin::spawn(addr, state)?),
//!     None => None,
//! };
//! // ... bind listeners, configure plugins, then:
//! ready.set(true);
//! let mut candidates = watcher.subscribe();
//! while candidates.changed().await.is_ok() {
//!     let next = candidates.borrow_and_update().clone();
//!     // Apply `next` (build state, load plugins); only once it serves:
//!     applied_tx.send_replace(next);
//! }
//! # Ok(())
//! # }
//! ```

mod logging;
mod prom;
mod service;
mod tags;

pub use logging::{
    init_reloadable_logging, init_reloadable_logging_as, installed_log_level, LogFormat, LogLevelFn,
};
pub use prom::{
    render as render_metrics, FilterMetric, FilterMetricValue, HistogramSnapshot, CONTENT_TYPE,
};
pub use tags::{extract as extract_tags, Tagged};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio::sync::{oneshot, watch};

use crate::config::Config;

/// Returns the current value of every filter-defined metric (supplied by the wasm runtime).
/// Called on the admin thread once per scrape; it must not block for long.
pub type FilterMetricsFn = Arc<dyn Fn() -> Vec<FilterMetric> + Send + Sync>;

/// Appends the proxy's own metrics (a `prometheus-client` text encoding) to the buffer.
pub type RegistryFn = Arc<dyn Fn(&mut String) -> std::fmt::Result + Send + Sync>;

/// Returns the configuration currently serving traffic.
pub type ConfigFn = Arc<dyn Fn() -> Arc<Config> + Send + Sync>;

/// Readiness: false until the proxy sets it (listeners bound and every plugin configured),
/// plus details `/ready` lists: conditions that do not stop traffic but need an operator (a
/// reloaded source that failed while the previous one keeps serving). Cheap to clone; all
/// clones share the flag and the details.
#[derive(Clone, Default, Debug)]
pub struct Readiness {
    ready: Arc<AtomicBool>,
    /// Component → what is wrong with it; ordered so `/ready` reads the same every time.
    details: Arc<parking_lot::Mutex<std::collections::BTreeMap<String, String>>>,
}

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Records (`Some`) or clears (`None`) what is wrong with `component`.
    pub fn set_detail(&self, component: &str, detail: Option<String>) {
        let mut details = self.details.lock();
        match detail {
            Some(d) => details.insert(component.to_owned(), d),
            None => details.remove(component),
        };
    }

    /// Every recorded detail, by component.
    pub fn details(&self) -> Vec<(String, String)> {
        let details = self.details.lock();
        details
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// What the admin server reads: closures, so the proxy keeps its state however it likes
/// (a `watch` channel, a `Mutex`…). Build with [`AdminState::new`] or
/// [`AdminState::from_fn`] and the `with_*` methods.
#[derive(Clone)]
pub struct AdminState {
    /// The applied configuration: `/config_dump` prints it and `/metrics` uses its
    /// `stats_tags`, so both follow reloads.
    pub config: ConfigFn,
    pub ready: Readiness,
    pub registry: Option<RegistryFn>,
    pub filter_metrics: Option<FilterMetricsFn>,
    pub log_level: Option<LogLevelFn>,
    /// Which endpoints this server exposes.
    pub surface: Surface,
}

/// The endpoint set of one server. A waypoint's mesh ports are bound on every interface (the
/// kubelet probes 15021, Prometheus scrapes 15020), so they expose nothing but their one
/// read-only endpoint; the full admin surface (config dump, log level) stays on its own,
/// localhost-only address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Surface {
    /// Every admin endpoint.
    #[default]
    Admin,
    /// Istio's readiness port: `/healthz/ready` only.
    MeshHealth,
    /// Istio's merged-metrics port: `/metrics` (and `/stats/prometheus`) only.
    MeshMetrics,
}

impl AdminState {
    /// Follows the applied configurations sent on a `watch` channel.
    pub fn new(config: watch::Receiver<Arc<Config>>, ready: Readiness) -> AdminState {
        Self::from_fn(Arc::new(move || config.borrow().clone()), ready)
    }

    /// Reads the applied configuration through `config` (e.g. from behind a lock).
    pub fn from_fn(config: ConfigFn, ready: Readiness) -> AdminState {
        AdminState {
            config,
            ready,
            registry: None,
            filter_metrics: None,
            log_level: None,
            surface: Surface::Admin,
        }
    }

    /// The same state serving only `surface`'s endpoints.
    pub fn with_surface(mut self, surface: Surface) -> Self {
        self.surface = surface;
        self
    }

    /// Serves a registry that no longer changes shape.
    pub fn with_registry(self, registry: Arc<Registry>) -> Self {
        self.with_registry_fn(Arc::new(move |out: &mut String| {
            prometheus_client::encoding::text::encode(out, &registry)
        }))
    }

    /// Serves metrics encoded by `f`, e.g. from a registry behind a lock:
    /// `move |out| prometheus_client::encoding::text::encode(out, &registry.lock())`.
    pub fn with_registry_fn(mut self, f: RegistryFn) -> Self {
        self.registry = Some(f);
        self
    }

    pub fn with_filter_metrics(mut self, f: FilterMetricsFn) -> Self {
        self.filter_metrics = Some(f);
        self
    }

    pub fn with_log_level(mut self, f: LogLevelFn) -> Self {
        self.log_level = Some(f);
        self
    }
}

/// Why the admin server could not start.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("admin: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("admin: cannot start its thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// A running admin server. Dropping it (or [`AdminHandle::shutdown`]) stops it.
pub struct AdminHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AdminHandle {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes connections and waits for the thread to end.
    pub fn shutdown(mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for AdminHandle {
    fn drop(&mut self) {
        // Dropping the sender wakes the server; the thread then exits on its own.
        self.stop.take();
    }
}

/// Binds `addr` (errors surface here, synchronously) and serves the admin endpoints on a
/// dedicated thread.
pub fn spawn(addr: SocketAddr, state: AdminState) -> Result<AdminHandle, AdminError> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| AdminError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| AdminError::Bind { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| AdminError::Bind { addr, source })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(AdminError::Thread)?;
    let (stop, stopped) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("microwaf-admin".into())
        .spawn(move || runtime.block_on(service::serve(listener, Arc::new(state), stopped)))
        .map_err(AdminError::Thread)?;
    tracing::info!(address = %bound, "admin server listening");
    Ok(AdminHandle {
        addr: bound,
        stop: Some(stop),
        thread: Some(thread),
    })
}
