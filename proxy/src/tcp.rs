//! TCP proxy listeners: pick an endpoint of the cluster, connect (TLS when the cluster has an
//! upstream TLS context), and copy bytes both ways through the wasm network filters when
//! configured (`on_new_connection`, `on_downstream_data`, `on_upstream_data`; paused data is
//! kept by the runtime and handed back accumulated). The cluster's breakers and the
//! listener's idle timeout apply as in Envoy's `tcp_proxy`. As there, the network filters'
//! new-connection callbacks run before the upstream connection is made, and a filter may set
//! the cluster ([`CLUSTER_KEY`]) and the idle timeout ([`IDLE_TIMEOUT_KEY`]) in filter state.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use microwaf_runtime::{NetworkDecision, NetworkStream};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::access_log::{AccessLog, Entry};
use crate::conn::ConnInfo;
use crate::http::filter::{HttpFilterFactory, StreamInfo};
use crate::http::service::Clusters;

/// Envoy's filter-state key naming the cluster `tcp_proxy` connects to, set by a network filter
/// (`set_envoy_filter_state`) in its new-connection callback.
pub const CLUSTER_KEY: &str = "envoy.tcp_proxy.cluster";

/// Envoy's filter-state key for a per-connection idle timeout in milliseconds (0: none).
pub const IDLE_TIMEOUT_KEY: &str = "envoy.tcp_proxy.per_connection_idle_timeout_ms";

/// A `tcp_proxy` network filter, with the network wasm filters in front of it.
pub struct TcpProxy {
    pub cluster: String,
    pub filters: Vec<Arc<dyn HttpFilterFactory>>,
    /// Close both sides after this long without a byte either way (Envoy's default 1 h).
    pub idle_timeout: Option<Duration>,
    /// One JSON line per connection when it ends (Envoy's `tcp_proxy` `access_log`).
    pub access_log: Option<Arc<AccessLog>>,
}

