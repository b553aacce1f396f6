//! One downstream connection: facts about it ([`ConnInfo`]) and serving HTTP/1.1 or HTTP/2 on
//! any byte stream. TCP, TLS and (later) tunneled streams all enter here, so they share one
//! HTTP stack.

mod idle;
pub mod peer;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::drain::DrainWatcher;
use crate::http::service::HttpService;

pub use peer::PeerCert;

/// What is known about a downstream connection.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub id: u64,
    pub listener: Arc<str>,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub tls: Option<TlsInfo>,
    /// The listener's filter metadata (`xds.listener_metadata`).
    pub listener_metadata: Arc<crate::config::Metadata>,
}

/// Negotiated TLS parameters and the verified client certificate, if any.
#[derive(Debug, Clone, Default)]
pub struct TlsInfo {
    pub sni: Option<String>,
    pub alpn: Option<String>,
    pub version: String,
    pub cipher: String,
    pub peer: Option<PeerCert>,
    pub local: Option<PeerCert>,
    /// This TLS carries an HBONE tunnel: the bytes inside are the application's own protocol,
    /// so HTTP inside it is plain `http` (`x-forwarded-proto`, `:scheme`) although the peer
    /// identity and TLS facts still come from the tunnel.
    pub tunnel: bool,
}

/// HTTP/1.1 and HTTP/2 limits for one listener.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Request line + headers (HTTP/1.1 read buffer) and HTTP/2 header list size.
    pub max_request_headers: usize,
    /// Time to receive a request's headers on HTTP/1.1.
    pub request_headers_timeout: Duration,
    /// Most bytes a filter may buffer per stream and direction (Envoy's buffer limit).
    pub buffer_limit: usize,
    pub max_concurrent_streams: u32,
    /// HTTP/2 rapid-reset guard: streams reset by the client before we accepted them.
    pub max_pending_accept_reset_streams: usize,
    /// HTTP/2 streams we reset because of client errors, per connection.
    pub max_local_error_reset_streams: usize,
    /// Which protocols the listener speaks.
    pub codec: crate::config::Codec,
    /// Close the connection after this long without an active request (Envoy
    /// `common_http_protocol_options.idle_timeout`).
    pub idle_timeout: Option<Duration>,
    /// Most request headers (Envoy `max_headers_count`); more → 431.
    pub max_headers_count: usize,
    pub http2: crate::config::Http2Options,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_request_headers: 60 * 1024,
            request_headers_timeout: Duration::from_secs(10),
            buffer_limit: 1024 * 1024,
            max_concurrent_streams: 100,
            max_pending_accept_reset_streams: 20,
            max_local_error_reset_streams: 1024,
            codec: crate::config::Codec::Auto,
            idle_timeout: Some(Duration::from_secs(3600)),
            max_headers_count: 100,
            http2: Default::default(),
        }
    }
}

/// Serves HTTP on `io` until the client closes or a drain finishes in-flight requests.
pub async fn serve_http<I>(io: I, svc: Arc<HttpService>, drain: DrainWatcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = svc.limits().clone();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.request_headers_timeout)
        .max_buf_size(limits.max_request_headers.max(8192))
        .max_headers(limits.max_headers_count)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        .max_pending_accept_reset_streams(limits.max_pending_accept_reset_streams)
        .max_local_error_reset_streams(limits.max_local_error_reset_streams)
        .max_header_list_size(limits.max_request_headers as u32)
        .max_send_buf_size(256 * 1024)
        .initial_stream_window_size(limits.http2.initial_stream_window_size)
        .initial_connection_window_size(limits.http2.initial_connection_window_size)
        .keep_alive_interval(
            limits
                .http2
                .keepalive_interval
                .or(Some(Duration::from_secs(30))),
        );
    if let Some(t) = limits.http2.keepalive_timeout {
        builder.http2().keep_alive_timeout(t);
    }
    let activity = Arc::new(idle::Activity::new());
    let tracker = activity.clone();
    let service = service_fn(move |req| {
        let svc = svc.clone();
        let active = tracker.begin();
        async move {
            let resp = svc.handle(req).await?;
            // The stream stays active until its response body is done or dropped.
            Ok::<_, crate::http::service::ResetStream>(resp.map(|b| active.hold(b)))
        }
    });
    builder = match limits.codec {
        crate::config::Codec::Auto => builder,
        crate::config::Codec::Http1 => builder.http1_only(),
        crate::config::Codec::Http2 => builder.http2_only(),
    };
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => log_end(res),
        _ = drain.signaled() => {
            conn.as_mut().graceful_shutdown();
            log_end(conn.await);
        }
        _ = activity.idle(limits.idle_timeout) => {
            tracing::debug!("downstream connection idle timeout");
            conn.as_mut().graceful_shutdown();
            log_end(conn.await);
        }
    }
}

fn log_end(res: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(e) = res {
        tracing::debug!(error = %e, "downstream connection ended with an error");
    }
}
