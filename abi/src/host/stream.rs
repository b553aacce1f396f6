//! [`StreamHost`]: stream control (`linker/stream.rs` adapts the imports).

use super::{HostResult, PairRef};
use crate::types::StreamType;

/// Arguments of `proxy_send_local_response`, borrowed from guest memory.
#[derive(Debug, Clone)]
pub struct LocalResponse<'a> {
    pub status_code: u32,
    /// Envoy's "response code details" (shown in access logs).
    pub details: &'a [u8],
    pub body: &'a [u8],
    pub headers: Vec<PairRef<'a>>,
    /// gRPC status to send in trailers; −1 means none.
    pub grpc_status: i32,
}

/// What the guest asks of the stream itself: resume it, close it, or answer it locally. None of
/// it happens inside the hostcall; the host acts when the callback returns.
pub trait StreamHost {
    /// `proxy_continue_stream` (and ABI 0.1.0 `proxy_continue_request`/`_response`, which the
    /// adapters map here with the direction filled in).
    fn continue_stream(&mut self, stream: StreamType) -> HostResult<()>;
    /// `proxy_close_stream`.
    fn close_stream(&mut self, stream: StreamType) -> HostResult<()>;
    /// `proxy_send_local_response`: takes effect when the current callback returns and stops
    /// the filter chain.
    fn send_local_response(&mut self, response: LocalResponse<'_>) -> HostResult<()>;
    /// ABI 0.1.0 `proxy_clear_route_cache`: always `Ok`, nothing to do by default. Envoy
    /// caches the route before the filters run and needs this to re-match; microwaf's proxy
    /// matches the route only after the filter chain, on the headers the filters left, so no
    /// route is ever cached while a filter runs.
    fn clear_route_cache(&mut self) -> HostResult<()> {
        Ok(())
    }
}
