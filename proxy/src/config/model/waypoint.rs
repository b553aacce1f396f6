//! Ambient waypoint IR (`waypoint:` in the native format): the HBONE listener, the mesh
//! identity's trust domain, the filters tunneled HTTP runs through, and where certificates
//! and service discovery come from.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use super::{AccessLog, WasmPlugin};
use crate::config::duration::serde_req;
use crate::waypoint::certs::CertsConfig;
use crate::waypoint::discovery::DiscoveryConfig;

/// The mesh's HBONE port, where waypoints and node tunnels listen.
pub const HBONE_PORT: u16 = 15008;
/// Istio's readiness port (`/healthz/ready`), probed by the kubelet.
pub const HEALTH_PORT: u16 = 15021;
/// Istio's merged Prometheus port (`/metrics`).
pub const METRICS_PORT: u16 = 15020;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaypointConfig {
    /// Where the waypoint accepts HBONE (default `0.0.0.0:15008`).
    pub address: SocketAddr,
    /// Peers' SPIFFE IDs must be in this trust domain (default `cluster.local`).
    pub trust_domain: String,
    /// `/healthz/ready` (default `0.0.0.0:15021`): 200 once the HBONE listener is bound, the
    /// certificates are loaded and discovery has synced.
    pub health: SocketAddr,
    /// Prometheus `/metrics` (default `0.0.0.0:15020`).
    pub metrics: SocketAddr,
    /// The port of destination pods' tunnel endpoints (15008; tests point it elsewhere).
    pub hbone_port: u16,
    /// Connect timeout to destinations (TCP, TLS and CONNECT).
    #[serde(with = "serde_req")]
    pub connect_timeout: Duration,
    /// Raw TCP tunnels idle this long (no byte either way) are closed (default 1h).
    #[serde(with = "serde_req")]
    pub tcp_idle_timeout: Duration,
    /// How long a tunnel to a port whose protocol discovery does not declare waits for the
    /// client's first bytes before it is proxied as TCP (Istio's `protocolDetectionTimeout`;
    /// default 1s). A server-first protocol waits this long unless its port is declared.
    #[serde(with = "serde_req")]
    pub protocol_detection_timeout: Duration,
    /// Wasm HTTP filters for HTTP inside tunnels, in chain order.
    pub http_filters: Vec<WasmPlugin>,
    /// Wasm network filters for non-HTTP tunnels.
    pub network_filters: Vec<WasmPlugin>,
    pub access_log: Option<AccessLog>,
    /// The waypoint's certificate source (paths absolute); `None` when the embedder supplies
    /// a certificate store.
    pub certs: Option<CertsConfig>,
    /// The service discovery source (paths absolute); `None` when the embedder supplies a
    /// registry.
    pub discovery: Option<DiscoveryConfig>,
}
