//! Linear-memory accounting: how much guest memory a plugin's VMs hold.
//!
//! Operators size a proxy by it (a filter's VMs multiply by workers and reloads), and a filter
//! vendor wants to see what their module reserves. Wasmtime reports every growth of a linear
//! memory, including the initial allocation at instantiation, to the store's resource limiter,
//! so the tally is kept there: no cost on the callback path, exact at every grow.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use wasmtime::{ResourceLimiter, StoreLimits};

/// The linear memory of one plugin's live VMs.
#[derive(Debug, Default)]
pub(crate) struct MemoryTally {
    live: AtomicU64,
    peak_vm: AtomicU64,
}

/// A copy of a plugin's memory tally.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemorySnapshot {
    /// Bytes of linear memory held by the plugin's live VMs together.
    pub linear_bytes: u64,
    /// The most linear memory any one VM of the plugin has held (high-water mark).
    pub peak_vm_bytes: u64,
}

impl MemoryTally {
    pub fn snapshot(&self) -> MemorySnapshot {
        MemorySnapshot {
            linear_bytes: self.live.load(Ordering::Relaxed),
            peak_vm_bytes: self.peak_vm.load(Ordering::Relaxed),
        }
    }
}

/// The store limiter of one VM: enforces the plugin's limits ([`StoreLimits`]) and reports the
/// memory it allows to the plugin's tally. Dropped with the store, when it gives the memory back.
pub(crate) struct VmLimiter {
    limits: StoreLimits,
    tally: Arc<MemoryTally>,
    /// This VM's linear memory, over all its memories.
    held: u64,
}

impl VmLimiter {
    pub fn new(limits: StoreLimits, tally: Arc<MemoryTally>) -> Self {
        VmLimiter {
            limits,
            tally,
            held: 0,
        }
    }
}

impl ResourceLimiter for VmLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            let grown = desired.saturating_sub(current) as u64;
            self.held += grown;
            self.tally.live.fetch_add(grown, Ordering::Relaxed);
            self.tally.peak_vm.fetch_max(self.held, Ordering::Relaxed);
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl Drop for VmLimiter {
    fn drop(&mut self) {
        self.tally.live.fetch_sub(self.held, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_follows_growth_refusal_and_drop() {
        let tally = Arc::new(MemoryTally::default());
        let limits = wasmtime::StoreLimitsBuilder::new()
            .memory_size(4 << 16)
            .build();
        let mut a = VmLimiter::new(limits.clone(), tally.clone());
        let mut b = VmLimiter::new(limits, tally.clone());
        assert!(a.memory_growing(0, 1 << 16, None).unwrap());
        assert!(a.memory_growing(1 << 16, 3 << 16, None).unwrap());
        assert!(b.memory_growing(0, 2 << 16, None).unwrap());
        // Over the limit: refused, not counted.
        assert!(!b.memory_growing(2 << 16, 5 << 16, None).unwrap());
        assert_eq!(
            tally.snapshot(),
            MemorySnapshot {
                linear_bytes: 5 << 16,
                peak_vm_bytes: 3 << 16
            }
        );
        drop(a);
        assert_eq!(tally.snapshot().linear_bytes, 2 << 16);
        assert_eq!(tally.snapshot().peak_vm_bytes, 3 << 16);
    }
}
