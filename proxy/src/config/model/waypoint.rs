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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaypointConfig {
    /// Where the waypoint accepts HBONE (default `0.0.0.0:15008`).
    pub address: SocketAddr,
    /// Peers' SPIFFE IDs must be in this trust domain (default `cluster.local`).
    pub trust_domain: String,
    /// The port of destination pods' tunnel endpoints (15008; tests point it elsewhere).
    pub hbone_port: u16,
    /// Connect timeout to destinations (TCP, TLS and CONNECT).
    #[serde(with = "serde_req")]
    pub connect_timeout: Duration,
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
