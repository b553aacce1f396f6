//! HTTP listener IR: connection manager, virtual hosts, routes.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::{Metadata, WasmPlugin};
use crate::config::duration::serde_opt as dur_opt;
use crate::config::pattern::Pattern;

/// Envoy `HttpConnectionManager`, reduced to what changes behaviour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpConnMgr {
    pub codec: Codec,
    /// Used as the metrics/access-log prefix; cosmetic.
    pub stat_prefix: String,
    /// Matched in order by `:authority`/`Host` (see [`VirtualHost::domains`]).
    pub virtual_hosts: Vec<VirtualHost>,
    /// Wasm HTTP filters in chain order; they run before the router, so direct responses
    /// still pass through them (as in Envoy).
    pub http_filters: Vec<WasmPlugin>,
    pub limits: Limits,
    pub access_log: Option<AccessLog>,
}

/// Downstream HTTP codec (Envoy `codec_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Codec {
    /// HTTP/1.1 or HTTP/2, by ALPN over TLS or by the h2 preface on plain TCP (Envoy `AUTO`).
    Auto,
    Http1,
    Http2,
}

/// Per-connection and per-stream limits. Defaults are Envoy's except where noted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Limits {
    /// Envoy `per_connection_buffer_limit_bytes` (default 1 MiB): the most a paused filter
    /// may buffer; overflow → 413 on requests, 500 on responses.
    pub buffer_limit_bytes: u32,
    /// Envoy `max_request_headers_kb` (default 60): larger header blocks → 431.
    pub max_request_headers_kb: u32,
    /// Envoy `request_headers_timeout` (default none): time to receive the full headers.
    #[serde(with = "dur_opt")]
    pub request_headers_timeout: Option<Duration>,
    /// Envoy `common_http_protocol_options.idle_timeout` (default 1 h); `None` disables.
    #[serde(with = "dur_opt")]
    pub idle_timeout: Option<Duration>,
    /// HTTP/2 `max_concurrent_streams` per downstream connection (default 100, Envoy's
    /// recommended edge value; its built-in default is 2^31-1). Kept well below a cluster's
    /// default `max_requests` (1024) so one connection holding its streams cannot take every
    /// request slot of a cluster and turn other clients' requests into 503 `UO`.
    pub max_concurrent_streams: u32,
    /// Envoy `common_http_protocol_options.max_headers_count` (default 100): more request
    /// headers → 431.
    pub max_headers_count: u32,
    /// HTTP/2 tuning from Envoy `http2_protocol_options`; `None` keeps hyper's defaults.
    pub http2: Http2Options,
}

/// The `http2_protocol_options` that map onto hyper's HTTP/2 server settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Http2Options {
    pub initial_stream_window_size: Option<u32>,
    pub initial_connection_window_size: Option<u32>,
    /// `connection_keepalive.interval`: PING period (default 30 s).
    #[serde(with = "dur_opt")]
    pub keepalive_interval: Option<Duration>,
    /// `connection_keepalive.timeout`: how long a PING may stay unanswered.
    #[serde(with = "dur_opt")]
    pub keepalive_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            buffer_limit_bytes: 1024 * 1024,
            max_request_headers_kb: 60,
            request_headers_timeout: None,
            idle_timeout: Some(Duration::from_secs(3600)),
            max_concurrent_streams: 100,
            max_headers_count: 100,
            http2: Http2Options::default(),
        }
    }
}

/// Where JSON access-log lines go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessLog {
    Stdout,
    Stderr,
    File(PathBuf),
}

/// Envoy `VirtualHost`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VirtualHost {
    pub name: String,
    /// Lower-cased host patterns, Envoy semantics: exact `example.com`, suffix `*.example.com`,
    /// prefix `api.*`, or `*` for any. A port in the request's host is ignored unless the
    /// pattern has one. Envoy picks exact, then longest suffix, then longest prefix, then `*`.
    pub domains: Vec<String>,
    /// First match wins.
    pub routes: Vec<Route>,
}

