//! The running waypoint: what lives as long as the process (certificates, discovery, the
//! destination clusters and their HBONE pools, the 15008 listener) apart from what a reload
//! replaces ([`WaypointState`], the filters of one configuration generation).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use super::certs::{CertError, CertStore};
use super::destinations::Destinations;
use super::discovery::{Discovery, DiscoveryError};
use super::metrics::TunnelMetrics;
use super::outbound::HboneConnector;
use super::sources::ConfiguredSources;
use super::{inbound, tls};
use crate::access_log::AccessLog;
use crate::config::WaypointConfig;
use crate::conn::HttpLimits;
use crate::drain::DrainWatcher;
use crate::http::filter::HttpFilterFactory;
use crate::listener::Shared;

/// Why the waypoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum WaypointError {
    #[error("waypoint certificates: {0}")]
    Certs(#[from] CertError),
    #[error("waypoint TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("waypoint: no certificate source (set `waypoint.certs`)")]
    NoCerts,
    #[error("waypoint: no discovery source (set `waypoint.discovery`)")]
    NoDiscovery,
    #[error("waypoint {0}")]
    Discovery(#[from] DiscoveryError),
    #[error("waypoint {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Where the waypoint's identity and its view of the mesh come from. Embedders and tests pass
/// them in; `serve` builds them from the configuration.
pub struct MeshSources {
    pub certs: Arc<CertStore>,
    pub discovery: Discovery,
}

/// What one configuration generation gives tunnels: filters and the access log.
pub struct WaypointState {
    pub http_filters: Vec<Arc<dyn HttpFilterFactory>>,
    pub network_filters: Vec<Arc<dyn HttpFilterFactory>>,
    pub access_log: Option<Arc<AccessLog>>,
    pub limits: HttpLimits,
    /// How long a tunnel to a port without a declared protocol waits for the client's first
    /// bytes before it is treated as TCP.
    pub detect_timeout: std::time::Duration,
}

/// The waypoint for the process's lifetime.
pub struct Waypoint {
    pub trust_domain: String,
    pub certs: Arc<CertStore>,
    pub discovery: Discovery,
    pub server_tls: Arc<rustls::ServerConfig>,
    pub hbone: Arc<HboneConnector>,
    pub destinations: Arc<Destinations>,
    pub metrics: Arc<TunnelMetrics>,
    pub shared: Arc<Shared>,
    /// Raw TCP tunnels without a byte either way for this long are closed.
    pub tcp_idle_timeout: std::time::Duration,
    /// The configured sources feeding `certs` and `discovery` (`None` when the embedder
    /// supplied them); dropped, and so stopped, with the waypoint.
    sources: tokio::sync::Mutex<Option<ConfiguredSources>>,
}

impl Waypoint {
    /// Binds the HBONE listener and starts accepting and following discovery.
    pub async fn start(
        cfg: &WaypointConfig,
        sources: MeshSources,
        shared: Arc<Shared>,
        metrics: Arc<TunnelMetrics>,
        drain: DrainWatcher,
    ) -> Result<(Arc<Self>, SocketAddr), WaypointError> {
        let MeshSources { certs, discovery } = sources;
        let hbone = HboneConnector::new(
            certs.clone(),
            &cfg.trust_domain,
            cfg.hbone_port,
            cfg.connect_timeout,
            metrics.clone(),
        )?;
        let destinations = Arc::new(Destinations::new(hbone.clone(), cfg.connect_timeout));
        let wp = Arc::new(Self {
            trust_domain: cfg.trust_domain.clone(),
            server_tls: tls::server_config(certs.clone(), &cfg.trust_domain)?,
            certs,
            discovery: discovery.clone(),
            hbone,
            destinations: destinations.clone(),
            metrics,
            shared,
            tcp_idle_timeout: cfg.tcp_idle_timeout,
            sources: tokio::sync::Mutex::new(None),
        });
        let l = TcpListener::bind(cfg.address)
            .await
            .map_err(|source| WaypointError::Bind {
                addr: cfg.address,
                source,
            })?;
        let addr = l.local_addr().map_err(|source| WaypointError::Bind {
            addr: cfg.address,
            source,
        })?;
        tokio::spawn(follow(discovery, Arc::downgrade(&destinations)));
        tokio::spawn(inbound::accept_loop(l, wp.clone(), drain));
        tracing::info!(%addr, trust_domain = %cfg.trust_domain, "HBONE waypoint listening");
        Ok((wp, addr))
    }
}

impl Waypoint {
    /// Hands the waypoint the configured sources that feed it, so they live as long as it.
    pub async fn adopt(&self, sources: ConfiguredSources) {
        *self.sources.lock().await = Some(sources);
    }

    /// Follows a reloaded `waypoint:` section's certificate and discovery settings in the
    /// background (starting a source may wait for the mesh CA); a failure is reported and the
    /// running sources keep serving.
    pub fn reconfigure(self: &Arc<Self>, cfg: &WaypointConfig) {
        let (wp, cfg) = (self.clone(), cfg.clone());
        tokio::spawn(async move {
            let mut sources = wp.sources.lock().await;
            if let Some(s) = sources.as_mut() {
                s.reconfigure(&cfg, &wp.certs).await;
            }
        });
    }
}

/// Applies every new discovery snapshot to the cached destination clusters.
async fn follow(mut discovery: Discovery, destinations: std::sync::Weak<Destinations>) {
    while discovery.changed().await {
        let (Some(d), Some(r)) = (destinations.upgrade(), discovery.current()) else {
            return;
        };
        d.apply(&r);
    }
}
