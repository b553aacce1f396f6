//! The proxy as an application: config → state → listeners, reload, signals, drain. `serve`,
//! `demo` and the integration tests all start it through [`App`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::registry::Registry;

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
}

/// A running proxy plus what reload needs.
pub struct App {
    proxy: Proxy,
    pub registry: Arc<Mutex<Registry>>,
    config: Mutex<Arc<Config>>,
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
        Ok(Self {
            proxy,
            registry: Arc::new(Mutex::new(registry)),
            config: Mutex::new(Arc::new(cfg)),
        })
    }

    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// Bound address per listener name.
    pub fn listener_addrs(&self) -> HashMap<String, SocketAddr> {
        let cfg = self.config.lock().clone();
        cfg.listeners
            .iter()
            .filter_map(|l| Some((l.name.clone(), self.proxy().addr(&l.name)?)))
            .collect()
    }

    /// The configuration being served.
    pub fn config(&self) -> Arc<Config> {
        self.config.lock().clone()
    }

    /// Validates and swaps in a new configuration. On error the old one keeps serving.
    pub fn reload(&self, cfg: Config) -> Result<(), BuildError> {
        self.reload_with(cfg, &mut default_loader())
    }

    pub fn reload_with(&self, cfg: Config, load: &mut FilterLoader<'_>) -> Result<(), BuildError> {
        let state = build::build(&cfg, load)?;
        self.proxy().reload(state);
        *self.config.lock() = Arc::new(cfg);
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

/// Reloads `path` on SIGHUP; a bad file is logged and the old configuration keeps serving.
pub fn reload_on_sighup(app: Arc<App>, path: PathBuf) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            match crate::config::load(&path).map_err(|e| e.to_string()) {
                Ok(cfg) => match app.reload(cfg) {
                    Ok(()) => tracing::info!("configuration reloaded"),
                    Err(e) => {
                        tracing::error!(error = %e, "reload rejected; keeping the old configuration")
                    }
                },
                Err(e) => {
                    tracing::error!(error = %e, "reload rejected; keeping the old configuration")
                }
            }
        }
    });
}