/// What one connection's access-log line reports.
#[derive(Default)]
struct Session {
    cluster: Option<String>,
    upstream: Option<SocketAddr>,
    /// Envoy's response flags: `NR` no cluster, `UH` no endpoint, `UO` overflow, `UF` connect
    /// failure, `SI` idle timeout.
    flags: Vec<&'static str>,
    reason: String,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

impl Session {
    fn fail(&mut self, flag: &'static str, reason: String) {
        self.flags.push(flag);
        self.reason = reason;
    }
}

/// The upstream side: plain TCP or TLS, as the cluster says.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl TcpProxy {
    /// Proxies `down` to one endpoint until both sides close, then writes the access-log line.
    pub async fn serve<I>(&self, down: I, conn: ConnInfo, clusters: &Arc<Clusters>)
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        let start = (std::time::SystemTime::now(), Instant::now());
        let cluster_meta = clusters
            .get(&self.cluster)
            .map(|c| c.spec.metadata.clone())
            .unwrap_or_default();
        let info = Arc::new(StreamInfo {
            conn: Arc::new(conn),
            request_id: String::new(),
            route_name: None,
            cluster: Some(self.cluster.clone()),
            route_metadata: Default::default(),
            cluster_metadata: cluster_meta,
            downstream_addr: "0.0.0.0:0".parse().expect("literal"),
        });
        let mut s = Session::default();
        self.session(down, &info, clusters, &mut s).await;
        if let Some(log) = &self.access_log {
            let conn = &info.conn;
            let identity = conn.tls.as_ref().and_then(|t| t.peer.as_ref()?.spiffe_id());
            log.write(&Entry {
                time: start.0,
                listener: &conn.listener,
                method: "",
                authority: "",
                path: "",
                status: 0,
                bytes_in: s.bytes_in.load(Ordering::Relaxed),
                bytes_out: s.bytes_out.load(Ordering::Relaxed),
                duration_ms: start.1.elapsed().as_secs_f64() * 1e3,
                upstream: s.upstream,
                cluster: s.cluster.as_deref(),
                route: None,
                source: conn.peer,
                source_identity: identity,
                request_id: "",
                response_flags: &s.flags,
                reason: &s.reason,
                filter_actions: &[],
            });
        }
    }

    async fn session<I>(
        &self,
        down: I,
        info: &Arc<StreamInfo>,
        clusters: &Arc<Clusters>,
        s: &mut Session,
    ) where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        // Envoy's order: the network filters' new-connection callbacks run before `tcp_proxy`
        // connects, so a filter can pick the cluster through filter state.
        let mut streams: Vec<NetworkStream> = self
            .filters
            .iter()
            .filter_map(|f| f.network_stream(info))
            .collect();
        if streams
            .iter_mut()
            .any(|f| f.on_new_connection() == NetworkDecision::Close)
        {
            s.fail(
                "closed_by_filter",
                "a network filter closed the connection".into(),
            );
            return;
        }
        let chosen = streams
            .iter_mut()
            .filter_map(|f| f.filter_state(CLUSTER_KEY))
            .next_back()
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        let name = chosen.as_deref().unwrap_or(&self.cluster);
        // A filter's per-connection idle timeout replaces the listener's (0: none), as in Envoy.
        let idle_timeout = match streams
            .iter_mut()
            .filter_map(|f| f.filter_state(IDLE_TIMEOUT_KEY))
            .next_back()
        {
            Some(v) => match std::str::from_utf8(&v)
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
            {
                Some(0) => None,
                Some(ms) => Some(Duration::from_millis(ms)),
                None => self.idle_timeout,
            },
            None => self.idle_timeout,
        };
        s.cluster = Some(name.to_owned());
        let Some(cluster) = clusters.get(name) else {
            tracing::warn!(cluster = %name, "tcp_proxy: unknown cluster; connection closed");
            s.fail("NR", format!("unknown cluster {name}"));
            return;
        };
        let Some(ep) = cluster.pick_endpoint() else {
            tracing::warn!(cluster = %name, "tcp_proxy: no endpoints");
            s.fail("UH", format!("cluster {name} has no endpoint"));
            return;
        };
        // Envoy's breakers for TCP: one connection slot for the session, one pending slot
        // while connecting; over either the downstream is closed (`UO`).
        let breakers = cluster.spec.breakers;
        let Some(_conn_slot) = cluster.connections.try_acquire(breakers.max_connections) else {
            tracing::info!(cluster = %name, "tcp_proxy: max_connections overflow");
            s.fail("UO", "max_connections overflow".into());
            return;
        };
        let Some(pending) = cluster.pending.try_acquire(breakers.max_pending) else {
            tracing::info!(cluster = %name, "tcp_proxy: max_pending overflow");
            s.fail("UO", "max_pending overflow".into());
            return;
        };
        let addr = ep.addr;
        s.upstream = Some(addr);
        let up = match connect(addr, &ep.transport, &cluster.spec.connect, info.conn.peer).await {
            Ok(up) => up,
            Err(e) => {
                tracing::info!(%addr, error = %e, "tcp_proxy: upstream connect failed");
                s.fail("UF", format!("upstream connect failed: {e}"));
                return;
            }
        };
        drop(pending);
        let idled = {
            let streams = Mutex::new(streams);
            let activity = Mutex::new(Instant::now());
            let (dr, dw) = tokio::io::split(down);
            let (ur, uw) = tokio::io::split(up);
            let a = pipe(dr, uw, &streams, &activity, &s.bytes_in, true);
            let b = pipe(ur, dw, &streams, &activity, &s.bytes_out, false);
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
                _ = both => false,
                _ = idle(&activity, idle_timeout) => {
                    tracing::debug!(cluster = %name, "tcp_proxy: idle timeout");
                    true
                }
            }
        };
        if idled {
            s.fail("SI", "idle timeout".into());
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
    bytes: &AtomicU64,
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
        bytes.fetch_add(n as u64, Ordering::Relaxed);
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
