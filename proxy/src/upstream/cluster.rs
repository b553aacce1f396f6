//! A cluster: endpoints (static or DNS-resolved), load balancing, circuit breakers, pools.

use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Weak};
use std::time::Duration;

use http::{header, HeaderValue, Request, Response, Uri};
use parking_lot::RwLock;

use super::connect::ConnectSpec;
use super::lb::{self, LbPolicy};
use super::pool::{Checkout, Endpoint, Gauge, PooledBody};
use crate::http::body::{boxed, ProxyBody};
use crate::http::error::{ErrorKind, ProxyError};

/// How endpoints are found (Envoy's cluster `type`).
pub use crate::config::Discovery;

/// One configured endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointSpec {
    Addr(SocketAddr),
    Host { host: String, port: u16 },
}

/// Circuit-breaker thresholds (Envoy defaults: 1024 each).
#[derive(Debug, Clone, Copy)]
pub struct Breakers {
    pub max_connections: usize,
    pub max_pending: usize,
    pub max_requests: usize,
    /// Retries in flight at once across the cluster (Envoy default 3).
    pub max_retries: usize,
}

impl Default for Breakers {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_pending: 1024,
            max_requests: 1024,
            max_retries: 3,
        }
    }
}

/// Everything needed to build a [`Cluster`].
#[derive(Clone)]
pub struct ClusterSpec {
    pub name: String,
    pub discovery: Discovery,
    pub endpoints: Vec<EndpointSpec>,
    pub lb: LbPolicy,
    pub connect: ConnectSpec,
    pub breakers: Breakers,
    pub dns_refresh: Duration,
    pub dns_family: crate::config::DnsLookupFamily,
    /// `metadata.filter_metadata`, served to filters as `cluster_metadata`/`xds.cluster_metadata`.
    pub metadata: crate::config::Metadata,
}

/// A live cluster.
pub struct Cluster {
    pub spec: ClusterSpec,
    endpoints: RwLock<Arc<Vec<Arc<Endpoint>>>>,
    rr: AtomicUsize,
    pub connections: Gauge,
    pub pending: Gauge,
    pub requests: Gauge,
    /// Retries in flight, against [`Breakers::max_retries`].
    pub retries: Gauge,
    /// Signalled when one of the cluster's connections closes or becomes idle.
    freed: Arc<tokio::sync::Notify>,
}

