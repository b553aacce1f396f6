//! One HTTP stream end to end: filters, route, upstream with timeout and retries, response
//! filters, access log and metrics.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};

use super::body::{boxed, empty, full, ProxyBody};
use super::chain::{Chain, Dir, Stop};
use super::error::{ErrorKind, ProxyError};
use super::filter::{
    HttpFilterFactory, LocalReply, RequestHead, ResponseHead, StreamInfo, StreamSignal,
};
use super::headers::{forwarding, grpc_status_for, is_grpc, strip_hop_by_hop};
use super::honest::{announced_length, ResponseBody};
use super::log::{CountingBody, Done};
use super::pump::{self, Started};
use super::route::{
    attempt_timeout, ClusterAction, PathMatch, RetryOn, Route, RouteAction, RouteTable,
};
use super::strict::{self, BodyFailure, RequestBody};
use crate::access_log::AccessLog;
use crate::conn::{ConnInfo, HttpLimits};
use crate::metrics::Metrics;
use crate::upstream::Cluster;

/// A listener's HTTP connection manager settings.
pub struct HttpConnManager {
    pub routes: RouteTable,
    pub filters: Vec<Arc<dyn HttpFilterFactory>>,
    pub limits: HttpLimits,
    pub access_log: Option<Arc<AccessLog>>,
    /// In waypoint mode, the destination service reported in `istio_requests_total`.
    pub mesh_service: Option<Arc<str>>,
}

/// Clusters by name.
pub type Clusters = HashMap<String, Arc<Cluster>>;

/// Serves the streams of one connection.
pub struct HttpService {
    pub hcm: Arc<HttpConnManager>,
    pub clusters: Arc<Clusters>,
    pub conn: Arc<ConnInfo>,
    pub metrics: Arc<Metrics>,
}

/// Resets the downstream stream (HTTP/2 RST_STREAM, HTTP/1.1 connection close) instead of
/// answering: a filter asked for `proxy_close_stream`.
#[derive(Debug, thiserror::Error)]
#[error("stream reset by a filter")]
pub struct ResetStream;

/// A request body on its way upstream.
enum OutBody {
    /// Fully known: can be replayed for retries.
    Full(Bytes),
    Stream(ProxyBody),
}

/// What the upstream leg produced.
struct Upstream {
    resp: Response<ProxyBody>,
    addr: Option<SocketAddr>,
}

impl HttpService {
    pub fn limits(&self) -> &HttpLimits {
        &self.hcm.limits
    }

