//! Upstream side: clusters, load balancing, circuit breakers and connection pools.

pub mod cluster;
pub mod connect;
pub mod lb;
pub mod pool;
pub mod transport;

pub use cluster::{Breakers, Cluster, ClusterSpec, Discovery, EndpointSpec};
pub use connect::{ConnectSpec, UpstreamTls};
pub use lb::LbPolicy;
pub use transport::{BoxIo, Transport, Tunnel};