impl Cluster {
    /// Builds the cluster; DNS clusters resolve in the background (call from a tokio runtime).
    pub fn new(spec: ClusterSpec) -> Arc<Self> {
        let freed = Arc::new(tokio::sync::Notify::new());
        let statics: Vec<Arc<Endpoint>> = spec
            .endpoints
            .iter()
            .filter_map(|e| match e {
                EndpointSpec::Addr(a) => Some(Endpoint::new(*a, freed.clone())),
                EndpointSpec::Host { .. } => None,
            })
            .collect();
        let needs_dns = spec
            .endpoints
            .iter()
            .any(|e| matches!(e, EndpointSpec::Host { .. }));
        let c = Arc::new(Self {
            spec,
            endpoints: RwLock::new(Arc::new(statics)),
            rr: AtomicUsize::new(0),
            connections: Gauge::default(),
            pending: Gauge::default(),
            requests: Gauge::default(),
            retries: Gauge::default(),
            freed,
        });
        if needs_dns {
            tokio::spawn(refresh_dns(Arc::downgrade(&c)));
        }
        c
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Current endpoints.
    pub fn endpoints(&self) -> Arc<Vec<Arc<Endpoint>>> {
        self.endpoints.read().clone()
    }

    /// Current endpoint addresses.
    pub fn endpoint_addrs(&self) -> Vec<SocketAddr> {
        self.endpoints.read().iter().map(|e| e.addr).collect()
    }

    /// One endpoint address chosen by the load balancer (TCP proxying).
    pub fn pick(&self) -> Option<SocketAddr> {
        self.pick_endpoint().map(|e| e.addr)
    }

    /// One endpoint chosen by the load balancer, with its transport.
    pub fn pick_endpoint(&self) -> Option<Arc<Endpoint>> {
        let eps = self.endpoints.read().clone();
        lb::pick(self.spec.lb, &eps, &self.rr)
    }

    /// Replaces the endpoints (service discovery pushed a new set). Endpoints whose address
    /// and kind of transport stay keep their pooled connections.
    pub fn set_endpoints(&self, next: Vec<(SocketAddr, super::Transport)>) {
        let old = self.endpoints.read().clone();
        let new: Vec<Arc<Endpoint>> = next
            .into_iter()
            .map(|(addr, transport)| {
                old.iter()
                    .find(|e| e.addr == addr && e.transport.is_tunnel() == transport.is_tunnel())
                    .cloned()
                    .unwrap_or_else(|| {
                        Endpoint::with_transport(addr, transport, self.freed.clone())
                    })
            })
            .collect();
        *self.endpoints.write() = Arc::new(new);
    }

    /// A slot for one retry, or `None` when `max_retries` are already in flight (Envoy's
    /// retry overflow: the request is answered with what the last try got).
    pub fn retry_slot(&self) -> Option<super::pool::GaugeGuard> {
        self.retries.try_acquire(self.spec.breakers.max_retries)
    }

    /// Sends `req` (origin-form URI) to one endpoint. `authority` is the downstream host the
    /// upstream sees (`host` on HTTP/1.1, `:authority` on HTTP/2); `client` the downstream
    /// peer, named to a tunnel endpoint when this request opens a connection.
    pub async fn send(
        &self,
        mut req: Request<ProxyBody>,
        authority: &str,
        client: Option<SocketAddr>,
    ) -> Result<(Response<ProxyBody>, SocketAddr), ProxyError> {
        let b = self.spec.breakers;
        let overflow = |what: &str| {
            ProxyError::new(
                ErrorKind::Overflow,
                format!("cluster {} {what} overflow", self.spec.name),
            )
        };
        let req_slot = self
            .requests
            .try_acquire(b.max_requests)
            .ok_or_else(|| overflow("max_requests"))?;
        let eps = self.endpoints.read().clone();
        let ep = lb::pick(self.spec.lb, &eps, &self.rr).ok_or_else(|| {
            ProxyError::new(
                ErrorKind::NoHealthyUpstream,
                format!("cluster {} has no endpoints", self.spec.name),
            )
        })?;
        let active = ep.track();
        let pending = self
            .pending
            .try_acquire(b.max_pending)
            .ok_or_else(|| overflow("max_pending"))?;
        let conns = &self.connections;
        let open = || {
            let freed = self.freed.clone();
            conns
                .try_acquire(b.max_connections)
                .map(|g| {
                    Box::new(move || {
                        drop(g);
                        freed.notify_waiters();
                    }) as Box<dyn FnOnce() + Send>
                })
                .ok_or_else(|| overflow("max_connections"))
        };
        let (co, _reused) = ep.checkout(&self.spec.connect, client, open).await?;
        drop(pending);
        let addr = ep.addr;
        let reset = |e: hyper::Error| {
            ProxyError::new(ErrorKind::UpstreamReset, format!("upstream {addr}: {e}"))
        };
        let guards: Box<dyn Send> = Box::new((req_slot, active));
        match co {
            Checkout::H1(mut s) => {
                req.headers_mut().remove(header::HOST);
                if let Ok(v) = HeaderValue::from_str(authority) {
                    req.headers_mut().insert(header::HOST, v);
                }
                *req.version_mut() = http::Version::HTTP_11;
                let resp = s.send_request(req).await.map_err(reset)?;
                let weak = Arc::downgrade(&ep);
                Ok((
                    resp.map(|b| boxed(PooledBody::new(b, Some((s, weak)), guards))),
                    addr,
                ))
            }
            Checkout::H2(mut s) => {
                let scheme = if self.spec.connect.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                let pq = req
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let uri: Uri = format!("{scheme}://{authority}{pq}").parse().map_err(|e| {
                    ProxyError::new(ErrorKind::UpstreamReset, format!("bad upstream uri: {e}"))
                })?;
                *req.uri_mut() = uri;
                *req.version_mut() = http::Version::HTTP_2;
                req.headers_mut().remove(header::HOST);
                let resp = s.send_request(req).await.map_err(reset)?;
                Ok((resp.map(|b| boxed(PooledBody::new(b, None, guards))), addr))
            }
        }
    }
}

/// Re-resolves DNS endpoints until the cluster is dropped (reload replaces clusters).
async fn refresh_dns(cluster: Weak<Cluster>) {
    loop {
        let Some(c) = cluster.upgrade() else { return };
        let mut addrs = Vec::new();
        // An answer without an address of the wanted family empties the cluster (Envoy
        // serves "no healthy upstream"); a failed lookup keeps the last known endpoints.
        let mut resolved_all = true;
        for e in &c.spec.endpoints {
            match e {
                EndpointSpec::Addr(a) => addrs.push(*a),
                EndpointSpec::Host { host, port } => {
                    match tokio::net::lookup_host((host.as_str(), *port)).await {
                        Ok(it) => addrs.extend(it),
                        Err(e) => {
                            resolved_all = false;
                            tracing::warn!(cluster = %c.spec.name, %host, error = %e, "DNS resolution failed")
                        }
                    }
                }
            }
        }
        c.spec.dns_family.filter(&mut addrs);
        if c.spec.discovery == Discovery::LogicalDns {
            addrs.truncate(1);
        }
        addrs.dedup();
        if !addrs.is_empty() || resolved_all {
            let old = c.endpoints.read().clone();
            // Keep existing endpoints (and their pooled connections) for addresses that stay.
            let new: Vec<Arc<Endpoint>> = addrs
                .iter()
                .map(|a| {
                    old.iter()
                        .find(|e| e.addr == *a)
                        .cloned()
                        .unwrap_or_else(|| Endpoint::new(*a, c.freed.clone()))
                })
                .collect();
            *c.endpoints.write() = Arc::new(new);
        }
        let wait = c.spec.dns_refresh;
        drop(c);
        tokio::time::sleep(wait).await;
    }
}
