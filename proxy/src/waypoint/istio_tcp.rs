//! Istio's TCP metrics for tunnels (`istio_tcp_connections_opened_total`, `…_closed_total`,
//! `istio_tcp_sent_bytes_total`, `istio_tcp_received_bytes_total`, `reporter="waypoint"`), so
//! dashboards built for an Envoy waypoint keep working. Every tunnel counts, HTTP or not, as
//! Istio's waypoint does: bytes are those of the tunneled stream, seen from the waypoint
//! (received = from the source, sent = to the source).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TcpLabels {
    pub reporter: &'static str,
    pub source_principal: String,
    pub destination_service: String,
}

/// The four families, registered without a prefix (Istio's names).
#[derive(Clone, Default)]
pub struct IstioTcp {
    pub opened: Family<TcpLabels, Counter>,
    pub closed: Family<TcpLabels, Counter>,
    pub sent: Family<TcpLabels, Counter>,
    pub received: Family<TcpLabels, Counter>,
}

impl IstioTcp {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "istio_tcp_connections_opened",
            "Tunnels opened (Istio name)",
            m.opened.clone(),
        );
        registry.register(
            "istio_tcp_connections_closed",
            "Tunnels closed (Istio name)",
            m.closed.clone(),
        );
        registry.register(
            "istio_tcp_sent_bytes",
            "Bytes sent to the source through tunnels (Istio name)",
            m.sent.clone(),
        );
        registry.register(
            "istio_tcp_received_bytes",
            "Bytes received from the source through tunnels (Istio name)",
            m.received.clone(),
        );
        m
    }

    /// Counts the tunnel as opened now and wraps its stream: bytes are counted as they pass,
    /// the close when the wrapper is dropped (however the tunnel ends).
    pub fn track<I>(&self, io: I, labels: TcpLabels) -> Counted<I> {
        self.opened.get_or_create(&labels).inc();
        Counted {
            io,
            activity: Activity::new(),
            sent: self.sent.get_or_create(&labels).clone(),
            received: self.received.get_or_create(&labels).clone(),
            closed: self.closed.get_or_create(&labels).clone(),
        }
    }
}

/// When a tunnel last moved bytes, for its idle timeout.
#[derive(Clone)]
pub struct Activity {
    start: Instant,
    /// Milliseconds after `start`.
    last: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last: Arc::default(),
        }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last.store(ms, Ordering::Relaxed);
    }

    /// Resolves once no byte moved for `timeout` (checked at a quarter of it, so the end
    /// comes at most 25 % late; no timer is re-armed per read or write).
    pub async fn idle_for(&self, timeout: Duration) {
        let tick = (timeout / 4).max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(tick).await;
            let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
            if self.start.elapsed().saturating_sub(last) >= timeout {
                return;
            }
        }
    }
}

/// A tunnel stream counting its bytes.
pub struct Counted<I> {
    io: I,
    activity: Activity,
    sent: Counter,
    received: Counter,
    closed: Counter,
}

impl<I> Counted<I> {
    /// A handle on when the stream last moved bytes.
    pub fn activity(&self) -> Activity {
        self.activity.clone()
    }
}

impl<I> Drop for Counted<I> {
    fn drop(&mut self) {
        self.closed.inc();
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Counted<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        let n = buf.filled().len().saturating_sub(before);
        if n > 0 {
            self.received.inc_by(n as u64);
            self.activity.touch();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Counted<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            self.sent.inc_by(n as u64);
            self.activity.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
