//! TCP proxy listeners: pick an endpoint of the cluster, connect (TLS when the cluster has an
//! upstream TLS context), and copy bytes both ways through the wasm network filters when
//! configured (`on_new_connection`, `on_downstream_data`, `on_upstream_data`; paused data is
//! kept by the runtime and handed back accumulated). The cluster's breakers and the
//! listener's idle timeout apply as in Envoy's `tcp_proxy`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use microwaf_runtime::{NetworkDecision, NetworkStream};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::conn::ConnInfo;
use crate::http::filter::{HttpFilterFactory, StreamInfo};
use crate::http::service::Clusters;

/// A `tcp_proxy` network filter, with the network wasm filters in front of it.
pub struct TcpProxy {
    pub cluster: String,
    pub filters: Vec<Arc<dyn HttpFilterFactory>>,
    /// Close both sides after this long without a byte either way (Envoy's default 1 h).
    pub idle_timeout: Option<Duration>,
}

/// The upstream side: plain TCP or TLS, as the cluster says.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl TcpProxy {
    /// Proxies `down` to one endpoint until both sides close.
    pub async fn serve<I>(&self, down: I, conn: ConnInfo, clusters: &Arc<Clusters>)
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        let Some(cluster) = clusters.get(&self.cluster) else {
            tracing::warn!(cluster = %self.cluster, "tcp_proxy: unknown cluster");
            return;
        };
        let Some(ep) = cluster.pick_endpoint() else {
            tracing::warn!(cluster = %self.cluster, "tcp_proxy: no endpoints");
            return;
        };
        // Envoy's breakers for TCP: one connection slot for the session, one pending slot
        // while connecting; over either the downstream is closed (`UO`).
        let breakers = cluster.spec.breakers;
        let Some(_conn_slot) = cluster.connections.try_acquire(breakers.max_connections) else {
            tracing::info!(cluster = %self.cluster, "tcp_proxy: max_connections overflow");
            return;
        };
        let Some(pending) = cluster.pending.try_acquire(breakers.max_pending) else {
            tracing::info!(cluster = %self.cluster, "tcp_proxy: max_pending overflow");
            return;
        };
        let addr = ep.addr;
        let up = match connect(addr, &ep.transport, &cluster.spec.connect, conn.peer).await {
            Ok(up) => up,
            Err(e) => {
                tracing::info!(%addr, error = %e, "tcp_proxy: upstream connect failed");
                return;
            }
        };
        drop(pending);
        let info = Arc::new(StreamInfo {
            conn: Arc::new(conn),
            request_id: String::new(),
            route_name: None,
            cluster: Some(self.cluster.clone()),
            route_metadata: Default::default(),
            cluster_metadata: cluster.spec.metadata.clone(),
            downstream_addr: "0.0.0.0:0".parse().expect("literal"),
        });
        let mut streams: Vec<NetworkStream> = self
            .filters
            .iter()
            .filter_map(|f| f.network_stream(&info))
            .collect();
        if streams
            .iter_mut()
            .any(|s| s.on_new_connection() == NetworkDecision::Close)
        {
            return;
        }
        let streams = Mutex::new(streams);
        let activity = Mutex::new(Instant::now());
        let (dr, dw) = tokio::io::split(down);
        let (ur, uw) = tokio::io::split(up);
        let a = pipe(dr, uw, &streams, &activity, true);
        let b = pipe(ur, dw, &streams, &activity, false);
        tokio::pin!(a, b);
        // A clean end of one direction is a half-close: the other may go on. A reset (read
        // error, e.g. a tunnel stream cancelled by its client) or a filter's close ends both,
        // so the upstream connection is not held for a peer that is gone.
        let both = async {
            tokio::select! {
                clean = &mut a => if clean { b.await; },
                clean = &mut b => if clean { a.await; },
            }
        };
        tokio::select! {
            _ = both => {}
            _ = idle(&activity, self.idle_timeout) => {
                tracing::debug!(cluster = %self.cluster, "tcp_proxy: idle timeout");
            }
        }
    }
}

/// Opens the endpoint's transport (TCP, or a mesh tunnel) with the cluster's timeout, then TLS
/// (SNI, CA, client certificate) when the cluster has an upstream TLS context. `client` is the
/// downstream peer (a tunnel names it to the far end).
async fn connect(
    addr: SocketAddr,
    transport: &crate::upstream::Transport,
    spec: &crate::upstream::ConnectSpec,
    client: SocketAddr,
) -> Result<Box<dyn Io>, String> {
    let io = transport
        .open(addr, spec.connect_timeout, Some(client))
        .await
        .map_err(|e| e.reason)?;
    let Some(tls) = &spec.tls else {
        return Ok(Box::new(io));
    };
    let connector = tokio_rustls::TlsConnector::from(tls.stream_config.clone());
    let stream = tokio::time::timeout(spec.connect_timeout, connector.connect(tls.sni.clone(), io))
        .await
        .map_err(|_| "TLS handshake timed out".to_owned())?
        .map_err(|e| format!("TLS handshake: {e}"))?;
    Ok(Box::new(stream))
}

/// Resolves once no byte has moved for `timeout`; never when `None`.
async fn idle(activity: &Mutex<Instant>, timeout: Option<Duration>) {
    let Some(timeout) = timeout else {
        return std::future::pending().await;
    };
    loop {
        let quiet = activity.lock().elapsed();
        if quiet >= timeout {
            return;
        }
        tokio::time::sleep(timeout - quiet).await;
    }
}

/// Copies one direction through the filters; returns when the source ends (`true`) or a read
/// error, a write error or a filter ends it (`false`).
async fn pipe<R, W>(
    mut from: R,
    mut to: W,
    streams: &Mutex<Vec<NetworkStream>>,
    activity: &Mutex<Instant>,
    downstream: bool,
) -> bool
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(16 * 1024);
    loop {
        buf.clear();
        let n = match from.read_buf(&mut buf).await {
            Ok(n) => n,
            Err(_) => {
                let _ = to.shutdown().await;
                return false;
            }
        };
        *activity.lock() = Instant::now();
        let eos = n == 0;
        let mut data = buf.split();
        let mut close = false;
        {
            let mut streams = streams.lock();
            let ordered: Box<dyn Iterator<Item = &mut NetworkStream>> = if downstream {
                Box::new(streams.iter_mut())
            } else {
                Box::new(streams.iter_mut().rev())
            };
            for s in ordered {
                let d = if downstream {
                    s.on_downstream_data(&mut data, eos)
                } else {
                    s.on_upstream_data(&mut data, eos)
                };
                match d {
                    NetworkDecision::Continue => {}
                    NetworkDecision::Pause => {
                        data.clear();
                        break;
                    }
                    NetworkDecision::Close => {
                        close = true;
                        break;
                    }
                }
            }
        }
        if close || (!data.is_empty() && to.write_all(&data).await.is_err()) {
            let _ = to.shutdown().await;
            return false;
        }
        if eos {
            let _ = to.shutdown().await;
            return true;
        }
    }
}
