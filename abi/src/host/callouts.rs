//! [`CalloutHost`]: HTTP and gRPC callouts (`linker/callouts.rs` adapts the imports).

use bytes::Bytes;

use super::{HostResult, PairRef};

/// Arguments of `proxy_http_call`, borrowed from guest memory.
#[derive(Debug, Clone)]
pub struct HttpCall<'a> {
    /// Cluster name the call is routed to.
    pub upstream: &'a [u8],
    /// Must contain `:method`, `:path` and `:authority`, else the host answers `BadArgument`.
    pub headers: Vec<PairRef<'a>>,
    pub body: &'a [u8],
    pub trailers: Vec<PairRef<'a>>,
    pub timeout_ms: u32,
}

/// Arguments of `proxy_grpc_call` / `proxy_grpc_stream`, borrowed from guest memory.
#[derive(Debug, Clone)]
pub struct GrpcCall<'a> {
    /// Cluster name (Envoy also accepts a serialized `GrpcService`; we accept the name).
    pub upstream: &'a [u8],
    pub service: &'a [u8],
    pub method: &'a [u8],
    pub initial_metadata: Vec<PairRef<'a>>,
    /// The request message for unary calls; empty for streams.
    pub message: &'a [u8],
    pub timeout_ms: u32,
}

/// Calls the guest starts towards other services. Each answers a token at once; the response
/// is delivered later, to the root context, as a callback of its own.
pub trait CalloutHost {
    /// `proxy_http_call`: returns the call token.
    fn http_call(&mut self, call: HttpCall<'_>) -> HostResult<u32>;
    /// `proxy_grpc_call`: a unary call; returns its token.
    fn grpc_call(&mut self, call: GrpcCall<'_>) -> HostResult<u32>;
    /// `proxy_grpc_stream`: opens a stream; returns its token.
    fn grpc_stream(&mut self, call: GrpcCall<'_>) -> HostResult<u32>;
    /// `proxy_grpc_send`: a message on an open stream.
    fn grpc_send(&mut self, token: u32, message: &[u8], end_stream: bool) -> HostResult<()>;
    /// `proxy_grpc_cancel`: resets a stream or abandons a call.
    fn grpc_cancel(&mut self, token: u32) -> HostResult<()>;
    /// `proxy_grpc_close`: half-closes a stream or abandons a call.
    fn grpc_close(&mut self, token: u32) -> HostResult<()>;
    /// `proxy_get_status`: (status code, message) of the last callout response.
    fn get_status(&mut self) -> HostResult<(u32, Bytes)>;
}