    /// Serves one request. Generic over the body so any stream (hyper's, a tunnel's, a test's)
    /// enters the same pipeline.
    pub async fn handle<B>(&self, req: Request<B>) -> Result<Response<ProxyBody>, ResetStream>
    where
        B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<super::body::BoxError>,
    {
        let start = Instant::now();
        let (parts, body) = req.into_parts();
        let header_count = parts.headers.len();
        let refused = strict::refusal(&parts.method, parts.version, &parts.headers);
        // Only a body still to come can break its framing: a request without one (most GETs)
        // skips the wrapper and its shared failure slot.
        let body_failure = (!http_body::Body::is_end_stream(&body)).then(BodyFailure::default);
        let body = match &body_failure {
            Some(failed) => boxed(RequestBody::new(body, parts.version, failed.clone())),
            None => boxed(body),
        };
        let scheme = match &self.conn.tls {
            Some(tls) if !tls.tunnel => "https",
            _ => "http",
        };
        let authority = parts
            .uri
            .authority()
            .map(|a| a.to_string())
            .or_else(|| {
                parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let mut head = RequestHead {
            method: parts.method,
            scheme: scheme.into(),
            authority,
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "/".into()),
            headers: parts.headers,
        };
        strip_hop_by_hop(&mut head.headers);
        head.headers.remove(header::HOST);
        let request_id = forwarding(&mut head.headers, self.conn.peer.ip(), scheme);
        let grpc = is_grpc(&head.headers);
        let route = self
            .hcm
            .routes
            .find(&head.authority, &head.path, &head.headers);
        let info = Arc::new(self.stream_info(route, request_id));
        let chain = Arc::new(Chain::new(
            self.hcm
                .filters
                .iter()
                .map(|f| {
                    let sig = StreamSignal::new();
                    (f.create(&info, sig.clone()), sig)
                })
                .collect(),
            self.hcm.limits.buffer_limit,
        ));
        let bytes_in = Arc::new(AtomicU64::new(0));
        let mut done = Done::new(
            start,
            &head,
            &info,
            chain.clone(),
            self.hcm.access_log.clone(),
            self.metrics.clone(),
            bytes_in.clone(),
        );
        done.mesh_service = self.hcm.mesh_service.clone();

        // Protocol errors and Envoy's codec limit: rejected before any filter sees the request.
        let outcome = if let Some(reply) = refused {
            done.fail("DPE", &reply.details);
            Err(Stop::Reply(reply, Some(0)))
        } else if header_count > self.hcm.limits.max_headers_count {
            let reply = LocalReply {
                details: format!(
                    "{header_count} request headers, limit {}",
                    self.hcm.limits.max_headers_count
                ),
                ..LocalReply::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "")
            };
            Err(Stop::Reply(reply, Some(0)))
        } else {
            self.forward(&chain, &mut head, body, grpc, &bytes_in, &mut done)
                .await
        };
        // Whatever the upstream leg reports after the request body broke, the client broke it.
        let outcome = match (outcome, body_failure.as_ref().and_then(strict::body_error)) {
            (Err(Stop::Error(_) | Stop::Reset), Some(e)) => Err(Stop::Error(e)),
            (o, _) => o,
        };
        let resp = match outcome {
            Ok(up) => {
                done.upstream = up.addr;
                up.resp
            }
            Err(Stop::Reset) => {
                done.fail("reset", "stream reset by a filter");
                return Err(ResetStream);
            }
            Err(Stop::Error(e)) => {
                done.fail(e.flag(), &e.reason);
                let reply = LocalReply {
                    details: e.reason.clone(),
                    ..LocalReply::new(e.status(), e.body())
                };
                self.reply_through_filters(&chain, reply, chain.len(), grpc, &mut done)
                    .await?
            }
            Err(Stop::Reply(r, from)) => {
                done.local_reply(&r);
                let end = from.unwrap_or(chain.len());
                self.reply_through_filters(&chain, r, end, grpc, &mut done)
                    .await?
            }
        };
        done.status = resp.status().as_u16();
        let bytes_out = done.bytes_out.clone();
        let announced = announced_length(&head.method, resp.status(), resp.headers());
        Ok(resp.map(|b| boxed(ResponseBody::new(b, announced, bytes_out, done))))
    }

    fn stream_info(&self, route: Option<&Route>, request_id: String) -> StreamInfo {
        let cluster = route.and_then(|r| match &r.action {
            RouteAction::Cluster(a) => Some(a.cluster.clone()),
            RouteAction::Direct(_) => None,
        });
        StreamInfo {
            conn: self.conn.clone(),
            request_id,
            route_name: route.map(|r| r.name.clone()),
            cluster_metadata: cluster
                .as_ref()
                .and_then(|c| self.clusters.get(c))
                .map(|c| c.spec.metadata.clone())
                .unwrap_or_default(),
            cluster,
            route_metadata: route.map(|r| r.metadata.clone()).unwrap_or_default(),
            downstream_addr: self.conn.peer,
        }
    }

