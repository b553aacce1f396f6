//! Header maps, buffers and stream control with Envoy's semantics: phase windows, the
//! access-log maps, buffer edits, continue/close and local replies.

use bytes::{Bytes, BytesMut};
use microwaf_abi::{
    pairs, BufferType, HostBytes, HostResult, LocalResponse, MapType, PairRef, Status, StreamType,
};

use super::map::{owned_pairs, StreamMap};
use super::{Context, ContextKind, Pending, VmState};
use crate::embedder::{Headers, LocalReply};

/// A map readable by the guest: a stream's own, or a callout response's pairs.
enum MapView<'a> {
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
    fn map_read(&mut self, map: MapType) -> HostResult<MapView<'_>> {
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
    fn map(&mut self, map: MapType) -> HostResult<&mut StreamMap> {
        let i = Context::map_index(map).ok_or(Status::BadArgument)?;
        let ctx = self.effective_ctx().ok_or(Status::BadArgument)?;
        if !ctx.open[i] {
            return Err(Status::BadArgument);
        }
        ctx.maps[i].as_mut().ok_or(Status::BadArgument)
    }

    /// [`map`](Self::map) for a call that changes the map: marks it changed for the embedder.
    fn map_mut(&mut self, map: MapType) -> HostResult<&mut StreamMap> {
        if let Some(i) = Context::map_index(map) {
            if let Some(ctx) = self.effective_ctx() {
                ctx.changed[i] = true;
            }
        }
        self.map(map)
    }

    /// Envoy serialises whatever map is there and an unavailable one as nothing (written to
    /// the guest as (0, 0)): always `Ok`.
    pub(crate) fn get_pairs(&mut self, map: MapType) -> HostResult<Vec<u8>> {
        let encoded = match self.map_read(map) {
            Ok(MapView::Stream(m)) => m.encode(),
            Ok(MapView::Callout(p)) => pairs::encode(p),
            Err(_) => return Ok(Vec::new()),
        };
        encoded.map_err(|e| e.status())
    }

    pub(crate) fn set_pairs(&mut self, map: MapType, new: &[PairRef<'_>]) -> HostResult<()> {
        self.map_mut(map)?.set_all(new);
        Ok(())
    }

    /// Envoy sizes through the mutable map: only within the phase window.
    pub(crate) fn map_size(&mut self, map: MapType) -> HostResult<u32> {
        Ok(self.map(map)?.byte_size() as u32)
    }

    pub(crate) fn map_value(&mut self, map: MapType, key: &[u8]) -> HostResult<Bytes> {
        self.map_value_ref(map, key)
            .map(|v| Bytes::copy_from_slice(&v))
    }

    /// The value borrowed from the map, for the adapter to copy into guest memory.
    pub(crate) fn map_value_ref(&mut self, map: MapType, key: &[u8]) -> HostResult<HostBytes<'_>> {
        let value = match self.map_read(map)? {
            MapView::Stream(m) => m.get(key),
            MapView::Callout(p) => p
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| &v[..]),
        };
        value.map(HostBytes::Borrowed).ok_or(Status::NotFound)
    }

    pub(crate) fn map_add(&mut self, map: MapType, key: &[u8], value: &[u8]) -> HostResult<()> {
        self.map_mut(map)?.add(key, value);
        Ok(())
    }

    /// Envoy's `setCopy`: the first entry gets the value, other entries go, absent → added.
    pub(crate) fn map_replace(&mut self, map: MapType, key: &[u8], value: &[u8]) -> HostResult<()> {
        self.map_mut(map)?.replace(key, value);
        Ok(())
    }

    pub(crate) fn map_remove(&mut self, map: MapType, key: &[u8]) -> HostResult<()> {
        self.map_mut(map)?.remove(key);
        Ok(())
    }

    /// The body/data buffer of the effective context for `buffer`, with its end-of-stream flag;
    /// `None` when this context has no such buffer (a root context, an L4 buffer in an HTTP
    /// stream, …).
    fn stream_buffer(&mut self, buffer: BufferType) -> Option<(&mut BytesMut, bool)> {
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
    fn fixed_buffer(&self, buffer: BufferType) -> HostResult<Bytes> {
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

    pub(crate) fn buffer_bytes(
        &mut self,
        buffer: BufferType,
        start: u32,
        max: u32,
    ) -> HostResult<Bytes> {
        Ok(match self.buffer_bytes_ref(buffer, start, max)? {
            HostBytes::Borrowed(b) => Bytes::copy_from_slice(b),
            HostBytes::Owned(b) => b,
        })
    }

    /// Body and data buffers are lent as they are (the adapter copies them into guest memory);
    /// the fixed buffers are shared `Bytes`, sliced without copying.
    pub(crate) fn buffer_bytes_ref(
        &mut self,
        buffer: BufferType,
        start: u32,
        max: u32,
    ) -> HostResult<HostBytes<'_>> {
        let range = |len: usize| -> HostResult<std::ops::Range<usize>> {
            let start = start as usize;
            if start > len {
                return Err(Status::BadArgument);
            }
            Ok(start..start.saturating_add(max as usize).min(len))
        };
        match buffer {
            BufferType::HttpRequestBody
            | BufferType::HttpResponseBody
            | BufferType::DownstreamData
            // As for the status: an empty buffer where the context has none.
            | BufferType::UpstreamData => {
                let data: &[u8] = match self.stream_buffer(buffer) {
                    Some((b, _)) => b,
                    None => &[],
                };
                Ok(HostBytes::Borrowed(&data[range(data.len())?]))
            }
            _ => {
                let data = self.fixed_buffer(buffer)?;
                Ok(HostBytes::Owned(data.slice(range(data.len())?)))
            }
        }
    }

    pub(crate) fn buffer_status(&mut self, buffer: BufferType) -> HostResult<(u32, u32)> {
        match buffer {
            BufferType::HttpRequestBody
            | BufferType::HttpResponseBody
            | BufferType::DownstreamData
            | BufferType::UpstreamData => {
                // Envoy resolves the four body/data types to a buffer in every context (empty
                // where there is none, e.g. the root context): never `NotFound`.
                let (len, eos) = self
                    .stream_buffer(buffer)
                    .map_or((0, false), |(b, eos)| (b.len(), eos));
                Ok((len as u32, eos as u32))
            }
            _ => Ok((self.fixed_buffer(buffer)?.len() as u32, 1)),
        }
    }

    /// Prepend (start 0, size 0), replace all (start 0, size ≥ len), append (start ≥ len).
    pub(crate) fn set_buffer(
        &mut self,
        buffer: BufferType,
        start: u32,
        size: u32,
        data: &[u8],
    ) -> HostResult<()> {
        match buffer {
            BufferType::HttpRequestBody
            | BufferType::HttpResponseBody
            | BufferType::DownstreamData
            | BufferType::UpstreamData => {}
            _ => return Err(Status::BadArgument),
        }
        let (b, _) = self.stream_buffer(buffer).ok_or(Status::NotFound)?;
        let (start, size, len) = (start as usize, size as usize, b.len());
        if start == 0 && size == 0 && len > 0 {
            let mut n = BytesMut::with_capacity(len + data.len());
            n.extend_from_slice(data);
            n.extend_from_slice(b);
            *b = n;
        } else if start == 0 && size >= len {
            b.clear();
            b.extend_from_slice(data);
        } else if start >= len {
            b.extend_from_slice(data);
        } else {
            return Err(Status::BadArgument);
        }
        Ok(())
    }

    /// `continue_stream`/`close_stream` as Envoy answers them: `continue_stream(Upstream)` is
    /// `Unimplemented`; everything else is `Ok`, acted on (after the callback) only where the
    /// context has that direction — a root context, or an HTTP direction of an L4 connection,
    /// has nothing to resume and Envoy quietly does nothing. Continuing an HTTP direction ends
    /// the request maps' window (Envoy clears them in `continueStream`, for either direction).
    pub(crate) fn push_pending(&mut self, p: Pending) -> HostResult<()> {
        let stream = match p {
            Pending::Resume(StreamType::Upstream) => return Err(Status::Unimplemented),
            Pending::Resume(s) | Pending::Close(s) => s,
        };
        let ctx = self.effective_ctx().ok_or(Status::BadArgument)?;
        let http = matches!(stream, StreamType::Request | StreamType::Response);
        let applies = match ctx.kind {
            ContextKind::Root => false,
            ContextKind::Http => http,
            ContextKind::Network => !http,
        };
        if ctx.kind == ContextKind::Http && matches!(p, Pending::Resume(_)) {
            ctx.open[0] = false;
            ctx.open[1] = false;
        }
        if applies {
            ctx.pending.push(p);
            self.dirty = true;
        }
        Ok(())
    }

    pub(crate) fn local_response(&mut self, r: LocalResponse<'_>) -> HostResult<()> {
        let ctx = self.effective_ctx().ok_or(Status::BadArgument)?;
        if ctx.kind != ContextKind::Http {
            return Err(Status::BadArgument);
        }
        ctx.local_reply = Some(LocalReply {
            status: r.status_code,
            headers: owned_pairs(&r.headers),
            body: Bytes::copy_from_slice(r.body),
            grpc_status: (r.grpc_status >= 0).then_some(r.grpc_status),
            details: Bytes::copy_from_slice(r.details),
        });
        self.dirty = true;
        Ok(())
    }
}

/// `continue_stream`/`close_stream` argument check: only the four stream types exist.
pub(crate) fn stream_pending(stream: StreamType, close: bool) -> Pending {
    if close {
        Pending::Close(stream)
    } else {
        Pending::Resume(stream)
    }
}
