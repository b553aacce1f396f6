//! End-of-stream bookkeeping: a byte counting body and [`Done`], which runs the filters'
//! `on_log`, writes the access-log line and records metrics when the response body
//! ([`super::honest::ResponseBody`], its owner) is dropped (sent completely, cut, or the
//! client went away).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http_body::{Body, Frame};

use super::body::BoxError;
use super::chain::Chain;
use super::filter::{LocalReply, LogInfo, RequestHead, StreamInfo};
use crate::access_log::{AccessLog, Entry};
use crate::conn::ConnInfo;
use crate::metrics::Metrics;

/// Counts data bytes passing through (a request body on its way upstream).
pub struct CountingBody<B> {
    inner: B,
    count: Arc<AtomicU64>,
}

impl<B> CountingBody<B> {
    pub fn new(inner: B, count: Arc<AtomicU64>) -> Self {
        Self { inner, count }
    }
}

impl<B> Body for CountingBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let res = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(f))) = &res {
            if let Some(d) = f.data_ref() {
                self.count.fetch_add(d.len() as u64, Ordering::Relaxed);
            }
        }
        res.map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The request facts only the access log needs: copied only when a log is configured, so a
/// listener without one allocates none of them per request.
struct LogHead {
    time: SystemTime,
    method: String,
    authority: String,
    path: String,
    request_id: String,
    route: Option<String>,
}

/// The access-log record of one stream, completed on drop.
pub struct Done {
    start: Instant,
    head: Option<LogHead>,
    conn: Arc<ConnInfo>,
    chain: Arc<Chain>,
    log: Option<Arc<AccessLog>>,
    metrics: Arc<Metrics>,
    bytes_in: Arc<AtomicU64>,
    pub bytes_out: Arc<AtomicU64>,
    /// Response bytes received from the upstream (counted by the response pump).
    pub upstream_bytes: Arc<AtomicU64>,
    pub status: u16,
    pub upstream: Option<SocketAddr>,
    pub cluster: Option<String>,
    flags: Vec<&'static str>,
    reason: String,
    /// Waypoint mode: the destination service, for the Istio-style request metric.
    pub mesh_service: Option<Arc<str>>,
}

impl Done {
    pub fn new(
        start: Instant,
        head: &RequestHead,
        info: &StreamInfo,
        chain: Arc<Chain>,
        log: Option<Arc<AccessLog>>,
        metrics: Arc<Metrics>,
        bytes_in: Arc<AtomicU64>,
    ) -> Self {
        let log_head = log.as_ref().map(|_| LogHead {
            time: SystemTime::now(),
            method: head.method.to_string(),
            authority: head.authority.clone(),
            path: head.path.clone(),
            request_id: info.request_id.clone(),
            route: info.route_name.clone(),
        });
        Self {
            start,
            head: log_head,
            conn: info.conn.clone(),
            chain,
            log,
            metrics,
            bytes_in,
            bytes_out: Arc::default(),
            upstream_bytes: Arc::default(),
            status: 0,
            upstream: None,
            cluster: None,
            flags: Vec::new(),
            reason: String::new(),
            mesh_service: None,
        }
    }

    /// Records a proxy failure (Envoy response flag + reason).
    pub fn fail(&mut self, flag: &'static str, reason: &str) {
        self.flags.push(flag);
        self.reason = reason.to_owned();
    }

    /// Records a response cut after its headers went out (see [`super::honest`]): our flag
    /// `TR`, the cause's flag, the reason, and the truncation metric.
    pub fn cut(&mut self, cause: &'static str, reason: &str) {
        self.flags.push("TR");
        if !self.flags.contains(&cause) {
            self.flags.push(cause);
        }
        self.reason = reason.to_owned();
        self.metrics.response_truncated(&self.conn.listener, cause);
    }

    /// Records a local reply sent by a filter or a direct-response route.
    pub fn local_reply(&mut self, r: &LocalReply) {
        // A direct response is routing, and a protocol refusal (`DPE`) is not a filter's reply.
        if r.details != "direct_response" && !self.flags.contains(&"DPE") {
            self.flags.push("LR");
        }
        if self.reason.is_empty() {
            self.reason = r.details.clone();
        }
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        let info = LogInfo {
            status: self.status,
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            upstream: self.upstream,
            flags: self.flags.clone(),
            reason: self.reason.clone(),
        };
        let actions = self.chain.log(&info);
        let duration = self.start.elapsed();
        self.metrics
            .downstream_request(&self.conn.listener, self.status, duration);
        let peer = self.conn.tls.as_ref().and_then(|t| t.peer.as_ref());
        if let Some(service) = &self.mesh_service {
            let principal = peer.and_then(|p| p.spiffe_id()).unwrap_or("unknown");
            self.metrics.mesh_request(principal, service, self.status);
        }
        if let (Some(log), Some(head)) = (&self.log, &self.head) {
            log.write(&Entry {
                time: head.time,
                listener: &self.conn.listener,
                method: &head.method,
                authority: &head.authority,
                path: &head.path,
                status: self.status,
                bytes_in: info.bytes_in,
                bytes_out: info.bytes_out,
                duration_ms: duration.as_secs_f64() * 1000.0,
                upstream: self.upstream,
                cluster: self.cluster.as_deref(),
                route: head.route.as_deref(),
                source: self.conn.peer,
                source_identity: peer
                    .and_then(|p| p.spiffe_id().or(p.uri_sans.first().map(String::as_str))),
                request_id: &head.request_id,
                response_flags: &info.flags,
                reason: &info.reason,
                filter_actions: &actions,
            });
        }
    }
}
