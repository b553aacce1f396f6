//! Per-destination upstream clusters, cached so their HTTP connection pools outlive single
//! tunnels: many short tunnels to one service share a few upstream connections instead of
//! opening one HBONE stream each.
//!
//! A cluster's endpoints follow discovery: every tunnel refreshes its destination's cluster
//! from the snapshot it resolved against, and [`Destinations::apply`] (driven by the discovery
//! watch) updates every cached cluster when a new snapshot arrives, dropping destinations that
//! disappeared (tunnels still using them keep their `Arc`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::discovery::{Destination, Registry};
use super::outbound::{HboneConnector, HboneTarget};
use crate::config::{Discovery as ClusterDiscovery, Metadata};
use crate::upstream::{Breakers, Cluster, ClusterSpec, ConnectSpec, LbPolicy, Transport};

/// The cache key: everything that selects a cluster's endpoints — the destination's name and
/// port (a service's ports map to different pod ports) — and the upstream HTTP version (the
/// waypoint speaks to the destination what the client spoke to it). Keyed by name alone, a
/// tunnel to `svc:9000` re-targeted the cluster of `svc:80` to pod port 9000 while an HTTP
/// tunnel to `svc:80` was using it.
type Key = (String, u16, bool);

pub struct Destinations {
    clusters: Mutex<HashMap<Key, Arc<Cluster>>>,
    hbone: Arc<HboneConnector>,
    connect_timeout: Duration,
}

impl Destinations {
    pub fn new(hbone: Arc<HboneConnector>, connect_timeout: Duration) -> Self {
        Self {
            clusters: Mutex::default(),
            hbone,
            connect_timeout,
        }
    }

    /// The cluster for `dest` (created on first use), with its endpoints brought up to date.
    pub fn cluster(&self, dest: &Destination, http2: bool) -> Arc<Cluster> {
        let key = (dest.name.clone(), dest.port, http2);
        let cluster = self
            .clusters
            .lock()
            .entry(key)
            .or_insert_with(|| Cluster::new(self.spec(&dest.name, http2)))
            .clone();
        self.refresh(&cluster, dest);
        cluster
    }

    /// A new discovery snapshot: update every cached cluster, forget vanished destinations.
    pub fn apply(&self, registry: &Registry) {
        let mut clusters = self.clusters.lock();
        clusters.retain(
            |(name, port, _), cluster| match find(registry, name, *port) {
                Some(dest) => {
                    self.refresh(cluster, &dest);
                    true
                }
                None => false,
            },
        );
    }

    fn refresh(&self, cluster: &Cluster, dest: &Destination) {
        let want: Vec<(SocketAddr, bool)> =
            dest.endpoints.iter().map(|e| (e.addr, e.hbone)).collect();
        let have: Vec<(SocketAddr, bool)> = cluster
            .endpoints()
            .iter()
            .map(|e| (e.addr, e.transport.is_tunnel()))
            .collect();
        if want == have {
            return;
        }
        let tunnel = HboneTarget::new(self.hbone.clone(), dest.service_host().map(str::to_owned));
        cluster.set_endpoints(
            want.into_iter()
                .map(|(addr, hbone)| {
                    let t = if hbone {
                        Transport::Tunnel(tunnel.clone())
                    } else {
                        Transport::Tcp
                    };
                    (addr, t)
                })
                .collect(),
        );
    }

    fn spec(&self, name: &str, http2: bool) -> ClusterSpec {
        ClusterSpec {
            name: name.to_owned(),
            discovery: ClusterDiscovery::Static,
            endpoints: Vec::new(),
            lb: LbPolicy::RoundRobin,
            connect: ConnectSpec {
                connect_timeout: self.connect_timeout,
                http2,
                tls: None,
            },
            breakers: Breakers::default(),
            dns_refresh: Duration::from_secs(5),
            dns_family: Default::default(),
            metadata: Metadata::default(),
        }
    }
}

/// The destination called `name` at `port` in a snapshot: a service (by VIP or hostname) or,
/// for pod-addressed traffic, the pod address itself (whose name carries the port).
fn find(registry: &Registry, name: &str, port: u16) -> Option<Arc<Destination>> {
    registry
        .by_host
        .get(&(name.to_owned(), port))
        .or_else(|| {
            registry
                .by_vip
                .values()
                .find(|d| d.name == name && d.port == port)
        })
        .cloned()
        .or_else(|| registry.resolve(name).filter(|d| d.port == port))
}
