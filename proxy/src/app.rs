//! The proxy as an application: config → state → listeners, reload, signals, drain. `serve`,
//! `demo` and the integration tests all start it through [`App`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::admin::{self, AdminError, AdminHandle, AdminState, Readiness, Surface};
use crate::build::{self, BuildError, FilterLoader};
use crate::config::watch::{ReloadMetrics, ReloadResult, WatchOptions};
use crate::config::{Config, WasmPlugin};
use crate::metrics::Metrics;
use crate::server::Proxy;
use crate::waypoint::metrics::TunnelMetrics;
use crate::waypoint::sources::ConfiguredSources;
use crate::waypoint::{MeshSources, Waypoint, WaypointError};
use crate::worker::{WorkerError, Workers};
use microwaf_runtime::{Runtime, RuntimeConfig};

/// Why the proxy could not start or reload.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("{0}")]
    Bind(#[from] std::io::Error),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("wasm runtime: {0}")]
    Runtime(#[from] microwaf_runtime::RuntimeError),
    #[error(transparent)]
    Waypoint(#[from] WaypointError),
    #[error(transparent)]
    Workers(#[from] WorkerError),
}

/// A running proxy plus what reload needs.
pub struct App {
    proxy: Proxy,
    pub registry: Arc<Registry>,
    /// The configuration serving traffic; the admin server's `/config_dump` follows it.
    config: watch::Sender<Arc<Config>>,
    pub ready: Readiness,
    /// Replaced when a reload changes the admin address.
    admin: parking_lot::Mutex<Option<AdminHandle>>,
    /// Waypoint mode: the health (15021) and metrics (15020) servers.
    mesh_ports: Vec<(Surface, AdminHandle)>,
    /// The wasm runtime plugins load into (reloads reuse it and its module cache).
    runtime: Option<Arc<Runtime>>,
    /// `config_reloads_total`, counted by [`apply_reloads`].
    pub reload_metrics: ReloadMetrics,
    /// Waypoint mode: the HBONE side and its bound address.
    waypoint: Option<(Arc<Waypoint>, SocketAddr)>,
}

impl App {
    /// Builds the state and binds every listener; the data plane runs on the caller's
    /// runtime.
    pub async fn start(cfg: Config) -> Result<Self, StartError> {
        Self::start_on(cfg, Workers::inline()).await
    }

    /// Like [`App::start`], with the data plane on `workers` (`serve`: one thread per worker,
    /// each listener bound once per worker). The caller's runtime keeps the background work:
    /// reloads, DNS refresh, discovery, the waypoint's HBONE accept loop.
    pub async fn start_on(cfg: Config, workers: Workers) -> Result<Self, StartError> {
        let rt_config = runtime_config(&cfg);
        let slots = rt_config.max_instances;
        let runtime = Arc::new(Runtime::new(rt_config)?);
        let wasm_pool = crate::wasm_pool_metrics::collector(&runtime, slots);
        let mut load = crate::wasm::loader(runtime.clone());
        let mut app = Self::start_inner(cfg, &mut load, Some(wasm_pool), None, workers).await?;
        app.runtime = Some(runtime);
        Ok(app)
    }

    /// Like [`App::start`], with the waypoint's certificates and discovery supplied by the
    /// caller instead of the configuration's `waypoint.certs` / `waypoint.discovery`.
    pub async fn start_mesh(cfg: Config, sources: MeshSources) -> Result<Self, StartError> {
        let rt_config = runtime_config(&cfg);
        let slots = rt_config.max_instances;
        let runtime = Arc::new(Runtime::new(rt_config)?);
        let wasm_pool = crate::wasm_pool_metrics::collector(&runtime, slots);
        let mut load = crate::wasm::loader(runtime.clone());
        let mut app = Self::start_inner(
            cfg,
            &mut load,
            Some(wasm_pool),
            Some(sources),
            Workers::inline(),
        )
        .await?;
        app.runtime = Some(runtime);
        Ok(app)
    }

    /// Like [`App::start`] with a custom filter loader (tests).
    pub async fn start_with(cfg: Config, load: &mut FilterLoader<'_>) -> Result<Self, StartError> {
        Self::start_inner(cfg, load, None, None, Workers::inline()).await
    }

    async fn start_inner(
        cfg: Config,
        load: &mut FilterLoader<'_>,
        wasm_pool: Option<Box<dyn prometheus_client::collector::Collector>>,
        sources: Option<MeshSources>,
        workers: Workers,
    ) -> Result<Self, StartError> {
        let mut registry = Registry::default();
        let metrics = Arc::new(Metrics::new(&mut registry));
        let reload_metrics = ReloadMetrics::new(&mut registry);
        if let Some(c) = wasm_pool {
            registry.register_collector(c);
        }
        let ready = Readiness::default();
        let state = build::build(&cfg, load, workers.threads())?;
        let proxy = Proxy::start(state, metrics, workers).await?;
        proxy.register_pool_metrics(&mut registry);
        let waypoint = match &cfg.waypoint {
            Some(w) => {
                let (sources, configured) = match sources {
                    Some(s) => (s, None),
                    None => {
                        let (s, c) =
                            ConfiguredSources::start(w, &mut registry, ready.clone()).await?;
                        (s, Some(c))
                    }
                };
                let tunnel_metrics = Arc::new(TunnelMetrics::new(&mut registry));
                let drain = proxy
                    .drain_watcher()
                    .expect("a proxy that just started is not draining");
                let (wp, addr) =
                    Waypoint::start(w, sources, proxy.shared().clone(), tunnel_metrics, drain)
                        .await?;
                if let Some(c) = configured {
                    wp.adopt(c).await;
                }
                Some((wp, addr))
            }
            None => None,
        };
        let registry = Arc::new(registry);
        let admin_addr = cfg.admin;
        let (config, _) = watch::channel(Arc::new(cfg));
        let mut app = Self {
            proxy,
            registry,
            config,
            ready,
            admin: parking_lot::Mutex::new(None),
            mesh_ports: Vec::new(),
            runtime: None,
            reload_metrics,
            waypoint,
        };
        if let Some(addr) = admin_addr {
            let handle = app.spawn_admin(addr)?;
            *app.admin.get_mut() = Some(handle);
        }
        // The mesh ports, off the data-plane workers like the admin server.
        if let (Some(w), Some(_)) = (app.config().waypoint.clone(), &app.waypoint) {
            for (addr, surface) in [
                (w.health, Surface::MeshHealth),
                (w.metrics, Surface::MeshMetrics),
            ] {
                let handle = admin::spawn(addr, app.admin_state().with_surface(surface))?;
                app.mesh_ports.push((surface, handle));
            }
        }
        // Listeners are bound and every plugin loaded (build fails otherwise). A waypoint is
        // ready only once discovery has synced: before that every tunnel would get a 503.
        match &app.waypoint {
            Some((wp, _)) if !wp.discovery.ready() => {
                let (ready, mut discovery) = (app.ready.clone(), wp.discovery.clone());
                tokio::spawn(async move {
                    while !discovery.ready() {
                        if !discovery.changed().await {
                            return;
                        }
                    }
                    ready.set(true);
                });
            }
            _ => app.ready.set(true),
        }
        Ok(app)
    }

    /// Starts an admin server on `addr` over this app's registry, configuration and
    /// readiness.
    fn spawn_admin(&self, addr: SocketAddr) -> Result<AdminHandle, AdminError> {
        admin::spawn(addr, self.admin_state())
    }

    /// What the admin server and the mesh ports read: the applied configuration, readiness,
    /// the registry and the filters' own metrics of the current generation.
    fn admin_state(&self) -> AdminState {
        let shared = Arc::downgrade(self.proxy.shared());
        let filter_metrics: admin::FilterMetricsFn = Arc::new(move || {
            let Some(shared) = shared.upgrade() else {
                return Vec::new();
            };
            let state = shared.current();
            state
                .plugins
                .iter()
                .flat_map(|p| p.filter_metrics())
                .collect()
        });
        let mut state = AdminState::new(self.config.subscribe(), self.ready.clone())
            .with_registry(self.registry.clone())
            .with_filter_metrics(filter_metrics);
        // `POST /logging` works whenever the process logs through the reloadable
        // subscriber (`serve`, `demo`, tests that install it).
        if let Some(hook) = admin::installed_log_level() {
            state = state.with_log_level(hook);
        }
        state
    }

    /// Where the waypoint accepts HBONE, in waypoint mode.
    pub fn waypoint_addr(&self) -> Option<SocketAddr> {
        self.waypoint.as_ref().map(|(_, a)| *a)
    }

    /// The running waypoint, in waypoint mode.
    pub fn waypoint(&self) -> Option<&Arc<Waypoint>> {
        self.waypoint.as_ref().map(|(w, _)| w)
    }

    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// Bound address per listener name.
    pub fn listener_addrs(&self) -> HashMap<String, SocketAddr> {
        let cfg = self.config();
        cfg.listeners
            .iter()
            .filter_map(|l| Some((l.name.clone(), self.proxy().addr(&l.name)?)))
            .collect()
    }

    /// The configuration being served.
    pub fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    /// Where the admin server listens, when configured.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.lock().as_ref().map(|a| a.local_addr())
    }

    /// Where a waypoint serves `/healthz/ready` (15021).
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.mesh_port(Surface::MeshHealth)
    }

    /// Where a waypoint serves Prometheus `/metrics` (15020).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.mesh_port(Surface::MeshMetrics)
    }

    fn mesh_port(&self, surface: Surface) -> Option<SocketAddr> {
        self.mesh_ports
            .iter()
            .find(|(s, _)| *s == surface)
            .map(|(_, h)| h.local_addr())
    }

    /// Validates and swaps in a new configuration. On error the old one keeps serving.
    pub fn reload(&self, cfg: Config) -> Result<(), BuildError> {
        match &self.runtime {
            Some(rt) => self.reload_with(cfg, &mut crate::wasm::loader(rt.clone())),
            None => self.reload_with(cfg, &mut |p: &WasmPlugin, _: &build::LoadCtx| {
                Err(BuildError::Plugin {
                    plugin: p.name.clone(),
                    reason: "started without a wasm runtime".into(),
                })
            }),
        }
    }

    /// Builds the new state, binds what changed (listeners, the admin address), then swaps.
    /// Any failure leaves the running configuration untouched.
    pub fn reload_with(&self, cfg: Config, load: &mut FilterLoader<'_>) -> Result<(), BuildError> {
        let state = build::build(&cfg, load, self.proxy.worker_threads())?;
        let old_admin = self.config().admin;
        let new_admin = match cfg.admin {
            Some(addr) if cfg.admin != old_admin => Some(
                self.spawn_admin(addr)
                    .map_err(|e| BuildError::Admin(e.to_string()))?,
            ),
            _ => None,
        };
        self.proxy().reload(state)?;
        if cfg.admin != old_admin {
            // The old server (if any) stops when its handle drops.
            *self.admin.lock() = new_admin;
        }
        if let (Some((wp, _)), Some(w)) = (&self.waypoint, &cfg.waypoint) {
            wp.reconfigure(w);
        }
        self.config.send_replace(Arc::new(cfg));
        Ok(())
    }

    /// Stops accepting and waits for in-flight requests (up to `deadline`).
    pub async fn drain(&self, deadline: Duration) -> bool {
        self.proxy.drain(deadline).await
    }
}

