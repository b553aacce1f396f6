//! One accepted tunnel: its bytes run through the same stack as an accepted TCP connection.
//!
//! The port's declared protocol, else the first bytes, decide ([`super::detect`]): HTTP goes to [`conn::serve_http`] with the
//! waypoint's HTTP filters and a single route to the destination's cluster; anything else to
//! the [`TcpProxy`] with the waypoint's network filters. The inner connection's [`ConnInfo`]
//! carries the tunnel's TLS facts, so `connection.uri_san_peer_certificate`, `source.principal`
//! and the access log's `source_identity` name the source workload.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

use super::detect::{self, Protocol};
use super::discovery::Destination;
use super::istio_tcp::TcpLabels;
use super::metrics::{Active, SourceLabels};
use super::Waypoint;
use crate::config::{ClusterAction, PathMatch, Route, RouteAction, RouteMatch, VirtualHost};
use crate::conn::{self, ConnInfo, TlsInfo};
use crate::drain::DrainWatcher;
use crate::http::route::RouteTable;
use crate::http::service::{HttpConnManager, HttpService};
use crate::tcp::TcpProxy;

/// The name inner connections report as their listener (metrics, access log, properties).
pub const LISTENER: &str = "waypoint";

/// What one HBONE connection's tunnels share: who is on the other end.
pub struct TunnelConn {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub tls: TlsInfo,
    /// The source's SPIFFE ID (the verifier guarantees one).
    pub source: String,
}

/// One CONNECT stream that was accepted.
pub struct Tunnel {
    pub conn: Arc<TunnelConn>,
    pub dest: Arc<Destination>,
    pub authority: String,
    /// The original client (`forwarded: for=`), else the tunnel's peer.
    pub peer: SocketAddr,
}

impl Tunnel {
    pub async fn serve<I>(self, io: I, wp: &Waypoint, drain: DrainWatcher)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let _active = Active::new(&wp.metrics.inbound_active);
        wp.metrics
            .inbound_opened
            .get_or_create(&SourceLabels {
                reporter: "waypoint",
                source_principal: self.conn.source.clone(),
            })
            .inc();
        let state = wp.shared.current();
        let Some(ws) = state.waypoint.clone() else {
            tracing::warn!("HBONE tunnel accepted but the configuration has no waypoint section");
            return;
        };
        let io = wp.metrics.tcp.track(
            io,
            TcpLabels {
                reporter: "waypoint",
                source_principal: self.conn.source.clone(),
                destination_service: self.dest.name.clone(),
            },
        );
        let activity = io.activity();
        // A declared protocol is trusted as Istio trusts it: no waiting for the client's first
        // bytes, which a server-first protocol would never send.
        let (proto, io) = match self.dest.app_protocol.declared() {
            Some(p) => (p, detect::Prefixed::unread(io)),
            None => detect::sniff(io, ws.detect_timeout).await,
        };
        let info = ConnInfo {
            id: wp.shared.next_id(),
            listener: LISTENER.into(),
            peer: self.peer,
            local: self.authority.parse().unwrap_or(self.conn.local),
            tls: Some(TlsInfo {
                tunnel: true,
                ..self.conn.tls.clone()
            }),
            listener_metadata: Default::default(),
        };
        let name = self.dest.name.clone();
        tracing::debug!(source = %self.conn.source, destination = %name, ?proto, "HBONE tunnel");
        match proto {
            Protocol::Http1 | Protocol::Http2 => {
                let cluster = wp
                    .destinations
                    .cluster(&self.dest, proto == Protocol::Http2);
                let hcm = Arc::new(HttpConnManager {
                    routes: route_to(&name),
                    filters: ws.http_filters.clone(),
                    limits: ws.limits.clone(),
                    access_log: ws.access_log.clone(),
                    mesh_service: Some(name.as_str().into()),
                });
                let svc = Arc::new(HttpService {
                    hcm,
                    clusters: Arc::new(HashMap::from([(name, cluster)])),
                    conn: Arc::new(info),
                    metrics: wp.shared.metrics.clone(),
                });
                conn::serve_http(io, svc, drain).await
            }
            Protocol::Tcp => {
                let cluster = wp.destinations.cluster(&self.dest, false);
                let clusters = Arc::new(HashMap::from([(name.clone(), cluster)]));
                let tcp = TcpProxy {
                    cluster: name,
                    filters: ws.network_filters.clone(),
                    idle_timeout: Some(TCP_TUNNEL_IDLE),
                    access_log: ws.access_log.clone(),
                };
                // A raw TCP tunnel has no protocol-level end a drain could ask for: it ends
                // with the drain, or after `tcp_idle_timeout` without a byte either way.
                tokio::select! {
                    () = tcp.serve(io, info, &clusters) => {}
                    () = drain.signaled() => tracing::debug!("TCP tunnel ended by drain"),
                    () = activity.idle_for(wp.tcp_idle_timeout) => {
                        tracing::debug!("TCP tunnel idle timeout")
                    }
                }
            }
        }
    }
}

/// A TCP tunnel with no byte either way for this long is closed (Envoy's `tcp_proxy` default).
const TCP_TUNNEL_IDLE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Every request of the tunnel goes to the destination's cluster.
fn route_to(cluster: &str) -> RouteTable {
    RouteTable {
        virtual_hosts: vec![VirtualHost {
            name: cluster.to_owned(),
            domains: vec!["*".to_owned()],
            routes: vec![Route {
                name: cluster.to_owned(),
                matcher: RouteMatch {
                    path: PathMatch::Prefix("/".into()),
                    headers: Vec::new(),
                    case_sensitive: true,
                },
                action: RouteAction::Cluster(ClusterAction {
                    cluster: cluster.to_owned(),
                    timeout: None,
                    prefix_rewrite: None,
                    host_rewrite: None,
                    retry: None,
                }),
                metadata: Default::default(),
            }],
        }],
    }
}
