//! Header maps, buffers and stream control with Envoy's semantics (DESIGN §3).

use bytes::{Bytes, BytesMut};
use microwaf_abi::{
    pairs, BufferType, HostResult, LocalResponse, MapType, PairRef, Status, StreamType,
};

use super::{Context, ContextKind, Pending, VmState};
use crate::embedder::{Headers, LocalReply};

fn lower(key: &[u8]) -> Bytes {
    Bytes::from(key.to_ascii_lowercase())
}

fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Converts borrowed guest pairs into an owned map (names lower-cased like Envoy's
/// `LowerCaseString`).
pub(crate) fn owned_pairs(pairs: &[PairRef<'_>]) -> Headers {
    pairs
        .iter()
        .map(|(k, v)| (lower(k), Bytes::copy_from_slice(v)))
        .collect()
}

impl VmState {
    /// The map `map` of the effective context, or the callout response's maps, for a read
    /// (`write == false`) or a mutation. Envoy's rules (DESIGN §3):
    /// - a stream map outside its phase window → `BadArgument`; in `on_log` request headers,
    ///   response headers and trailers read as present (absent → `NotFound`), writes stay
    ///   `BadArgument`;
    /// - callout maps (4–7) are never writable (`BadArgument`); read while no response is being
    ///   delivered they answer `NotFound`, the documented deviation: Envoy answers `BadArgument`,
    ///   on which the SDKs trap (envoy issue 26485).
    fn map_access(&mut self, map: MapType, write: bool) -> HostResult<&mut Headers> {
        if let Some(i) = Context::map_index(map) {
            let ctx = self.effective_ctx().ok_or(Status::BadArgument)?;
            if ctx.log_phase && !write {
                // Envoy's access-log maps: request headers, response headers and trailers;
                // request trailers only while still in their window. Missing → NotFound.
                let readable = i != 1 || ctx.open[1];
                return ctx.maps[i]
                    .as_mut()
                    .filter(|_| readable)
                    .ok_or(Status::NotFound);
            }
            if !ctx.open[i] {
                return Err(Status::BadArgument);
            }
            return ctx.maps[i].as_mut().ok_or(Status::BadArgument);
        }
        if write {
            return Err(Status::BadArgument);
        }
        let callout = self.active_callout.as_mut().ok_or(Status::NotFound)?;
        let result = callout.response.result.as_mut().ok_or(Status::NotFound)?;
        match map {
            MapType::HttpCallResponseHeaders | MapType::GrpcReceiveInitialMetadata => {
                Ok(&mut result.headers)
            }
            _ => Ok(&mut result.trailers),
        }
    }

    fn map(&mut self, map: MapType) -> HostResult<&mut Headers> {
        self.map_access(map, true)
    }

    /// [`map`](Self::map) for a call that changes the map: marks it changed for the embedder.
    fn map_mut(&mut self, map: MapType) -> HostResult<&mut Headers> {
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
        match self.map_access(map, false) {
            Ok(m) => pairs::encode(m).map_err(|e| e.status()),
            Err(_) => Ok(Vec::new()),
        }
    }

    pub(crate) fn set_pairs(&mut self, map: MapType, new: &[PairRef<'_>]) -> HostResult<()> {
        *self.map_mut(map)? = owned_pairs(new);
        Ok(())
    }

    /// Envoy sizes through the mutable map: only within the phase window.
    pub(crate) fn map_size(&mut self, map: MapType) -> HostResult<u32> {
        let m = self.map(map)?;
        let size: usize = m.iter().map(|(k, v)| k.len() + v.len()).sum();
        Ok(size as u32)
    }

    pub(crate) fn map_value(&mut self, map: MapType, key: &[u8]) -> HostResult<Bytes> {
        let m = self.map_access(map, false)?;
        m.iter()
            .find(|(k, _)| same_name(k, key))
            .map(|(_, v)| v.clone())
            .ok_or(Status::NotFound)
    }

    pub(crate) fn map_add(&mut self, map: MapType, key: &[u8], value: &[u8]) -> HostResult<()> {
        self.map_mut(map)?
            .push((lower(key), Bytes::copy_from_slice(value)));
        Ok(())
    }

    /// Envoy's `setCopy`: the first entry gets the value, other entries go, absent → added.
    pub(crate) fn map_replace(&mut self, map: MapType, key: &[u8], value: &[u8]) -> HostResult<()> {
        let m = self.map_mut(map)?;
        let value = Bytes::copy_from_slice(value);
        match m.iter().position(|(k, _)| same_name(k, key)) {
            Some(first) => {
                m[first].1 = value;
                let mut i = 0;
                m.retain(|(k, _)| {
                    i += 1;
                    i - 1 == first || !same_name(k, key)
                });
            }
            None => m.push((lower(key), value)),
        }
        Ok(())
    }

    pub(crate) fn map_remove(&mut self, map: MapType, key: &[u8]) -> HostResult<()> {
        self.map_mut(map)?.retain(|(k, _)| !same_name(k, key));
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
        let slice_of = |data: &[u8]| -> HostResult<Bytes> {
            let start = start as usize;
            if start > data.len() {
                return Err(Status::BadArgument);
            }
            let end = start.saturating_add(max as usize).min(data.len());
            Ok(Bytes::copy_from_slice(&data[start..end]))
        };
        match buffer {
            BufferType::HttpRequestBody
            | BufferType::HttpResponseBody
            | BufferType::DownstreamData
            // As for the status: an empty buffer where the context has none.
            | BufferType::UpstreamData => match self.stream_buffer(buffer) {
                Some((b, _)) => slice_of(&b[..]),
                None => slice_of(&[]),
            },
            _ => slice_of(&self.fixed_buffer(buffer)?),
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
