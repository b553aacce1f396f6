//! The proxy as an application: config → state → listeners, reload, signals, drain. `serve`,
//! `demo` and the integration tests all start it through [`App`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::admin::{self, AdminError, AdminHandle, AdminState, Readiness};
use crate::build::{self, BuildError, FilterLoader};
use crate::config::{Config, WasmPlugin};
use crate::http::filter::HttpFilterFactory;
use crate::metrics::Metrics;
use crate::server::Proxy;

/// Why the proxy could not start or reload.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("{0}")]
    Bind(#[from] std::io::Error),
    #[error(transparent)]
    Admin(#[from] AdminError),
}

/// A running proxy plus what reload needs.
pub struct App {
    proxy: Proxy,
    pub registry: Arc<Registry>,
    /// The configuration serving traffic; the admin server's `/config_dump` follows it.
    config: watch::Sender<Arc<Config>>,
    pub ready: Readiness,
    admin: Option<AdminHandle>,
}

/// The filter loader used when no wasm runtime is wired in: plugins are refused by name.
pub fn default_loader() -> impl FnMut(&WasmPlugin) -> Result<Arc<dyn HttpFilterFactory>, BuildError>
{
    crate::wasm::loader()
}

impl App {
    /// Builds the state and binds every listener.
    pub async fn start(cfg: Config) -> Result<Self, StartError> {
        Self::start_with(cfg, &mut default_loader()).await
    }

    /// Like [`App::start`] with a custom filter loader (tests).
    pub async fn start_with(cfg: Config, load: &mut FilterLoader<'_>) -> Result<Self, StartError> {
        let mut registry = Registry::default();
        let metrics = Arc::new(Metrics::new(&mut registry));
        let state = build::build(&cfg, load)?;
        let proxy = Proxy::start(state, metrics).await?;
        let registry = Arc::new(registry);
        let admin_addr = cfg.admin;
        let (config, config_rx) = watch::channel(Arc::new(cfg));
        let ready = Readiness::default();
        let admin = match admin_addr {
            Some(addr) => Some(admin::spawn(
                addr,
                AdminState::new(config_rx, ready.clone()).with_registry(registry.clone()),
            )?),
            None => None,
        };
        // Listeners are bound and every plugin loaded (build fails otherwise).
        ready.set(true);
        Ok(Self {
            proxy,
            registry,
            config,
            ready,
            admin,
        })
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
        self.admin.as_ref().map(|a| a.local_addr())
    }

    /// Validates and swaps in a new configuration. On error the old one keeps serving.
    pub fn reload(&self, cfg: Config) -> Result<(), BuildError> {
        self.reload_with(cfg, &mut default_loader())
    }

    pub fn reload_with(&self, cfg: Config, load: &mut FilterLoader<'_>) -> Result<(), BuildError> {
        let state = build::build(&cfg, load)?;
        self.proxy().reload(state);
        self.config.send_replace(Arc::new(cfg));
        Ok(())
    }

    /// Stops accepting and waits for in-flight requests (up to `deadline`).
    pub async fn drain(&self, deadline: Duration) -> bool {
        self.proxy.drain(deadline).await
    }
}

/// The tokio runtime for the data plane.
pub fn runtime(workers: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        b.worker_threads(n.max(1));
    }
    b.enable_all().thread_name("microwaf-worker").build()
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
    let watcher =
        crate::config::watch::ConfigWatcher::spawn(&path, app.config(), Default::default())?;
    let mut rx = watcher.subscribe();
    tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let cfg = (*rx.borrow_and_update()).clone();
            match app.reload((*cfg).clone()) {
                Ok(()) => tracing::info!("configuration reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "reload rejected; keeping the old configuration")
                }
            }
        }
    });
    Ok(watcher)
}
