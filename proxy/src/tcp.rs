//! TCP proxy listeners: pick an endpoint of the cluster and copy bytes both ways.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::http::service::Clusters;

/// A `tcp_proxy` network filter.
pub struct TcpProxy {
    pub cluster: String,
}

impl TcpProxy {
    /// Proxies `down` to one endpoint until either side closes.
    pub async fn serve<I>(&self, mut down: I, clusters: &Arc<Clusters>)
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        let Some(cluster) = clusters.get(&self.cluster) else {
            tracing::warn!(cluster = %self.cluster, "tcp_proxy: unknown cluster");
            return;
        };
        let Some(addr) = cluster.pick() else {
            tracing::warn!(cluster = %self.cluster, "tcp_proxy: no endpoints");
            return;
        };
        let connect = TcpStream::connect(addr);
        let mut up = match tokio::time::timeout(cluster.spec.connect.connect_timeout, connect).await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::info!(%addr, error = %e, "tcp_proxy: upstream connect failed");
                return;
            }
            Err(_) => {
                tracing::info!(%addr, "tcp_proxy: upstream connect timed out");
                return;
            }
        };
        if let Err(e) = tokio::io::copy_bidirectional(&mut down, &mut up).await {
            tracing::debug!(error = %e, "tcp_proxy: connection ended");
        }
    }
}
