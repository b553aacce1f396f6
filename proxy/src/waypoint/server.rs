//! The running waypoint: what lives as long as the process (certificates, discovery, the
//! destination clusters and their HBONE pools, the 15008 listener) apart from what a reload
//! replaces ([`WaypointState`], the filters of one configuration generation).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use super::certs::{CertError, CertStore, MeshCerts};
use super::destinations::Destinations;
use super::discovery::{Destination, Discovery, Endpoint, Registry};
use super::metrics::TunnelMetrics;
use super::outbound::HboneConnector;
use super::{inbound, tls};
use crate::access_log::AccessLog;
use crate::config::{MeshCertFiles, Secret, WaypointConfig};
use crate::conn::tls::{load_certs, load_key, TlsError};
use crate::conn::HttpLimits;
use crate::drain::DrainWatcher;
use crate::http::filter::HttpFilterFactory;
use crate::listener::Shared;

/// Why the waypoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum WaypointError {
    #[error("waypoint certificates: {0}")]
    CertFiles(#[from] TlsError),
    #[error("waypoint certificates: {0}")]
    Certs(#[from] CertError),
    #[error("waypoint TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("waypoint: no certificate source (set `waypoint.certs`)")]
    NoCerts,
    #[error("waypoint: no discovery source (set `waypoint.discovery`)")]
    NoDiscovery,
    #[error("waypoint discovery file {path}: {reason}")]
    Discovery { path: String, reason: String },
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

/// Applies every new discovery snapshot to the cached destination clusters.
async fn follow(mut discovery: Discovery, destinations: std::sync::Weak<Destinations>) {
    while discovery.changed().await {
        let (Some(d), Some(r)) = (destinations.upgrade(), discovery.current()) else {
            return;
        };
        d.apply(&r);
    }
}

/// The certificate source of `waypoint.certs` (files, loaded once). Kept to one function so
/// the reloading file source can replace it.
pub fn certs_from_files(files: &MeshCertFiles) -> Result<Arc<CertStore>, WaypointError> {
    let chain = load_certs(&files.cert)?;
    let key = load_key(&Secret(files.key.clone()))?;
    let roots = load_certs(&files.root)?;
    Ok(CertStore::new(MeshCerts::from_der(chain, key, roots)?))
}

/// The discovery source of `waypoint.discovery.file`: a YAML snapshot read once at start.
/// Kept minimal and in one function so the reloading file source and the control-plane
/// client can replace it.
pub fn discovery_from_file(path: &std::path::Path) -> Result<Discovery, WaypointError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        services: Vec<Service>,
        #[serde(default)]
        workloads: Vec<Workload>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Service {
        name: String,
        /// `VIP:port` and/or `hostname:port` under which the service is addressed.
        addresses: Vec<String>,
        endpoints: Vec<Ep>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Ep {
        addr: SocketAddr,
        #[serde(default)]
        hbone: bool,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Workload {
        ip: std::net::IpAddr,
        #[serde(default)]
        hbone: bool,
    }
    let bad = |reason: String| WaypointError::Discovery {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let file: File = serde_yaml_ng::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let mut registry = Registry::default();
    for s in file.services {
        let dest = Arc::new(Destination {
            name: s.name,
            endpoints: s
                .endpoints
                .into_iter()
                .map(|e| Endpoint {
                    addr: e.addr,
                    hbone: e.hbone,
                })
                .collect(),
        });
        for a in s.addresses {
            if let Ok(vip) = a.parse::<SocketAddr>() {
                registry.by_vip.insert(vip, dest.clone());
                continue;
            }
            let (host, port) = a
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
                .ok_or_else(|| bad(format!("{a:?} is not ip:port or host:port")))?;
            registry.by_host.insert((host, port), dest.clone());
        }
    }
    for w in file.workloads {
        registry.workloads.insert(w.ip, w.hbone);
    }
    let (publisher, discovery) = Discovery::channel();
    // One snapshot, never updated: the receiver keeps it after the publisher is gone.
    publisher.publish(registry);
    Ok(discovery)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_file_maps_vips_hostnames_and_workloads() {
        let path = std::env::temp_dir().join(format!("wp-disc-{}.yaml", std::process::id()));
        std::fs::write(
            &path,
            r#"
services:
  - name: reviews.shop.svc.cluster.local
    addresses: ["10.96.0.10:9080", "reviews.shop.svc.cluster.local:9080"]
    endpoints:
      - { addr: "10.244.1.7:9080", hbone: true }
      - { addr: "10.244.2.3:9080" }
workloads:
  - { ip: 10.244.1.7, hbone: true }
"#,
        )
        .unwrap();
        let d = discovery_from_file(&path).unwrap();
        let r = d.current().expect("ready after loading");
        let by_vip = r.resolve("10.96.0.10:9080").unwrap();
        assert_eq!(by_vip.endpoints.len(), 2);
        assert!(by_vip.endpoints[0].hbone && !by_vip.endpoints[1].hbone);
        assert!(r.resolve("reviews.shop.svc.cluster.local:9080").is_some());
        assert!(r.resolve("10.244.1.7:8080").unwrap().endpoints[0].hbone);
        std::fs::write(
            &path,
            "services: [{name: x, addresses: [\"nope\"], endpoints: []}]",
        )
        .unwrap();
        assert!(discovery_from_file(&path).is_err());
        let _ = std::fs::remove_file(&path);
    }
}
