//! Service discovery for the waypoint: which endpoints stand behind a destination.
//!
//! A tunnel's `:authority` names where the source wanted to go: a service VIP and port, a
//! service hostname and port, or a pod directly. The waypoint must pick a pod itself (sending
//! to the VIP again would loop back to it), and must know whether that pod is in the mesh
//! (reach it over HBONE on 15008) or not (plain TCP). Sources (a static file, the control
//! plane's workload discovery) publish immutable [`Registry`] snapshots through a
//! [`Discovery`] handle; lookups read the newest one without locks on the data path.
//!
//! - [`file`]: a static YAML file, reloaded when its content changes.
//! - [`xds`]: the control plane's workload discovery (delta xDS, `istio.workload.Address`).
//! - [`config`]: the `discovery:` setting choosing one, and [`start`].
//! - [`protocol`]: the application protocol a service port declares.

pub mod config;
pub mod file;
pub mod metrics;
pub mod protocol;
pub mod xds;

pub use config::{start, DiscoveryConfig, DiscoveryError, XdsConfig};
pub use protocol::AppProtocol;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::sync::watch;

/// One endpoint of a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Pod IP and the *target* port (the service port mapped to the container port).
    pub addr: SocketAddr,
    /// In the mesh: reached over HBONE at `addr.ip():15008` with `:authority = addr`.
    /// Otherwise plain TCP to `addr`.
    pub hbone: bool,
}

/// Where a tunnel's traffic goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The service hostname (e.g. `reviews.shop.svc.cluster.local`), or the pod address for
    /// pod-addressed traffic: reported as the destination in metrics and logs.
    pub name: String,
    /// The port the client addressed (the service port, or the pod port when pod-addressed).
    /// Endpoints are per service port — port 80 may map to pod port 8080 and port 9000 to
    /// 9000 — so anything cached per destination is keyed by name *and* port.
    pub port: u16,
    pub endpoints: Vec<Endpoint>,
    /// What the port declares it carries; a declared protocol skips protocol detection.
    pub app_protocol: AppProtocol,
}

impl Destination {
    /// The service hostname; `None` for a pod addressed directly (its name is its address).
    pub fn service_host(&self) -> Option<&str> {
        self.name
            .parse::<SocketAddr>()
            .is_err()
            .then_some(self.name.as_str())
    }
}

/// One immutable snapshot of what discovery knows.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// By service VIP and service port.
    pub by_vip: HashMap<SocketAddr, Arc<Destination>>,
    /// By service hostname and service port.
    pub by_host: HashMap<(String, u16), Arc<Destination>>,
    /// Pods addressed directly: pod IP → in the mesh or not.
    pub workloads: HashMap<IpAddr, bool>,
}

impl Registry {
    /// Resolves a CONNECT `:authority` (`ip:port` or `host:port`). A known pod IP resolves to
    /// itself as the single endpoint. `None`: unknown destination (the tunnel gets a 503).
    pub fn resolve(&self, authority: &str) -> Option<Arc<Destination>> {
        if let Ok(addr) = authority.parse::<SocketAddr>() {
            if let Some(d) = self.by_vip.get(&addr) {
                return Some(d.clone());
            }
            let hbone = *self.workloads.get(&addr.ip())?;
            return Some(Arc::new(Destination {
                name: addr.to_string(),
                port: addr.port(),
                endpoints: vec![Endpoint { addr, hbone }],
                app_protocol: AppProtocol::Unknown,
            }));
        }
        let (host, port) = authority.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        self.by_host.get(&(host.to_owned(), port)).cloned()
    }
}

/// The handle the data plane holds: the newest snapshot, `None` until the first sync (the
/// waypoint is not ready before that).
#[derive(Clone)]
pub struct Discovery {
    rx: watch::Receiver<Option<Arc<Registry>>>,
}

/// The side a discovery source writes to. Clones write to the same channel, so a reload can
/// start a new source on the channel the data plane already reads before the old one stops.
#[derive(Clone)]
pub struct Publisher {
    tx: Arc<watch::Sender<Option<Arc<Registry>>>>,
    metrics: metrics::DiscoveryMetrics,
}

impl Discovery {
    pub fn channel() -> (Publisher, Discovery) {
        let (tx, rx) = watch::channel(None);
        (
            Publisher {
                tx: Arc::new(tx),
                metrics: metrics::DiscoveryMetrics::default(),
            },
            Discovery { rx },
        )
    }

    /// The newest snapshot, if the first sync happened.
    pub fn current(&self) -> Option<Arc<Registry>> {
        self.rx.borrow().clone()
    }

    pub fn ready(&self) -> bool {
        self.rx.borrow().is_some()
    }

    /// Waits for the next published snapshot (tests, readiness).
    pub async fn changed(&mut self) -> bool {
        self.rx.changed().await.is_ok()
    }
}

impl Publisher {
    pub fn publish(&self, registry: Registry) {
        self.tx.send_replace(Some(Arc::new(registry)));
        self.metrics.syncs.inc();
    }

    /// The counters this channel's sources report into.
    pub fn metrics(&self) -> &metrics::DiscoveryMetrics {
        &self.metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        let dest = Arc::new(Destination {
            name: "reviews.shop.svc.cluster.local".into(),
            port: 80,
            endpoints: vec![Endpoint {
                addr: "10.0.0.7:9080".parse().unwrap(),
                hbone: true,
            }],
            app_protocol: AppProtocol::Unknown,
        });
        let mut r = Registry::default();
        r.by_vip
            .insert("10.96.0.10:80".parse().unwrap(), dest.clone());
        r.by_host
            .insert(("reviews.shop.svc.cluster.local".into(), 80), dest);
        r.workloads.insert("10.0.0.8".parse().unwrap(), false);
        r
    }

    #[test]
    fn resolves_vips_hostnames_and_pods() {
        let r = registry();
        assert_eq!(r.resolve("10.96.0.10:80").unwrap().endpoints.len(), 1);
        assert!(r.resolve("reviews.shop.svc.cluster.local:80").is_some());
        let pod = r.resolve("10.0.0.8:8080").unwrap();
        assert_eq!(pod.endpoints[0].addr, "10.0.0.8:8080".parse().unwrap());
        assert!(!pod.endpoints[0].hbone);
        for unknown in [
            "10.96.0.10:81",
            "10.9.9.9:80",
            "nope:80",
            "garbage",
            "h:99999",
        ] {
            assert!(r.resolve(unknown).is_none(), "{unknown}");
        }
    }

    #[tokio::test]
    async fn not_ready_until_the_first_snapshot() {
        let (publisher, mut d) = Discovery::channel();
        assert!(!d.ready());
        publisher.publish(registry());
        assert!(d.changed().await);
        assert!(d.ready());
        assert!(d.current().unwrap().resolve("10.96.0.10:80").is_some());
    }
}
