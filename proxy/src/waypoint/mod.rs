//! Ambient waypoint mode: microwaf takes the place of the mesh's waypoint proxy.
//!
//! A per-node tunnel (ztunnel) sends service traffic to the waypoint over HBONE: mTLS (TLS 1.3,
//! ALPN `h2`) on port 15008, one HTTP/2 `CONNECT` stream per proxied TCP connection, the
//! original destination in `:authority`, the source identity only as the tunnel's client
//! certificate. The waypoint terminates the tunnel, runs the tunneled bytes through the same
//! HTTP (or TCP) stack as any accepted connection, and sends the traffic on to a destination
//! pod over a new HBONE connection of its own (or plain TCP for workloads outside the mesh).
//!
//! The pieces, one concept each:
//! - [`identity`]: SPIFFE IDs and trust domains.
//! - [`certs`]: the waypoint's own certificate and the mesh root, swappable at run time.
//! - [`discovery`]: which endpoints stand behind a destination (the [`discovery::Registry`]).
//! - [`verify`], [`tls`]: the mesh certificate checks and the rustls configurations.
//! - [`inbound`]: the 15008 listener and CONNECT handling; [`tunnel`]: one tunnel through the
//!   HTTP or TCP stack; [`detect`]: which of the two.
//! - [`outbound`]: pooled HBONE connections to destination pods; [`destinations`]: the cached
//!   per-destination clusters that use them; [`forwarded`]: the client and service a CONNECT
//!   names.
//! - [`metrics`]: tunnel counters; [`istio_tcp`]: the same tunnels under Istio's TCP names.
//! - [`server`]: the running waypoint; [`sources`]: the configured certificate and discovery
//!   sources it owns.

pub mod certs;
pub mod destinations;
pub mod detect;
pub mod discovery;
pub mod forwarded;
pub mod identity;
pub mod inbound;
pub mod istio_tcp;
pub mod metrics;
pub mod outbound;
pub mod server;
pub mod sources;
pub mod tls;
pub mod tunnel;
pub mod verify;

use std::time::Duration;

pub use server::{MeshSources, Waypoint, WaypointError, WaypointState};

/// HBONE's stream limit per connection, both directions.
pub const MAX_STREAMS: u32 = 100;
/// HTTP/2 flow-control windows of HBONE connections (the mesh's values).
pub const STREAM_WINDOW: u32 = 4 * 1024 * 1024;
pub const CONN_WINDOW: u32 = 16 * 1024 * 1024;
/// HTTP/2 PING keepalive of HBONE connections.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a tunnel client may take to finish its TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
