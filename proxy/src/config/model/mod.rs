//! The configuration IR: what the proxy runs, independent of the file format it came from.
//!
//! Both parsers (native YAML and the Envoy v3 bootstrap subset) produce a [`Config`]; the data
//! plane reads only this. Everything here is already validated: addresses parsed, regexes
//! compiled, files checked to exist, cluster references resolved, names unique. Relative file
//! paths were resolved against the configuration file's directory.
//!
//! Every type is `Serialize` so `/config_dump` can print it; secret material (inline private
//! keys) serializes as `"[redacted]"` through [`Secret`], so dumping the IR is always safe.
//! Defaults follow Envoy's where Envoy has one (documented on each field).

mod cluster;
mod http;
mod wasm;
mod waypoint;

pub use cluster::{
    CircuitBreakers, Cluster, Discovery, DnsLookupFamily, Endpoint, LbPolicy, UpstreamTls,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_DNS_REFRESH,
};
pub use http::{
    AccessLog, ClusterAction, Codec, DirectResponse, HeaderMatch, HeaderMatcher, Http2Options,
    HttpConnMgr, Limits, PathMatch, RetryOn, RetryPolicy, Route, RouteAction, RouteMatch,
    VirtualHost,
};
pub use wasm::{DataSource, Secret, WasmPlugin};
pub use waypoint::{WaypointConfig, HBONE_PORT, HEALTH_PORT, METRICS_PORT};

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Serialize;

use super::pattern::Pattern;

/// `filter_metadata`: namespace (e.g. `envoy.filters.http.wasm`, `istio`) → a JSON object.
/// Filters read it through the `route_metadata`/`cluster_metadata`/`xds.*` properties.
pub type Metadata = BTreeMap<String, serde_json::Value>;

/// A whole, validated proxy configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Listeners in file order; names are unique.
    pub listeners: Vec<Listener>,
    /// Upstream clusters; names are unique and every route/`tcp_proxy` reference resolves.
    pub clusters: Vec<Cluster>,
    /// Address of the admin server (`/metrics`, `/ready`, …); `None` runs no admin server.
    pub admin: Option<SocketAddr>,
    /// Tag extractors applied to metric names on `/metrics` (Envoy `stats_config.stats_tags`).
    pub stats_tags: Vec<StatsTag>,
    /// Singleton wasm services (Envoy `bootstrap_extensions` `envoy.bootstrap.wasm`): one VM
    /// each, not attached to any listener (tickers, queue consumers).
    pub singletons: Vec<WasmPlugin>,
    /// This proxy's identity, exposed to filters as the `node` / `xds.node` properties.
    pub node: NodeInfo,
    /// Ambient waypoint mode (HBONE on 15008); native format only.
    pub waypoint: Option<WaypointConfig>,
    /// The wasm runtime's precompiled-module (AOT) cache directory, created when missing;
    /// `None`: the user's cache directory (`crate::module_cache`). Read at start (a reload
    /// keeps the runtime).
    pub module_cache: Option<std::path::PathBuf>,
}

impl Config {
    /// The cluster named `name`, if any (routes are validated to name existing clusters).
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// Every wasm plugin of the configuration: singletons, HTTP filters, network filters.
    /// Readiness means every one of them has been configured.
    pub fn plugins(&self) -> impl Iterator<Item = &WasmPlugin> {
        let listener_plugins = self.listeners.iter().flat_map(|l| match &l.kind {
            ListenerKind::Http(hcm) => hcm.http_filters.iter(),
            ListenerKind::Tcp(tcp) => tcp.network_filters.iter(),
        });
        let waypoint_plugins = self
            .waypoint
            .iter()
            .flat_map(|w| w.http_filters.iter().chain(&w.network_filters));
        self.singletons
            .iter()
            .chain(listener_plugins)
            .chain(waypoint_plugins)
    }
}

/// The proxy's node identity (Envoy `node`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeInfo {
    pub id: String,
    pub cluster: String,
    /// Free-form JSON object (Envoy `node.metadata`, a `google.protobuf.Struct`).
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// One stats tag extractor, Envoy semantics: the regex is searched in the metric name; its
/// first capture group is the tag value, and the text matched by that group is removed from
/// the name. `reqs_value=foo` with `_value=([a-z]+)`... see `admin::tags` for the details.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsTag {
    pub tag_name: String,
    /// Unanchored (searched, not full-matched), as in Envoy.
    pub regex: Pattern,
}

/// One listening socket and what runs on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listener {
    pub name: String,
    pub address: SocketAddr,
    /// Downstream TLS; `None` is plain TCP (HTTP/2 then needs prior knowledge, "h2c").
    pub tls: Option<DownstreamTls>,
    pub kind: ListenerKind,
    /// `metadata.filter_metadata`, exposed to filters as `listener_metadata`.
    pub metadata: Metadata,
}

/// What a listener does with its connections.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenerKind {
    /// HTTP: Envoy's `http_connection_manager`.
    Http(HttpConnMgr),
    /// Raw TCP to one cluster: Envoy's `tcp_proxy`, with optional network wasm filters.
    Tcp(TcpProxy),
}

/// Envoy `tcp_proxy` (plus the `envoy.filters.network.wasm` filters before it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TcpProxy {
    pub cluster: String,
    /// Network (L4) wasm filters in chain order.
    pub network_filters: Vec<WasmPlugin>,
    /// Connection idle timeout; Envoy's default is 1 hour, `None` disables it.
    #[serde(with = "super::duration::serde_opt")]
    pub idle_timeout: Option<std::time::Duration>,
    /// One JSON line per connection (Envoy's `tcp_proxy` `access_log`).
    pub access_log: Option<AccessLog>,
}

/// Downstream (server-side) TLS, Envoy `DownstreamTlsContext`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DownstreamTls {
    /// PEM certificate chain presented to clients.
    pub cert_chain: DataSource,
    /// PEM private key; inline keys are redacted in dumps.
    pub key: Secret,
    /// PEM CA bundle used to verify client certificates (mTLS). With `require_client_cert`
    /// false, a presented certificate is still verified against it.
    pub client_ca: Option<DataSource>,
    /// Reject handshakes without a (valid) client certificate.
    pub require_client_cert: bool,
    /// ALPN protocols offered, in preference order. Empty means "derive from the codec"
    /// (`h2`, `http/1.1` for auto).
    pub alpn: Vec<String>,
}
