//! Turns a validated [`Config`] into the data plane's [`State`]: TLS contexts, clusters with
//! their pools, route tables, filter factories, access logs. Anything that can fail at run
//! time (unreadable certificate, plugin that does not load) fails here, so a bad reload is
//! rejected before it replaces the serving state.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;

use crate::access_log::AccessLog;
use crate::config::{self, Config, NodeInfo, WasmPlugin};
use crate::conn::tls::{self, TlsError};
use crate::conn::HttpLimits;
use crate::http::filter::HttpFilterFactory;
use crate::http::route::RouteTable;
use crate::http::service::{Clusters, HttpConnManager};
use crate::state::{ListenerKind, ListenerState, State};
use crate::tcp::TcpProxy;
use crate::upstream::{self, Breakers, Cluster, ClusterSpec, ConnectSpec, EndpointSpec};
use crate::waypoint::WaypointState;

/// Why a configuration could not be turned into a serving state.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("listener {listener}: TLS: {source}")]
    ListenerTls { listener: String, source: TlsError },
    #[error("cluster {cluster}: TLS: {source}")]
    ClusterTls { cluster: String, source: TlsError },
    #[error("cluster {cluster}: invalid SNI {sni:?}")]
    Sni { cluster: String, sni: String },
    #[error("plugin {plugin}: {reason}")]
    Plugin { plugin: String, reason: String },
    #[error("admin: {0}")]
    Admin(String),
    #[error("listener {listener}: {source}")]
    Bind {
        listener: String,
        source: std::io::Error,
    },
    #[error("access log {path}: {source}")]
    AccessLog {
        path: String,
        source: std::io::Error,
    },
}

/// What a plugin loader gets besides the plugin: the clusters of the same generation (for
/// callouts), node identity (properties), and the tokio runtime callouts run on.
pub struct LoadCtx {
    pub clusters: Arc<Clusters>,
    pub node: Arc<NodeInfo>,
    pub handle: tokio::runtime::Handle,
    /// Data-plane worker threads (`None`: the data plane runs on the caller's runtime). A
    /// plugin without a configured `vm_count` runs one VM per worker, so each worker's
    /// streams have a VM of their own.
    pub workers: Option<usize>,
}

/// The configuration's clusters, ready to send (used alone by `microwaf run`'s callouts). Must
/// run inside a tokio runtime (DNS clusters start resolving).
pub fn clusters(cfg: &Config) -> Result<Arc<Clusters>, BuildError> {
    let mut clusters = HashMap::new();
    for c in &cfg.clusters {
        clusters.insert(c.name.clone(), Cluster::new(cluster_spec(c)?));
    }
    Ok(Arc::new(clusters))
}

/// Makes the filter factory of one configured plugin (the wasm adapter, or a test's).
pub type FilterLoader<'a> =
    dyn FnMut(&WasmPlugin, &LoadCtx) -> Result<Arc<dyn HttpFilterFactory>, BuildError> + 'a;

/// Builds the state for a data plane of `workers` threads (`None`: inline). Must run inside a
/// tokio runtime (DNS clusters start resolving).
pub fn build(
    cfg: &Config,
    load: &mut FilterLoader<'_>,
    workers: Option<usize>,
) -> Result<State, BuildError> {
    let clusters = clusters(cfg)?;
    let ctx = LoadCtx {
        clusters: clusters.clone(),
        node: Arc::new(cfg.node.clone()),
        handle: tokio::runtime::Handle::current(),
        workers,
    };
    let mut plugins = Vec::new();
    for p in &cfg.singletons {
        plugins.push(load(p, &ctx)?);
    }
    let mut listeners = HashMap::new();
    for l in &cfg.listeners {
        let tls = match &l.tls {
            Some(t) => Some(
                tls::server_config(t).map_err(|source| BuildError::ListenerTls {
                    listener: l.name.clone(),
                    source,
                })?,
            ),
            None => None,
        };
        let kind = match &l.kind {
            config::ListenerKind::Http(h) => {
                let hcm = hcm(h, load, &ctx)?;
                plugins.extend(hcm.filters.iter().cloned());
                ListenerKind::Http(Arc::new(hcm))
            }
            config::ListenerKind::Tcp(t) => {
                let filters = t
                    .network_filters
                    .iter()
                    .map(|p| load(p, &ctx))
                    .collect::<Result<Vec<_>, _>>()?;
                plugins.extend(filters.iter().cloned());
                ListenerKind::Tcp(Arc::new(TcpProxy {
                    cluster: t.cluster.clone(),
                    filters,
                    idle_timeout: t.idle_timeout,
                    access_log: access_log(t.access_log.as_ref())?,
                }))
            }
        };
        listeners.insert(
            l.name.clone(),
            Arc::new(ListenerState {
                name: l.name.as_str().into(),
                address: l.address,
                tls,
                kind,
                metadata: Arc::new(l.metadata.clone()),
            }),
        );
    }
    let waypoint = match &cfg.waypoint {
        Some(w) => {
            let ws = waypoint_state(w, load, &ctx)?;
            plugins.extend(ws.http_filters.iter().cloned());
            plugins.extend(ws.network_filters.iter().cloned());
            Some(Arc::new(ws))
        }
        None => None,
    };
    Ok(State {
        listeners,
        clusters,
        plugins,
        waypoint,
    })
}

