//! A loaded plugin: its module, its VMs, and the streams it hands out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use microwaf_abi::AbiVersion;
use parking_lot::Mutex;

use crate::config::PluginConfig;
use crate::embedder::{DynProperties, Embedder, StreamEvents};
use crate::fault::{FailureCounters, FailureSnapshot};
use crate::host::ContextKind;
use crate::log_budget::LogBudget;
use crate::mailbox::Mailbox;
use crate::memory::{MemorySnapshot, MemoryTally};
use crate::metrics::{MetricRegistry, MetricSnapshot};
use crate::network::NetworkStream;
use crate::pool::VmSlot;
use crate::shared::SharedRegistry;
use crate::stream::{HttpStream, StreamCore};

/// What every VM of a plugin shares.
pub(crate) struct PluginShared {
    pub config: Arc<PluginConfig>,
    pub abi: AbiVersion,
    pub embedder: Arc<dyn Embedder>,
    pub shared: Arc<SharedRegistry>,
    pub metrics: Arc<MetricRegistry>,
    pub counters: FailureCounters,
    pub memory: Arc<MemoryTally>,
    /// The plugin's log bytes per second, shared by its VMs.
    pub log_budget: LogBudget,
}

/// VMs whose root context deferred its deletion (`on_done` returned false) after their plugin
/// was dropped: kept alive, ticking and receiving callouts, until they call `proxy_done`.
pub(crate) type Draining = Arc<Mutex<Vec<Arc<VmSlot>>>>;

/// The VM slots of a plugin. Held by every [`Plugin`] clone and every stream: when the last of
/// them goes, the VMs shut down like Envoy removing a plugin — every root context gets
/// `on_done` (and `on_delete`, possibly deferred). In-flight streams keep their VM until then.
pub(crate) struct SlotSet {
    slots: Vec<Arc<VmSlot>>,
    draining: Draining,
}

impl std::ops::Deref for SlotSet {
    type Target = [Arc<VmSlot>];
    fn deref(&self) -> &Self::Target {
        &self.slots
    }
}

impl Drop for SlotSet {
    fn drop(&mut self) {
        for slot in &self.slots {
            if slot.shutdown() {
                self.draining.lock().push(slot.clone());
            }
        }
    }
}

/// A running plugin. Cheap to clone; all clones drive the same VMs.
#[derive(Clone)]
pub struct Plugin {
    pub(crate) shared: Arc<PluginShared>,
    pub(crate) slots: Arc<SlotSet>,
    next: Arc<AtomicUsize>,
}

impl Plugin {
    pub(crate) fn new(
        shared: Arc<PluginShared>,
        slots: Vec<Arc<VmSlot>>,
        draining: Draining,
    ) -> Plugin {
        Plugin {
            shared,
            slots: Arc::new(SlotSet { slots, draining }),
            next: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Runs `proxy_on_foreign_function(root, function_id, data.len())` in every VM's root
    /// context, with `data` readable as the call-data buffer (8): how an embedder completes an
    /// asynchronous foreign function it offers. Delivered like callout responses (never
    /// inside another callback of the VM).
    pub fn on_foreign_function(&self, function_id: u32, data: bytes::Bytes) {
        for slot in self.slots.iter() {
            slot.mailbox.post(crate::mailbox::Mail::Foreign {
                function_id,
                data: data.clone(),
            });
        }
    }

    pub fn name(&self) -> &str {
        &self.shared.config.name
    }

    pub fn config(&self) -> &PluginConfig {
        &self.shared.config
    }

    /// The ABI version the module declared.
    pub fn abi_version(&self) -> AbiVersion {
        self.shared.abi
    }

    /// Number of VM slots (live or awaiting replacement).
    pub fn vm_count(&self) -> usize {
        self.slots.len()
    }

    /// Trap, replacement and start-failure counters.
    pub fn failures(&self) -> FailureSnapshot {
        self.shared.counters.snapshot()
    }

    /// Linear memory held by the plugin's VMs, and the most any one of them has held.
    pub fn memory(&self) -> MemorySnapshot {
        self.shared.memory.snapshot()
    }

    /// The plugin's metrics, aggregated over its VMs, in definition order.
    pub fn metrics(&self) -> Vec<MetricSnapshot> {
        self.shared.metrics.snapshot()
    }

    /// Starts an HTTP stream in the next VM (round robin). Never fails: if no VM can run, the
    /// stream applies the fail policy to every phase.
    pub fn http_stream(&self, props: DynProperties, events: Arc<dyn StreamEvents>) -> HttpStream {
        HttpStream::new(self.open(ContextKind::Http, props, events))
    }

    /// Starts an HTTP stream pinned to VM `vm` (modulo the VM count), e.g. per worker thread.
    pub fn http_stream_on(
        &self,
        vm: usize,
        props: DynProperties,
        events: Arc<dyn StreamEvents>,
    ) -> HttpStream {
        HttpStream::new(self.open_on(vm, ContextKind::Http, props, events))
    }

    /// Starts an L4 connection context.
    pub fn network_stream(
        &self,
        props: DynProperties,
        events: Arc<dyn StreamEvents>,
    ) -> NetworkStream {
        NetworkStream::new(self.open(ContextKind::Network, props, events))
    }

    /// Starts an L4 connection context pinned to VM `vm` (modulo the VM count).
    pub fn network_stream_on(
        &self,
        vm: usize,
        props: DynProperties,
        events: Arc<dyn StreamEvents>,
    ) -> NetworkStream {
        NetworkStream::new(self.open_on(vm, ContextKind::Network, props, events))
    }

    fn open(
        &self,
        kind: ContextKind,
        props: DynProperties,
        events: Arc<dyn StreamEvents>,
    ) -> StreamCore {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        self.open_on(start, kind, props, events)
    }

    fn open_on(
        &self,
        start: usize,
        kind: ContextKind,
        props: DynProperties,
        events: Arc<dyn StreamEvents>,
    ) -> StreamCore {
        let n = self.slots.len();
        for k in 0..n {
            let slot = &self.slots[(start + k) % n];
            if let Some(mut core) = StreamCore::open(slot, kind, props.clone(), events.clone()) {
                core.owner = Some(self.slots.clone());
                return core;
            }
        }
        let mut core = StreamCore::failed(
            self.slots[start % n].clone(),
            self.shared.config.fail_policy,
        );
        core.owner = Some(self.slots.clone());
        core
    }

    /// Instantiates (and drops) a fresh instance of the module without running any callback:
    /// the cost of a VM replacement before the guest's start code. For benches and checks.
    pub fn fresh_instance(&self) -> Result<(), crate::RuntimeError> {
        self.slots[0].fresh_instance()
    }

    /// How many VMs are currently live (the others await replacement).
    pub fn live_vms(&self) -> usize {
        let live = self
            .slots
            .iter()
            .filter(|s| s.state.lock().vm.is_some())
            .count();
        // Mail posted while we held a lock is ours to deliver.
        self.slots.iter().for_each(|s| s.pump());
        live
    }
}

pub(crate) fn new_mailbox() -> Arc<Mailbox> {
    Arc::new(Mailbox::default())
}