    /// Request filters, route, upstream, response filters.
    async fn forward(
        &self,
        chain: &Arc<Chain>,
        head: &mut RequestHead,
        body: ProxyBody,
        grpc: bool,
        bytes_in: &Arc<AtomicU64>,
        done: &mut Done,
    ) -> Result<Upstream, Stop> {
        use http_body::Body as _;
        let eos = body.is_end_stream();
        chain.request_headers(head, eos).await?;
        // Filters may have changed the path or headers: route on what they left.
        let route = self
            .hcm
            .routes
            .find(&head.authority, &head.path, &head.headers)
            .ok_or_else(|| {
                Stop::Error(ProxyError::new(
                    ErrorKind::NoRoute,
                    format!("no route for {}{}", head.authority, head.path),
                ))
            })?;
        let action = match &route.action {
            RouteAction::Direct(d) => {
                let status = StatusCode::from_u16(d.status).unwrap_or(StatusCode::OK);
                return Err(Stop::Reply(
                    LocalReply {
                        details: "direct_response".into(),
                        ..LocalReply::new(status, d.body.clone().unwrap_or_default())
                    },
                    None,
                ));
            }
            RouteAction::Cluster(a) => a,
        };
        let cluster = self.clusters.get(&action.cluster).cloned().ok_or_else(|| {
            Stop::Error(ProxyError::new(
                ErrorKind::NoCluster,
                format!("unknown cluster {}", action.cluster),
            ))
        })?;
        done.cluster = Some(action.cluster.clone());
        if let (Some(rw), PathMatch::Prefix(p)) = (&action.prefix_rewrite, &route.matcher.path) {
            if let Some(rest) = head.path.strip_prefix(p.as_str()) {
                head.path = format!("{rw}{rest}");
            }
        }
        if let Some(h) = &action.host_rewrite {
            head.authority = h.clone();
        }
        let mut late = None;
        let out = if eos {
            OutBody::Full(Bytes::new())
        } else if chain.is_empty() {
            OutBody::Stream(boxed(CountingBody::new(body, bytes_in.clone())))
        } else if grpc {
            // A gRPC request may stream before the first message passes (client streaming).
            let p = pump::spawn(chain.clone(), Dir::Request, body, bytes_in.clone());
            late = Some(p.late);
            OutBody::Stream(boxed(p.body))
        } else {
            match pump::start(chain.clone(), Dir::Request, body, bytes_in.clone()).await? {
                Started::Complete(data, None) => OutBody::Full(data),
                Started::Complete(data, trailers) => {
                    head.headers.remove(header::CONTENT_LENGTH);
                    OutBody::Stream(pump::complete_body(data, trailers))
                }
                Started::Streaming(p) => {
                    late = Some(p.late);
                    head.headers.remove(header::CONTENT_LENGTH);
                    OutBody::Stream(boxed(p.body))
                }
            }
        };
        let late = async move {
            if let Some(rx) = late {
                if let Ok(stop) = rx.await {
                    return stop;
                }
            }
            std::future::pending().await
        };
        let up = tokio::select! {
            r = self.attempts(&cluster, action, head, out) => r.map_err(Stop::Error)?,
            stop = late => return Err(stop),
        };
        self.respond(chain, up.0, chain.len(), grpc, done)
            .await
            .map(|resp| Upstream {
                resp,
                addr: Some(up.1),
            })
    }