/// The waypoint's per-generation part: the filters tunneled traffic runs through.
fn waypoint_state(
    w: &config::WaypointConfig,
    load: &mut FilterLoader<'_>,
    ctx: &LoadCtx,
) -> Result<WaypointState, BuildError> {
    let mut load_all = |list: &[WasmPlugin]| {
        list.iter()
            .map(|p| load(p, ctx))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(WaypointState {
        http_filters: load_all(&w.http_filters)?,
        network_filters: load_all(&w.network_filters)?,
        access_log: access_log(w.access_log.as_ref())?,
        limits: HttpLimits::default(),
        detect_timeout: w.protocol_detection_timeout,
    })
}

fn access_log(target: Option<&config::AccessLog>) -> Result<Option<Arc<AccessLog>>, BuildError> {
    Ok(match target {
        None => None,
        Some(config::AccessLog::Stdout) => Some(Arc::new(AccessLog::stdout())),
        Some(config::AccessLog::Stderr) => {
            Some(Arc::new(AccessLog::to_writer(Box::new(std::io::stderr()))))
        }
        Some(config::AccessLog::File(p)) => Some(Arc::new(
            AccessLog::file(&p.display().to_string()).map_err(|source| BuildError::AccessLog {
                path: p.display().to_string(),
                source,
            })?,
        )),
    })
}

fn hcm(
    h: &config::HttpConnMgr,
    load: &mut FilterLoader<'_>,
    ctx: &LoadCtx,
) -> Result<HttpConnManager, BuildError> {
    let filters = h
        .http_filters
        .iter()
        .map(|p| load(p, ctx))
        .collect::<Result<Vec<_>, _>>()?;
    let access_log = access_log(h.access_log.as_ref())?;
    let defaults = HttpLimits::default();
    Ok(HttpConnManager {
        routes: RouteTable {
            virtual_hosts: h.virtual_hosts.clone(),
        },
        filters,
        limits: HttpLimits {
            max_request_headers: h.limits.max_request_headers_kb as usize * 1024,
            request_headers_timeout: h
                .limits
                .request_headers_timeout
                .unwrap_or(defaults.request_headers_timeout),
            buffer_limit: h.limits.buffer_limit_bytes as usize,
            max_concurrent_streams: h.limits.max_concurrent_streams,
            idle_timeout: h.limits.idle_timeout,
            max_headers_count: h.limits.max_headers_count as usize,
            http2: h.limits.http2.clone(),
            codec: h.codec,
            ..defaults
        },
        access_log,
        mesh_service: None,
    })
}

fn cluster_spec(c: &config::Cluster) -> Result<ClusterSpec, BuildError> {
    let endpoints = c
        .endpoints
        .iter()
        .map(|e| match e.host.parse::<IpAddr>() {
            Ok(ip) => EndpointSpec::Addr((ip, e.port).into()),
            Err(_) => EndpointSpec::Host {
                host: e.host.clone(),
                port: e.port,
            },
        })
        .collect();
    let tls = match &c.tls {
        None => None,
        Some(t) => {
            let config =
                tls::client_config(t, c.http2).map_err(|source| BuildError::ClusterTls {
                    cluster: c.name.clone(),
                    source,
                })?;
            let sni_text = t
                .sni
                .clone()
                .or_else(|| c.endpoints.first().map(|e| e.host.clone()))
                .unwrap_or_else(|| c.name.clone());
            let sni = ServerName::try_from(sni_text.clone()).map_err(|_| BuildError::Sni {
                cluster: c.name.clone(),
                sni: sni_text,
            })?;
            let mut stream_config = (*config).clone();
            if t.alpn.is_empty() {
                stream_config.alpn_protocols.clear();
            }
            Some(upstream::UpstreamTls {
                config,
                stream_config: Arc::new(stream_config),
                sni,
            })
        }
    };
    Ok(ClusterSpec {
        name: c.name.clone(),
        discovery: c.discovery,
        endpoints,
        lb: c.lb,
        connect: ConnectSpec {
            connect_timeout: c.connect_timeout,
            http2: c.http2,
            tls,
        },
        breakers: Breakers {
            max_connections: c.circuit_breakers.max_connections as usize,
            max_pending: c.circuit_breakers.max_pending_requests as usize,
            max_requests: c.circuit_breakers.max_requests as usize,
            max_retries: c.circuit_breakers.max_retries as usize,
        },
        dns_family: c.dns_lookup_family,
        dns_refresh: if c.dns_refresh_rate.is_zero() {
            Duration::from_secs(5)
        } else {
            c.dns_refresh_rate
        },
        metadata: c.metadata.clone(),
    })
}
