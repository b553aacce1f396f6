//! Which map or buffer a hostcall may touch in the running callback: Envoy's phase windows for
//! a stream's header maps, the access-log maps of `on_log`, callout responses, and the body or
//! data buffer that matches the context's kind. [`HttpHost`](microwaf_abi::HttpHost) (in
//! `http.rs`) serves the hostcalls through these lookups, so every status a missing or closed
//! map answers is decided here.

use bytes::{Bytes, BytesMut};
use microwaf_abi::{BufferType, HostResult, MapType, Status};

use super::{Context, ContextKind, StreamMap, VmState};
use crate::embedder::Headers;

/// A map readable by the guest: a stream's own, or a callout response's pairs.
pub(super) enum MapView<'a> {
    Stream(&'a StreamMap),
    Callout(&'a Headers),
}

impl VmState {
    /// The map `map` of the effective context, or the callout response's maps, for a read.
    /// Envoy's rules:
    /// - a stream map outside its phase window → `BadArgument`; in `on_log` request headers,
    ///   response headers and trailers read as present (absent → `NotFound`);
    /// - callout maps (4–7) read while no response is being delivered answer `NotFound`, the
    ///   documented deviation: Envoy answers `BadArgument`, on which the SDKs trap (envoy
    ///   issue 26485).
    pub(super) fn map_read(&mut self, map: MapType) -> HostResult<MapView<'_>> {
        if let Some(i) = Context::map_index(map) {
            let ctx = self.effective_ctx().ok_or(Status::BadArgument)?;
            if ctx.log_phase {
                // Envoy's access-log maps: request headers, response headers and trailers;
                // request trailers only while still in their window. Missing → NotFound.
                let readable = i != 1 || ctx.open[1];
                return ctx.maps[i]
                    .as_ref()
                    .filter(|_| readable)
                    .map(MapView::Stream)
                    .ok_or(Status::NotFound);
            }
            if !ctx.open[i] {
                return Err(Status::BadArgument);
            }
            return ctx.maps[i]
                .as_ref()
                .map(MapView::Stream)
                .ok_or(Status::BadArgument);
        }
        let callout = self.active_callout.as_ref().ok_or(Status::NotFound)?;
        let result = callout.response.result.as_ref().ok_or(Status::NotFound)?;
        Ok(MapView::Callout(match map {
            MapType::HttpCallResponseHeaders | MapType::GrpcReceiveInitialMetadata => {
                &result.headers
            }
            _ => &result.trailers,
        }))
    }

    /// A stream map within its phase window (writes, and Envoy's size); callout maps are never
    /// writable and a stream map is not writable in `on_log`: `BadArgument`.
    pub(super) fn map(&mut self, map: MapType) -> HostResult<&mut StreamMap> {
        let i = Context::map_index(map).ok_or(Status::BadArgument)?;
        let ctx = self.effective_ctx().ok_or(Status::BadArgument)?;
        if !ctx.open[i] {
            return Err(Status::BadArgument);
        }
        ctx.maps[i].as_mut().ok_or(Status::BadArgument)
    }

    /// [`map`](Self::map) for a call that changes the map: marks it changed for the embedder.
    pub(super) fn map_mut(&mut self, map: MapType) -> HostResult<&mut StreamMap> {
        if let Some(i) = Context::map_index(map) {
            if let Some(ctx) = self.effective_ctx() {
                ctx.changed[i] = true;
            }
        }
        self.map(map)
    }

    /// The body/data buffer of the effective context for `buffer`, with its end-of-stream flag;
    /// `None` when this context has no such buffer (a root context, an L4 buffer in an HTTP
    /// stream, …).
    pub(super) fn stream_buffer(&mut self, buffer: BufferType) -> Option<(&mut BytesMut, bool)> {
        let i = match buffer {
            BufferType::HttpRequestBody | BufferType::DownstreamData => 0,
            _ => 1,
        };
        let want = match buffer {
            BufferType::HttpRequestBody | BufferType::HttpResponseBody => ContextKind::Http,
            _ => ContextKind::Network,
        };
        let ctx = self.effective_ctx()?;
        if ctx.kind != want {
            return None;
        }
        Some((&mut ctx.bodies[i], ctx.end_of_stream[i]))
    }

    /// Read-only buffers: configuration and callout responses.
    pub(super) fn fixed_buffer(&self, buffer: BufferType) -> HostResult<Bytes> {
        let cfg = &self.plugin.config;
        match buffer {
            BufferType::VmConfiguration => Ok(cfg.vm_config.clone()),
            BufferType::PluginConfiguration => Ok(cfg.plugin_config.clone()),
            BufferType::HttpCallResponseBody => {
                let c = self.active_callout.as_ref().ok_or(Status::NotFound)?;
                let r = c.response.result.as_ref().ok_or(Status::NotFound)?;
                Ok(r.body.clone())
            }
            // Envoy's call-data buffer is always there: what the running callback was given.
            BufferType::CallData => Ok(self.call_data.clone().unwrap_or_default()),
            BufferType::GrpcReceiveBuffer => {
                let c = self.active_callout.as_ref().ok_or(Status::NotFound)?;
                let r = c.response.result.as_ref().ok_or(Status::NotFound)?;
                Ok(r.body.clone())
            }
            _ => Err(Status::NotFound),
        }
    }
}