    /// Sends with the route's timeout and retry policy.
    async fn attempts(
        &self,
        cluster: &Cluster,
        action: &ClusterAction,
        head: &mut RequestHead,
        out: OutBody,
    ) -> Result<(Response<ProxyBody>, SocketAddr), ProxyError> {
        let retry = action.retry.as_ref();
        let max = 1 + retry.map_or(0, |r| r.num_retries);
        let mut out = Some(out);
        let mut attempt = 0;
        let mut _retry_slot = None;
        // The route timeout bounds the whole request, retries and backoff included.
        let deadline = action.timeout.map(|t| (tokio::time::Instant::now() + t, t));
        loop {
            attempt += 1;
            let (body, replay) = match out.take() {
                Some(OutBody::Full(b)) => (full(b.clone()), Some(b)),
                Some(OutBody::Stream(s)) => (s, None),
                None => unreachable_body()?,
            };
            let mut req = Request::new(body);
            *req.method_mut() = head.method.clone();
            *req.uri_mut() = head
                .path
                .parse()
                .map_err(|e| ProxyError::new(ErrorKind::UpstreamReset, format!("bad path: {e}")))?;
            // Only a try that may be followed by another needs the headers kept: the last (or
            // only) one takes them, saving a header-map copy per request.
            *req.headers_mut() = if replay.is_none() || attempt >= max {
                std::mem::take(&mut head.headers)
            } else {
                head.headers.clone()
            };
            if let Some(b) = &replay {
                if !b.is_empty() || req.headers().contains_key(header::CONTENT_LENGTH) {
                    req.headers_mut()
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(b.len()));
                }
            }
            let timer = Instant::now();
            let send = cluster.send(req, &head.authority, Some(self.conn.peer));
            let remaining =
                deadline.map(|(d, _)| d.saturating_duration_since(tokio::time::Instant::now()));
            let per_try = retry.and_then(|r| r.per_try_timeout);
            let res = match attempt_timeout(per_try, remaining) {
                Some(t) => tokio::time::timeout(t, send).await.unwrap_or_else(|_| {
                    Err(ProxyError::new(
                        ErrorKind::Timeout,
                        format!("no response from cluster {} within {t:?}", cluster.name()),
                    ))
                }),
                None => send.await,
            };
            self.metrics
                .upstream_request(cluster.name(), &res, timer.elapsed());
            let retriable =
                replay.is_some() && attempt < max && retry.is_some_and(|r| should_retry(r, &res));
            if !retriable {
                return res;
            }
            // Envoy's `max_retries` breaker: no slot, no retry.
            match cluster.retry_slot() {
                Some(slot) => _retry_slot = Some(slot),
                None => {
                    tracing::debug!(cluster = cluster.name(), "retry overflow (max_retries)");
                    return res;
                }
            }
            out = replay.map(OutBody::Full);
            let backoff = std::time::Duration::from_millis(25u64 << (attempt - 1).min(4));
            if let Some((d, total)) = deadline {
                if tokio::time::Instant::now() + backoff >= d {
                    return Err(ProxyError::new(
                        ErrorKind::Timeout,
                        format!(
                            "route timeout {total:?} spent on cluster {} after {attempt} tries",
                            cluster.name()
                        ),
                    ));
                }
            }
            tokio::time::sleep(backoff).await;
        }
    }

    /// Response filters `end-1..=0`; holds the headers until the body's first output (see
    /// `pump`).
    async fn respond(
        &self,
        chain: &Arc<Chain>,
        resp: Response<ProxyBody>,
        end: usize,
        grpc: bool,
        done: &Done,
    ) -> Result<Response<ProxyBody>, Stop> {
        use http_body::Body as _;
        let (mut parts, body) = resp.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        if chain.is_empty() {
            return Ok(Response::from_parts(parts, body));
        }
        let eos = body.is_end_stream();
        let mut rh = ResponseHead {
            status: parts.status,
            headers: std::mem::take(&mut parts.headers),
        };
        chain.response_headers(&mut rh, eos, end).await?;
        parts.status = rh.status;
        parts.headers = rh.headers;
        if eos {
            return Ok(Response::from_parts(parts, empty()));
        }
        if end < chain.len() {
            // A filter's local reply: its body is final (the replying filter already saw it).
            return Ok(Response::from_parts(parts, body));
        }
        // Headers go out only once the first body chunk has passed every filter, so a filter
        // that holds the body and then replies locally (a WAF block, also on gRPC) replaces the
        // whole response instead of resetting a stream whose headers were already sent.
        let body = match pump::start(
            chain.clone(),
            Dir::Response,
            body,
            done.upstream_bytes.clone(),
        )
        .await?
        {
            Started::Complete(data, trailers) => {
                if !grpc && trailers.is_none() {
                    parts
                        .headers
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(data.len()));
                }
                pump::complete_body(data, trailers)
            }
            Started::Streaming(p) => boxed(p.body),
        };
        Ok(Response::from_parts(parts, body))
    }

    /// A local reply (filter, direct response, proxy error) through the response filters, as
    /// Envoy does. If a response filter stops that too, the reply goes out unfiltered.
    async fn reply_through_filters(
        &self,
        chain: &Arc<Chain>,
        reply: LocalReply,
        end: usize,
        grpc: bool,
        done: &mut Done,
    ) -> Result<Response<ProxyBody>, ResetStream> {
        let resp = local_response(&reply, grpc);
        match self.respond(chain, resp, end, grpc, done).await {
            Ok(r) => Ok(r),
            Err(Stop::Reply(r2, _)) => {
                done.local_reply(&r2);
                Ok(local_response(&r2, grpc))
            }
            Err(Stop::Error(e)) => {
                done.fail(e.flag(), &e.reason);
                Ok(local_response(&LocalReply::new(e.status(), e.body()), grpc))
            }
            Err(Stop::Reset) => Err(ResetStream),
        }
    }
}