/// The wasm runtime's settings from the configuration (`module_cache`, else the user's cache
/// directory: see [`crate::module_cache`]), and from the environment the profiling switch
/// `MICROWAF_PERF_MAP=1` (a diagnostic, not configuration: it is set for one `perf record`
/// run, see benches/README.md).
fn runtime_config(cfg: &Config) -> RuntimeConfig {
    RuntimeConfig {
        cache_dir: crate::module_cache::resolve(cfg.module_cache.as_deref()),
        perf_map: std::env::var_os("MICROWAF_PERF_MAP").is_some_and(|v| v == "1"),
        ..RuntimeConfig::default()
    }
}

/// A multi-threaded tokio runtime for commands that run the proxy and other work in one
/// runtime (`demo`).
pub fn runtime(workers: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        b.worker_threads(n.max(1));
    }
    b.enable_all().thread_name("microwaf-worker").build()
}

/// The runtime of `serve`'s main thread: start-up, reloads, signals, DNS refresh, discovery and
/// the waypoint's HBONE accept loop. The data plane runs on [`Workers`] threads beside it.
pub fn control_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Applies every configuration the watcher publishes (SIGHUP or file change). A configuration
/// that loads but fails to build (a plugin that does not load, an unreadable certificate) is
/// logged and the old one keeps serving.
pub fn apply_reloads(
    app: Arc<App>,
    path: PathBuf,
) -> std::io::Result<crate::config::watch::ConfigWatcher> {
    apply_reloads_with(app, path, WatchOptions::default())
}

/// [`apply_reloads`] with explicit watch options (tests poll faster). Every attempt is counted
/// in `config_reloads_total`: files that fail to load by the watcher, the others once applied
/// or rejected here.
pub fn apply_reloads_with(
    app: Arc<App>,
    path: PathBuf,
    options: WatchOptions,
) -> std::io::Result<crate::config::watch::ConfigWatcher> {
    let options = WatchOptions {
        metrics: Some(app.reload_metrics.load_errors_only()),
        ..options
    };
    let watcher = crate::config::watch::ConfigWatcher::spawn(&path, app.config(), options)?;
    let mut rx = watcher.subscribe();
    tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let cfg = (*rx.borrow_and_update()).clone();
            match app.reload((*cfg).clone()) {
                Ok(()) => {
                    app.reload_metrics.record(ReloadResult::ok);
                    tracing::info!("configuration reloaded")
                }
                Err(e) => {
                    app.reload_metrics.record(ReloadResult::error);
                    tracing::error!(error = %e, "reload rejected; keeping the old configuration")
                }
            }
        }
    });
    Ok(watcher)
}
