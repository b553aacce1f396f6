//! What the embedder (proxy, tests, benches, `microwaf run`) provides to the runtime, and the
//! value types that cross that boundary. The runtime does no I/O of its own: callouts, logs,
//! clocks and request attributes all come through these traits.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use microwaf_abi::{LogLevel, Status, StreamType};

/// An ordered header map as the guest sees it: names as sent (lower case for HTTP/2), duplicates
/// kept as separate entries, pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`,
/// `:status`) first.
pub type Headers = Vec<(Bytes, Bytes)>;

/// A local reply a filter sent (`proxy_send_local_response`), after the same stream's
/// `on_response_headers` has seen (and possibly changed) it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    pub status: u32,
    /// Response headers to send (no `:status`; includes `content-type`/`content-length`).
    pub headers: Headers,
    pub body: Bytes,
    /// gRPC status for trailers, `None` when the filter passed −1.
    pub grpc_status: Option<i32>,
    /// Envoy's response-code details, for access logs.
    pub details: Bytes,
}

impl LocalReply {
    /// The reply the fail-closed policy sends.
    pub fn unavailable(details: &str) -> Self {
        let body = Bytes::from_static(b"plugin unavailable\n");
        LocalReply {
            status: 503,
            headers: vec![
                (
                    Bytes::from_static(b"content-type"),
                    Bytes::from_static(b"text/plain"),
                ),
                (
                    Bytes::from_static(b"content-length"),
                    Bytes::from(body.len().to_string()),
                ),
            ],
            body,
            grpc_status: None,
            details: Bytes::copy_from_slice(details.as_bytes()),
        }
    }
}

/// A response to an HTTP or gRPC callout, or its failure.
#[derive(Debug, Clone, Default)]
pub struct CalloutResponse {
    /// `None`: reset, timeout or unknown cluster (the guest sees zeros and BrokenConnection).
    pub result: Option<CalloutResult>,
}

/// A completed callout.
#[derive(Debug, Clone, Default)]
pub struct CalloutResult {
    /// Includes `:status` for HTTP.
    pub headers: Headers,
    pub body: Bytes,
    pub trailers: Headers,
    /// gRPC status code (0 = OK); ignored for HTTP.
    pub grpc_status: u32,
    pub grpc_message: Bytes,
}

/// The one-shot completion handle passed to the embedder's callout functions. May be called
/// from any thread, at any time (also synchronously, inside the `http_call` call itself).
pub type CalloutReply = Box<dyn FnOnce(CalloutResponse) + Send>;

/// An outgoing HTTP callout (`proxy_http_call`), owned.
#[derive(Debug, Clone)]
pub struct HttpCalloutRequest {
    pub cluster: Bytes,
    pub headers: Headers,
    pub body: Bytes,
    pub trailers: Headers,
    pub timeout: Duration,
}

/// An outgoing gRPC callout (`proxy_grpc_call`), owned.
#[derive(Debug, Clone)]
pub struct GrpcCalloutRequest {
    pub cluster: Bytes,
    pub service: Bytes,
    pub method: Bytes,
    pub initial_metadata: Headers,
    pub message: Bytes,
    pub timeout: Duration,
}

/// Services the embedder provides to every plugin.
pub trait Embedder: Send + Sync {
    /// Starts an HTTP callout. `Err(BadArgument)` for an unknown cluster (Envoy's answer).
    fn http_call(&self, request: HttpCalloutRequest, reply: CalloutReply) -> Result<(), Status>;
    /// Starts a unary gRPC callout. Default: no gRPC support (`InternalFailure`, which the SDK
    /// accepts).
    fn grpc_call(&self, request: GrpcCalloutRequest, reply: CalloutReply) -> Result<(), Status> {
        let _ = (request, reply);
        Err(Status::InternalFailure)
    }
    /// A filter log line. `context` is the effective context id.
    fn log(&self, plugin: &str, context: u32, level: LogLevel, message: &str);
    /// The lowest level the embedder wants (`proxy_get_log_level`); lower lines are not sent.
    fn log_level(&self) -> LogLevel {
        LogLevel::Trace
    }
    /// Wall-clock time for `proxy_get_current_time_nanoseconds`.
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Request attributes of one stream (`proxy_get_property`), supplied by the embedder.
pub trait PropertySource: Send + Sync {
    /// The encoded value at `path` (segments), `None` if unknown. Values follow the ABI's
    /// encoding: strings raw, integers 8-byte LE, bools 1 byte, maps as header pairs.
    fn property(&self, path: &[&[u8]]) -> Option<Bytes>;
}

/// A [`PropertySource`] with nothing in it (root contexts, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProperties;

impl PropertySource for NoProperties {
    fn property(&self, _path: &[&[u8]]) -> Option<Bytes> {
        None
    }
}

/// Asynchronous wake-ups of one stream, for actions taken *outside* the stream's own callback
/// (a callout response, a tick, a queue, a VM failure). Called after the VM lock is released,
/// so the handler may call straight back into the stream.
pub trait StreamEvents: Send + Sync {
    /// The filter resumed this direction (`proxy_continue_stream`) or the VM failed open. The
    /// embedder re-drives the paused phase: a paused body phase is re-driven by calling the
    /// body callback again with an empty chunk (the runtime kept the data).
    fn resume(&self, stream: StreamType);
    /// The filter closed (reset) this direction.
    fn close(&self, stream: StreamType);
    /// The filter answered the stream itself (or the VM failed closed).
    fn local_reply(&self, reply: LocalReply);
}

/// [`StreamEvents`] that ignores everything (for streams that never pause).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl StreamEvents for NoEvents {
    fn resume(&self, _: StreamType) {}
    fn close(&self, _: StreamType) {}
    fn local_reply(&self, _: LocalReply) {}
}