/// Envoy's `retry_on` conditions we implement.
fn should_retry(
    r: &super::route::RetryPolicy,
    res: &Result<(Response<ProxyBody>, SocketAddr), ProxyError>,
) -> bool {
    let on = |c: RetryOn| r.retry_on.contains(&c);
    match res {
        Ok((resp, _)) => {
            let s = resp.status().as_u16();
            (on(RetryOn::FiveXx) && s >= 500)
                || (on(RetryOn::GatewayError) && (502..=504).contains(&s))
                || (on(RetryOn::Retriable4xx) && s == 409)
                || (on(RetryOn::RetriableStatusCodes) && r.retriable_status_codes.contains(&s))
        }
        Err(e) => match e.kind {
            ErrorKind::ConnectFailure => {
                on(RetryOn::ConnectFailure) || on(RetryOn::FiveXx) || on(RetryOn::GatewayError)
            }
            ErrorKind::UpstreamReset => {
                on(RetryOn::Reset) || on(RetryOn::FiveXx) || on(RetryOn::GatewayError)
            }
            ErrorKind::Timeout => on(RetryOn::FiveXx),
            _ => false,
        },
    }
}

fn unreachable_body() -> Result<(ProxyBody, Option<Bytes>), ProxyError> {
    Err(ProxyError::new(
        ErrorKind::UpstreamReset,
        "request body already sent",
    ))
}

/// Builds the response for a local reply: text/plain with content-length, or a gRPC
/// trailers-only response carrying `grpc-status`.
pub fn local_response(r: &LocalReply, grpc: bool) -> Response<ProxyBody> {
    let mut resp = Response::new(empty());
    let headers = resp.headers_mut();
    for (k, v) in &r.headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.append(k, v);
        }
    }
    if grpc || r.grpc_status.is_some() {
        // Trailers-only: one header block with END_STREAM, so nothing may announce a body.
        headers.remove(header::CONTENT_LENGTH);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        if !headers.contains_key("grpc-status") {
            let code = r
                .grpc_status
                .unwrap_or_else(|| grpc_status_for(r.status.as_u16()));
            headers.insert("grpc-status", HeaderValue::from(code));
        }
        let msg = r.body.trim_ascii();
        if !msg.is_empty() && !headers.contains_key("grpc-message") {
            let encoded = microwaf_runtime::LocalReply::grpc_message(msg);
            if let Ok(v) = HeaderValue::from_str(&encoded) {
                headers.insert("grpc-message", v);
            }
        }
        *resp.status_mut() = StatusCode::OK;
        return resp;
    }
    if !r.body.is_empty() && !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(r.body.len()));
    *resp.status_mut() = r.status;
    *resp.body_mut() = full(r.body.clone());
    resp
}
