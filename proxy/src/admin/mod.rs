//! The admin server: `/metrics`, `/ready`, `/config_dump`, `/logging`, `/healthz`.
//!
//! It runs on its own thread with its own single-threaded tokio runtime, so a slow or heavy
//! scrape never competes with data-plane workers for their schedulers (DESIGN §1). Everything
//! it shows comes through [`AdminState`]: the proxy's metrics registry, a hook returning the
//! filter-defined metrics, the configuration currently applied, a readiness flag and a log
//! level hook.

mod logging;
mod prom;
mod service;
mod tags;

pub use logging::{init_reloadable_logging, LogLevelFn};
pub use prom::{FilterMetric, FilterMetricValue, HistogramSnapshot, CONTENT_TYPE};
pub use tags::{extract as extract_tags, Tagged};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio::sync::{oneshot, watch};

use crate::config::Config;

/// Returns the current value of every filter-defined metric (supplied by the wasm runtime).
pub type FilterMetricsFn = Arc<dyn Fn() -> Vec<FilterMetric> + Send + Sync>;

/// Readiness: false until the proxy sets it (listeners bound and every plugin configured).
/// Cheap to clone; all clones share the flag.
#[derive(Clone, Default, Debug)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What the admin server reads. Build with [`AdminState::new`] and the `with_*` methods.
#[derive(Clone)]
pub struct AdminState {
    /// The configuration currently serving traffic (the proxy sends each applied reload);
    /// `/config_dump` prints it and `/metrics` uses its `stats_tags`.
    pub config: watch::Receiver<Arc<Config>>,
    pub ready: Readiness,
    pub registry: Option<Arc<Registry>>,
    pub filter_metrics: Option<FilterMetricsFn>,
    pub log_level: Option<LogLevelFn>,
}

impl AdminState {
    pub fn new(config: watch::Receiver<Arc<Config>>, ready: Readiness) -> AdminState {
        AdminState {
            config,
            ready,
            registry: None,
            filter_metrics: None,
            log_level: None,
        }
    }

    pub fn with_registry(mut self, registry: Arc<Registry>) -> Self {
        self.registry = Some(registry);
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
