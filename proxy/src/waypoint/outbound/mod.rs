//! Outbound HBONE: the waypoint's own tunnels to destination pods.
//!
//! A destination pod in the mesh is reached through its node's tunnel endpoint at
//! `podIP:15008` over a **new** mTLS HTTP/2 connection presenting the waypoint's certificate
//! (never by nesting the source's tunnel), one `CONNECT` stream per upstream connection with
//! `:authority = podIP:targetPort` and a `forwarded` header naming the original client and the
//! service (see [`forwarded`](crate::waypoint::forwarded)). Connections are pooled per
//! (destination pod, our identity) and carry at most [`MAX_STREAMS`] streams; a full
//! connection makes the next stream open another one. An identity change (certificate rotation to another SPIFFE ID) starts a new
//! pool, so one connection never mixes identities.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::FORWARDED;
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::Empty;
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use parking_lot::Mutex;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

mod stream;

use stream::TunnelStream;

use crate::http::error::{ErrorKind, ProxyError};
use crate::upstream::transport::{BoxIo, OpenFuture, Tunnel};
use crate::waypoint::certs::CertStore;
use crate::waypoint::forwarded;
use crate::waypoint::identity::SpiffeId;
use crate::waypoint::metrics::{Active, TunnelMetrics};
use crate::waypoint::{
    tls, CONN_WINDOW, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT, MAX_STREAMS, STREAM_WINDOW,
};

/// One outbound HBONE connection.
struct TunnelConn {
    send: http2::SendRequest<Empty<Bytes>>,
    /// CONNECT streams open on it (reserved before the request is sent).
    streams: Arc<AtomicUsize>,
    /// The destination's verified identity, for logs.
    peer: Option<SpiffeId>,
}

