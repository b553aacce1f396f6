//! Ambient waypoint IR (`waypoint:` in the native format): the HBONE listener, the mesh
//! identity's trust domain, the filters tunneled HTTP runs through, and where certificates
//! and service discovery come from.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::{AccessLog, DataSource, WasmPlugin};
use crate::config::duration::serde_req;

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
    /// The waypoint's certificate; `None` when the embedder supplies a certificate store.
    pub certs: Option<MeshCertFiles>,
    /// Service discovery; `None` when the embedder supplies a registry.
    pub discovery: Option<DiscoverySource>,
}

/// The waypoint's SVID and the mesh root as PEM files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeshCertFiles {
    /// Our leaf (with its SPIFFE URI SAN) first, then intermediates.
    pub cert: DataSource,
    /// Private key (a file path; never dumped as content).
    pub key: DataSource,
    /// Mesh root certificate(s).
    pub root: DataSource,
}

/// Where destinations come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscoverySource {
    /// A static file mapping services to endpoints.
    File(PathBuf),
}
