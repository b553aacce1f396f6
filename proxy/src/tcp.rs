//! TCP proxy listeners: pick an endpoint of the cluster and copy bytes both ways, through the
//! wasm network filters when configured (`on_new_connection`, `on_downstream_data`,
//! `on_upstream_data`; paused data is kept by the runtime and handed back accumulated).

use std::sync::Arc;

use bytes::BytesMut;
use microwaf_runtime::{NetworkDecision, NetworkStream};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::conn::ConnInfo;
use crate::http::filter::{HttpFilterFactory, StreamInfo};
use crate::http::service::Clusters;

/// A `tcp_proxy` network filter, with the network wasm filters in front of it.
pub struct TcpProxy {
    pub cluster: String,
    pub filters: Vec<Arc<dyn HttpFilterFactory>>,
}

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
        let addr = ep.addr;
        let timeout = cluster.spec.connect.connect_timeout;
        let up = match ep.transport.open(addr, timeout).await {
            Ok(s) => s,
            Err(e) => {
                tracing::info!(%addr, error = %e.reason, "tcp_proxy: upstream connect failed");
                return;
            }
        };
        let info = StreamInfo {
            conn: Arc::new(conn),
            request_id: String::new(),
            route_name: None,
            cluster: Some(self.cluster.clone()),
            route_metadata: Default::default(),
            cluster_metadata: cluster.spec.metadata.clone(),
            downstream_addr: "0.0.0.0:0".parse().expect("literal"),
        };
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
        let (dr, dw) = tokio::io::split(down);
        let (ur, uw) = tokio::io::split(up);
        let a = pipe(dr, uw, &streams, true);
        let b = pipe(ur, dw, &streams, false);
        tokio::pin!(a, b);
        // A clean end of one direction is a half-close: the other may go on. A reset (read
        // error, e.g. a tunnel stream cancelled by its client) or a filter's close ends both,
        // so the upstream connection is not held for a peer that is gone.
        tokio::select! {
            clean = &mut a => if clean { b.await; },
            clean = &mut b => if clean { a.await; },
        }
    }
}

/// Copies one direction through the filters; returns when the source ends (`true`) or a read
/// error, a write error or a filter ends it (`false`).
async fn pipe<R, W>(
    mut from: R,
    mut to: W,
    streams: &Mutex<Vec<NetworkStream>>,
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