impl TunnelConn {
    /// Reserves a stream slot unless the connection is closed or full.
    fn reserve(&self) -> Option<StreamSlot> {
        if self.send.is_closed() {
            return None;
        }
        let prev = self.streams.fetch_add(1, Ordering::AcqRel);
        if prev >= MAX_STREAMS as usize {
            self.streams.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(StreamSlot(self.streams.clone()))
    }
}

/// A reserved stream slot; frees it on drop.
pub(super) struct StreamSlot(Arc<AtomicUsize>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

type PoolKey = (IpAddr, String);

/// The connections of one pool; locked while dialing so a burst opens one connection.
type Pool = Arc<tokio::sync::Mutex<Vec<Arc<TunnelConn>>>>;

/// Opens HBONE streams to mesh workloads; each destination's [`HboneTarget`] uses it.
pub struct HboneConnector {
    store: Arc<CertStore>,
    tls: Arc<rustls::ClientConfig>,
    /// The port of the peers' tunnel endpoints (15008 in a mesh).
    port: u16,
    connect_timeout: Duration,
    pools: Mutex<HashMap<PoolKey, Pool>>,
    /// The certificate generation the pools were last checked against: after a change, pools
    /// of any identity but the current one are dropped (their connections close once their
    /// open streams end), so a rotation to another SPIFFE ID does not leave idle connections
    /// with the old identity behind.
    checked_generation: AtomicU64,
    metrics: Arc<TunnelMetrics>,
}

impl HboneConnector {
    pub fn new(
        store: Arc<CertStore>,
        trust_domain: &str,
        port: u16,
        connect_timeout: Duration,
        metrics: Arc<TunnelMetrics>,
    ) -> Result<Arc<Self>, rustls::Error> {
        Ok(Arc::new(Self {
            tls: tls::client_config(store.clone(), trust_domain)?,
            store,
            port,
            connect_timeout,
            pools: Mutex::default(),
            checked_generation: AtomicU64::new(0),
            metrics,
        }))
    }

    /// One CONNECT stream to `target` (pod IP and target port), carrying `forwarded` (see
    /// [`forwarded`](crate::waypoint::forwarded)) so the destination learns the client.
    pub async fn connect(
        &self,
        target: SocketAddr,
        forwarded: Option<HeaderValue>,
    ) -> Result<BoxIo, ProxyError> {
        let (conn, slot) = self.checkout(target.ip()).await?;
        let fail = |what: String| ProxyError::new(ErrorKind::ConnectFailure, what);
        let mut req = Request::builder()
            .method(Method::CONNECT)
            .uri(target.to_string());
        if let Some(f) = forwarded {
            req = req.header(FORWARDED, f);
        }
        let req = req
            .body(Empty::<Bytes>::new())
            .map_err(|e| fail(format!("CONNECT {target}: {e}")))?;
        let mut send = conn.send.clone();
        let resp = send.send_request(req).await.map_err(|e| {
            ProxyError::new(
                ErrorKind::UpstreamReset,
                format!("HBONE CONNECT {target}: {e}"),
            )
        })?;
        if resp.status() != StatusCode::OK {
            return Err(fail(format!(
                "HBONE CONNECT {target} refused by {}: {}",
                conn.peer.as_ref().map_or("peer".into(), |p| p.to_string()),
                resp.status()
            )));
        }
        let upgraded = hyper::upgrade::on(resp)
            .await
            .map_err(|e| fail(format!("HBONE CONNECT {target}: {e}")))?;
        self.metrics.outbound_streams.inc();
        Ok(Box::new(TunnelStream::new(
            TokioIo::new(upgraded),
            slot,
            Active::new(&self.metrics.outbound_streams_active),
        )))
    }

    /// A connection with a free stream slot, opening one when all are full or closed.
    async fn checkout(&self, ip: IpAddr) -> Result<(Arc<TunnelConn>, StreamSlot), ProxyError> {
        let generation = self.store.generation();
        let key = (ip, self.store.current().id.to_string());
        let pool = {
            let mut pools = self.pools.lock();
            if self.checked_generation.swap(generation, Ordering::AcqRel) != generation {
                let before = pools.len();
                pools.retain(|(_, id), _| *id == key.1);
                if pools.len() < before {
                    tracing::info!(
                        identity = %key.1,
                        pruned = before - pools.len(),
                        "outbound HBONE pools of a previous identity dropped"
                    );
                }
            }
            pools.entry(key).or_default().clone()
        };
        // Held while connecting, so a burst of streams opens one connection, not one each.
        let mut conns = pool.lock().await;
        conns.retain(|c| !c.send.is_closed());
        for c in conns.iter() {
            if let Some(slot) = c.reserve() {
                return Ok((c.clone(), slot));
            }
        }
        let conn = Arc::new(self.dial(ip).await?);
        let slot = conn.reserve().ok_or_else(|| {
            ProxyError::new(ErrorKind::ConnectFailure, "new HBONE connection closed")
        })?;
        conns.push(conn.clone());
        Ok((conn, slot))
    }

    async fn dial(&self, ip: IpAddr) -> Result<TunnelConn, ProxyError> {
        let addr = SocketAddr::new(ip, self.port);
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            ProxyError::new(
                ErrorKind::ConnectFailure,
                format!("HBONE {what} {addr}: {e}"),
            )
        };
        let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| fail("connect to", &"timed out"))?
            .map_err(|e| fail("connect to", &e))?;
        let _ = tcp.set_nodelay(true);
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        let tls = tokio::time::timeout(
            self.connect_timeout,
            connector.connect(ServerName::IpAddress(ip.into()), tcp),
        )
        .await
        .map_err(|_| fail("TLS handshake with", &"timed out"))?
        .map_err(|e| fail("TLS handshake with", &e))?;
        let peer = tls::peer_identity(tls.get_ref().1);
        let (send, conn) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONN_WINDOW)
            .keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(true)
            .handshake(TokioIo::new(tls))
            .await
            .map_err(|e| fail("HTTP/2 handshake with", &e))?;
        self.metrics.outbound_connections.inc();
        let active = Active::new(&self.metrics.outbound_connections_active);
        let who = peer.as_ref().map(|p| p.to_string()).unwrap_or_default();
        tracing::debug!(%addr, peer = %who, "HBONE connection opened");
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%addr, error = %e, "HBONE connection ended");
            }
            drop(active);
        });
        Ok(TunnelConn {
            send,
            streams: Arc::default(),
            peer,
        })
    }
}

/// The [`Tunnel`] of one destination's mesh endpoints: the shared connector, plus the service
/// hostname its CONNECTs name in `forwarded: host=` (none for a pod addressed directly).
pub struct HboneTarget {
    connector: Arc<HboneConnector>,
    host: Option<String>,
}

impl HboneTarget {
    pub fn new(connector: Arc<HboneConnector>, host: Option<String>) -> Arc<Self> {
        Arc::new(Self { connector, host })
    }
}

impl Tunnel for HboneTarget {
    fn open(&self, target: SocketAddr, client: Option<SocketAddr>) -> OpenFuture<'_> {
        let forwarded = forwarded::build(client, self.host.as_deref());
        Box::pin(self.connector.connect(target, forwarded))
    }
}
