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

pub mod certs;
pub mod discovery;
pub mod identity;
pub mod tls;
pub mod verify;
