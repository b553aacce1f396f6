//! [`SharedHost`]: shared data and shared queues (`linker/shared.rs` adapts the imports).

use bytes::Bytes;

use super::HostResult;

/// State that outlives a context and is shared by every VM with the same `vm_id`
/// (process-wide, as in Envoy).
pub trait SharedHost {
    /// `proxy_get_shared_data`: (value, cas). Missing key → `NotFound`.
    fn get_shared_data(&mut self, key: &[u8]) -> HostResult<(Bytes, u32)>;
    /// `proxy_set_shared_data`: `cas` 0 = unconditional; a stale cas → `CasMismatch`.
    fn set_shared_data(&mut self, key: &[u8], value: &[u8], cas: u32) -> HostResult<()>;
    /// `proxy_register_shared_queue`: the queue's id; this VM hears `on_queue_ready` for it.
    fn register_shared_queue(&mut self, name: &[u8]) -> HostResult<u32>;
    /// `proxy_resolve_shared_queue`: the id of a queue another VM registered.
    fn resolve_shared_queue(&mut self, vm_id: &[u8], name: &[u8]) -> HostResult<u32>;
    /// `proxy_enqueue_shared_queue`.
    fn enqueue_shared_queue(&mut self, queue_id: u32, value: &[u8]) -> HostResult<()>;
    /// `proxy_dequeue_shared_queue`: empty queue → `Empty`; unknown id → `NotFound`.
    fn dequeue_shared_queue(&mut self, queue_id: u32) -> HostResult<Bytes>;
}
