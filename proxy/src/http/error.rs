//! The single place where proxy failures become HTTP responses (linkerd2-proxy's "rescue").
//!
//! Every failure records who caused it ([`ErrorKind`]) so the access log shows Envoy-style
//! response flags and a reason, and the client sees the status Envoy would send.

use http::StatusCode;

/// What went wrong while proxying one request.
#[derive(Debug, thiserror::Error)]
#[error("{kind:?}: {reason}")]
pub struct ProxyError {
    pub kind: ErrorKind,
    pub reason: String,
}

/// Stable kinds, one per Envoy response flag we emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No virtual host or route matched (`NR`).
    NoRoute,
    /// The route names a cluster that does not exist (`NC`).
    NoCluster,
    /// The cluster has no endpoints (`UH`).
    NoHealthyUpstream,
    /// TCP/TLS connect to the upstream failed or timed out (`UF`).
    ConnectFailure,
    /// A circuit breaker tripped (`UO`).
    Overflow,
    /// The route timeout fired before the upstream answered (`UT`).
    Timeout,
    /// The upstream reset or closed the stream (`UR`).
    UpstreamReset,
    /// A filter paused and the buffered body passed the limit on the request side.
    RequestTooLarge,
    /// A filter paused and the buffered body passed the limit on the response side.
    ResponseTooLarge,
    /// A filter failed (trap with fail-closed) (`FF`, our own flag).
    FilterFailure,
    /// The downstream went away mid-request (`DC`).
    DownstreamReset,
    /// The downstream broke the protocol, e.g. a malformed chunked request body (`DPE`).
    DownstreamProtocol,
}

impl ProxyError {
    pub fn new(kind: ErrorKind, reason: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
        }
    }

    /// The status the client receives.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            ErrorKind::NoRoute => StatusCode::NOT_FOUND,
            ErrorKind::NoCluster
            | ErrorKind::NoHealthyUpstream
            | ErrorKind::ConnectFailure
            | ErrorKind::Overflow
            | ErrorKind::UpstreamReset
            | ErrorKind::FilterFailure => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::ResponseTooLarge => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::DownstreamReset | ErrorKind::DownstreamProtocol => StatusCode::BAD_REQUEST,
        }
    }

    /// Envoy's response flag for the access log.
    pub fn flag(&self) -> &'static str {
        match self.kind {
            ErrorKind::NoRoute => "NR",
            ErrorKind::NoCluster => "NC",
            ErrorKind::NoHealthyUpstream => "UH",
            ErrorKind::ConnectFailure => "UF",
            ErrorKind::Overflow => "UO",
            ErrorKind::Timeout => "UT",
            ErrorKind::UpstreamReset => "UR",
            ErrorKind::RequestTooLarge | ErrorKind::ResponseTooLarge => "BL",
            ErrorKind::FilterFailure => "FF",
            ErrorKind::DownstreamReset => "DC",
            ErrorKind::DownstreamProtocol => "DPE",
        }
    }

    /// The body Envoy sends for the same failure (clients and tests match on these).
    pub fn body(&self) -> &'static str {
        match self.kind {
            ErrorKind::NoRoute => "",
            ErrorKind::NoCluster | ErrorKind::NoHealthyUpstream => "no healthy upstream",
            ErrorKind::ConnectFailure | ErrorKind::UpstreamReset => {
                "upstream connect error or disconnect/reset before headers"
            }
            ErrorKind::Overflow => "upstream connect error or overflow",
            ErrorKind::Timeout => "upstream request timeout",
            ErrorKind::RequestTooLarge => "Payload Too Large",
            ErrorKind::ResponseTooLarge => "Internal Server Error",
            ErrorKind::FilterFailure => "filter failed",
            ErrorKind::DownstreamReset => "downstream reset",
            ErrorKind::DownstreamProtocol => "Bad Request",
        }
    }
}
