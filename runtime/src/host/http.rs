//! [`HttpHost`] for the VM state: header maps and buffers with Envoy's semantics, served from
//! the stream's own data. Which map or buffer a callback may see is decided in `window.rs`;
//! the map itself (pseudo-headers answered from the request/response head) is `map.rs`.

use bytes::{Bytes, BytesMut};
use microwaf_abi::{pairs, BufferType, HostBytes, HostResult, HttpHost, MapType, PairRef, Status};

use super::window::MapView;
use super::VmState;

impl HttpHost for VmState {
    /// Envoy serialises whatever map is there and an unavailable one as nothing (written to
    /// the guest as (0, 0)): always `Ok`.
    fn get_header_map_pairs(&mut self, map: MapType) -> HostResult<Vec<u8>> {
        let encoded = match self.map_read(map) {
            Ok(MapView::Stream(m)) => m.encode(),
            Ok(MapView::Callout(p)) => pairs::encode(p),
            Err(_) => return Ok(Vec::new()),
        };
        encoded.map_err(|e| e.status())
    }

    fn set_header_map_pairs(&mut self, map: MapType, new: &[PairRef<'_>]) -> HostResult<()> {
        self.map_mut(map)?.set_all(new);
        Ok(())
    }

    /// Envoy sizes through the mutable map: only within the phase window.
    fn get_header_map_size(&mut self, map: MapType) -> HostResult<u32> {
        Ok(self.map(map)?.byte_size() as u32)
    }

    fn get_header_map_value(&mut self, map: MapType, key: &[u8]) -> HostResult<Bytes> {
        self.get_header_map_value_ref(map, key)
            .map(|v| Bytes::copy_from_slice(&v))
    }

    /// The value borrowed from the map, for the adapter to copy into guest memory.
    fn get_header_map_value_ref(&mut self, map: MapType, key: &[u8]) -> HostResult<HostBytes<'_>> {
        let value = match self.map_read(map)? {
            MapView::Stream(m) => m.get(key),
            MapView::Callout(p) => p
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| &v[..]),
        };
        value.map(HostBytes::Borrowed).ok_or(Status::NotFound)
    }

    fn add_header_map_value(&mut self, map: MapType, key: &[u8], value: &[u8]) -> HostResult<()> {
        self.map_mut(map)?.add(key, value);
        Ok(())
    }

    /// Envoy's `setCopy`: the first entry gets the value, other entries go, absent → added.
    fn replace_header_map_value(
        &mut self,
        map: MapType,
        key: &[u8],
        value: &[u8],
    ) -> HostResult<()> {
        self.map_mut(map)?.replace(key, value);
        Ok(())
    }

    fn remove_header_map_value(&mut self, map: MapType, key: &[u8]) -> HostResult<()> {
        self.map_mut(map)?.remove(key);
        Ok(())
    }

    fn get_buffer_bytes(&mut self, buffer: BufferType, start: u32, max: u32) -> HostResult<Bytes> {
        Ok(match self.get_buffer_bytes_ref(buffer, start, max)? {
            HostBytes::Borrowed(b) => Bytes::copy_from_slice(b),
            HostBytes::Owned(b) => b,
        })
    }

    /// Body and data buffers are lent as they are (the adapter copies them into guest memory);
    /// the fixed buffers are shared `Bytes`, sliced without copying.
    fn get_buffer_bytes_ref(
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

    fn get_buffer_status(&mut self, buffer: BufferType) -> HostResult<(u32, u32)> {
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
    fn set_buffer_bytes(
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
}
