//! [`HttpHost`]: header maps and buffers (`linker/http.rs` adapts the imports).

use bytes::Bytes;

use super::{HostBytes, HostResult, PairRef};
use crate::types::{BufferType, MapType, Status};

/// The maps and buffers a callback can read and edit: the stream's own header maps and bodies,
/// an L4 connection's data, callout responses and the configuration buffers.
pub trait HttpHost {
    // --- header maps -------------------------------------------------------------------------
    /// `proxy_get_header_map_pairs`: the whole map, already encoded with
    /// [`crate::pairs::encode`].
    fn get_header_map_pairs(&mut self, map: MapType) -> HostResult<Vec<u8>>;
    /// `proxy_set_header_map_pairs`: the map becomes `pairs`.
    fn set_header_map_pairs(&mut self, map: MapType, pairs: &[PairRef<'_>]) -> HostResult<()>;
    /// `proxy_get_header_map_size`: the map's size in bytes (Envoy's `byteSize`).
    fn get_header_map_size(&mut self, map: MapType) -> HostResult<u32>;
    /// `proxy_get_header_map_value`. Missing key → `NotFound` (the 0.1.0 adapter turns that
    /// into `Ok` with ""). A map not available in this callback → `BadArgument`.
    fn get_header_map_value(&mut self, map: MapType, key: &[u8]) -> HostResult<Bytes>;
    /// [`HttpHost::get_header_map_value`] as the adapter calls it: the hot path of most
    /// filters, so a host that keeps the map lends the value instead of copying it. Borrowed as
    /// for [`HttpHost::get_buffer_bytes_ref`] (and called twice likewise).
    fn get_header_map_value_ref(&mut self, map: MapType, key: &[u8]) -> HostResult<HostBytes<'_>> {
        self.get_header_map_value(map, key).map(HostBytes::Owned)
    }
    /// `proxy_add_header_map_value`: another value for `key`, existing ones kept.
    fn add_header_map_value(&mut self, map: MapType, key: &[u8], value: &[u8]) -> HostResult<()>;
    /// `proxy_replace_header_map_value`: `key` gets `value`, added when absent.
    fn replace_header_map_value(
        &mut self,
        map: MapType,
        key: &[u8],
        value: &[u8],
    ) -> HostResult<()>;
    /// `proxy_remove_header_map_value`. Removing an absent key is `Ok`.
    fn remove_header_map_value(&mut self, map: MapType, key: &[u8]) -> HostResult<()>;

    // --- buffers -----------------------------------------------------------------------------
    /// `proxy_get_buffer_bytes`: up to `max_size` bytes from `start`. A buffer not available in
    /// this callback → `NotFound`; then `start + max_size` overflowing `u32` → `BadArgument`
    /// (Envoy's order); a `start` past the end is an empty result, written to the guest as
    /// (0, 0).
    fn get_buffer_bytes(
        &mut self,
        buffer: BufferType,
        start: u32,
        max_size: u32,
    ) -> HostResult<Bytes>;
    /// [`HttpHost::get_buffer_bytes`] as the adapter calls it. A host that keeps the buffer
    /// answers [`HostBytes::Borrowed`]; the adapter then calls it a second time, after the
    /// guest's allocator ran, to copy the bytes into the allocation, so it must not change state.
    fn get_buffer_bytes_ref(
        &mut self,
        buffer: BufferType,
        start: u32,
        max_size: u32,
    ) -> HostResult<HostBytes<'_>> {
        self.get_buffer_bytes(buffer, start, max_size)
            .map(HostBytes::Owned)
    }
    /// `proxy_get_buffer_status`: (length in bytes, flags; bit 0 = end of stream).
    fn get_buffer_status(&mut self, buffer: BufferType) -> HostResult<(u32, u32)>;
    /// `proxy_set_buffer_bytes`, with Envoy's rules: prepend (start 0, size 0), replace all
    /// (start 0, size ≥ len), append (start ≥ len); anything else `BadArgument`.
    fn set_buffer_bytes(
        &mut self,
        buffer: BufferType,
        start: u32,
        size: u32,
        data: &[u8],
    ) -> HostResult<()>;

    /// ABI 0.1.0 `proxy_get_configuration`: the plugin configuration. Envoy always answers
    /// `Ok` here (empty when there is none); the default reads the plugin-configuration buffer,
    /// which is what the later ABIs read instead.
    fn get_configuration(&mut self) -> HostResult<Bytes> {
        match self.get_buffer_bytes(BufferType::PluginConfiguration, 0, u32::MAX) {
            Err(Status::NotFound) => Ok(Bytes::new()),
            r => r,
        }
    }
}