/// Envoy `Route`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    /// Optional in Envoy; empty when not given.
    pub name: String,
    #[serde(rename = "match")]
    pub matcher: RouteMatch,
    pub action: RouteAction,
    /// `metadata.filter_metadata`, exposed to filters as `route_metadata` / `xds.route_metadata`.
    pub metadata: Metadata,
}

/// Envoy `RouteMatch`: path plus header conditions, all must hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteMatch {
    pub path: PathMatch,
    pub headers: Vec<HeaderMatcher>,
    /// Envoy `case_sensitive` (default true) for prefix/exact path matching.
    pub case_sensitive: bool,
}

/// How the request path (without the query string) is matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathMatch {
    Prefix(String),
    Exact(String),
    /// Full match of the whole path, as Envoy's `safe_regex` (RE2 full match).
    Regex(Pattern),
}

/// Envoy `HeaderMatcher`. Header names are lower-cased; pseudo-headers (`:method`,
/// `:authority`, `:path`) are allowed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeaderMatcher {
    pub name: String,
    #[serde(rename = "match")]
    pub kind: HeaderMatch,
    /// Envoy `invert_match`.
    pub invert: bool,
}

/// The condition on one header's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderMatch {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    /// Full match, as Envoy's `safe_regex_match`.
    Regex(Pattern),
    /// `present_match: true` → header present; `false` → header absent.
    Present(bool),
}

/// What a matched route does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteAction {
    Cluster(ClusterAction),
    /// Envoy `direct_response`: answered by the proxy (after the HTTP filters).
    Direct(DirectResponse),
}

/// Envoy `RouteAction` with a single `cluster`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterAction {
    pub cluster: String,
    /// Whole-request timeout; Envoy's default is 15 s and `0s` disables it (`None`).
    #[serde(with = "dur_opt")]
    pub timeout: Option<Duration>,
    /// Replaces the matched prefix (prefix routes only, as in Envoy).
    pub prefix_rewrite: Option<String>,
    /// Envoy `host_rewrite_literal`: the `:authority` sent upstream.
    pub host_rewrite: Option<String>,
    pub retry: Option<RetryPolicy>,
}

/// Envoy `RetryPolicy`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetryPolicy {
    pub retry_on: Vec<RetryOn>,
    /// Envoy default 1.
    pub num_retries: u32,
    /// `None`: each try may use the rest of the route timeout.
    #[serde(with = "dur_opt")]
    pub per_try_timeout: Option<Duration>,
    /// Used with [`RetryOn::RetriableStatusCodes`].
    pub retriable_status_codes: Vec<u16>,
}

/// Envoy `retry_on` conditions (the `x-envoy-retry-on` / `x-envoy-retry-grpc-on` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetryOn {
    #[serde(rename = "5xx")]
    FiveXx,
    GatewayError,
    Reset,
    ConnectFailure,
    #[serde(rename = "retriable-4xx")]
    Retriable4xx,
    RefusedStream,
    RetriableStatusCodes,
    Cancelled,
    DeadlineExceeded,
    Internal,
    ResourceExhausted,
    Unavailable,
}

impl RetryOn {
    /// Parses one Envoy `retry_on` token.
    pub fn parse(token: &str) -> Option<RetryOn> {
        Some(match token {
            "5xx" => RetryOn::FiveXx,
            "gateway-error" => RetryOn::GatewayError,
            "reset" => RetryOn::Reset,
            "connect-failure" => RetryOn::ConnectFailure,
            "retriable-4xx" => RetryOn::Retriable4xx,
            "refused-stream" => RetryOn::RefusedStream,
            "retriable-status-codes" => RetryOn::RetriableStatusCodes,
            "cancelled" => RetryOn::Cancelled,
            "deadline-exceeded" => RetryOn::DeadlineExceeded,
            "internal" => RetryOn::Internal,
            "resource-exhausted" => RetryOn::ResourceExhausted,
            "unavailable" => RetryOn::Unavailable,
            _ => return None,
        })
    }
}

/// Envoy `DirectResponseAction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectResponse {
    pub status: u16,
    pub body: Option<String>,
}
