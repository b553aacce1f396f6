//! What the embedder (proxy, tests, benches, `microwaf run`) provides to the runtime, and the
//! value types that cross that boundary. The runtime does no I/O of its own: callouts, logs,
//! clocks and request attributes all come through these traits.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use microwaf_abi::{LogLevel, Status, StreamType};

use crate::properties::PropertySource;

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
        Self::status_only(503, details)
    }

    /// `text` as a `grpc-message` value: percent-encoded as the gRPC HTTP/2 protocol asks
    /// (bytes outside printable ASCII, and `%` itself), so any message fits a header.
    pub fn grpc_message(text: &[u8]) -> String {
        let mut out = String::with_capacity(text.len());
        for &b in text {
            if (0x20..0x7f).contains(&b) && b != b'%' {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    /// A plain-text reply the runtime itself generates (fail-closed 503, buffer limits).
    pub fn status_only(status: u32, details: &str) -> Self {
        let body = Bytes::from(match status {
            413 => "payload too large\n",
            503 => "plugin unavailable\n",
            _ => "internal error\n",
        });
        LocalReply {
            status,
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

/// An outgoing gRPC stream (`proxy_grpc_stream`), owned. Messages follow through the
/// [`GrpcStreamHandle`] the embedder returns.
#[derive(Debug, Clone)]
pub struct GrpcStreamRequest {
    pub cluster: Bytes,
    pub service: Bytes,
    pub method: Bytes,
    pub initial_metadata: Headers,
}

/// Something a gRPC stream delivers to the filter, in this order: initial metadata, any number
/// of messages, trailing metadata, close.
#[derive(Debug, Clone)]
pub enum GrpcStreamEvent {
    InitialMetadata(Headers),
    Message(Bytes),
    TrailingMetadata(Headers),
    /// The stream ended: the gRPC status (0 = OK; a reset is 14 UNAVAILABLE) and message.
    Close {
        status: u32,
        message: Bytes,
    },
}

/// Where the embedder posts a stream's [`GrpcStreamEvent`]s. Cheap to clone; may be called
/// from any thread at any time, also synchronously inside [`Embedder::grpc_stream`] or
/// [`GrpcStreamHandle::send`]. Events of a stream the filter cancelled are dropped.
#[derive(Clone)]
pub struct GrpcStreamSink(pub(crate) std::sync::Arc<dyn Fn(GrpcStreamEvent) + Send + Sync>);

impl GrpcStreamSink {
    pub fn send(&self, event: GrpcStreamEvent) {
        (self.0)(event)
    }
}

/// The embedder's end of an open gRPC stream, driven by the filter's hostcalls.
pub trait GrpcStreamHandle: Send {
    /// `proxy_grpc_send`: one message; `end_stream` half-closes the sending side.
    fn send(&mut self, message: Bytes, end_stream: bool);
    /// `proxy_grpc_close`: half-close (no more messages from the filter).
    fn close(&mut self);
    /// `proxy_grpc_cancel`: reset the stream; no further events are delivered.
    fn cancel(&mut self);
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
    /// Opens a gRPC stream. Default: no gRPC support (`InternalFailure`, as for unary calls).
    /// An unknown cluster is `ParseFailure` (Envoy: not a `GrpcService`).
    fn grpc_stream(
        &self,
        request: GrpcStreamRequest,
        events: GrpcStreamSink,
    ) -> Result<Box<dyn GrpcStreamHandle>, Status> {
        let _ = (request, events);
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

/// Request attributes of one stream or connection, as the runtime holds them.
pub type DynProperties = std::sync::Arc<dyn PropertySource + Send + Sync>;

/// A [`PropertySource`] with nothing in it (tests, `microwaf run`).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProperties;

impl PropertySource for NoProperties {
    fn attribute(&self, _name: &str) -> Option<crate::properties::Value> {
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
