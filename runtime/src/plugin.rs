//! A loaded plugin: its module, its VMs, and the streams it hands out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use microwaf_abi::AbiVersion;

use crate::config::PluginConfig;
use crate::embedder::{Embedder, PropertySource, StreamEvents};
use crate::fault::{FailureCounters, FailureSnapshot};
use crate::host::ContextKind;
use crate::mailbox::Mailbox;
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
}

/// A running plugin. Cheap to clone; all clones drive the same VMs.
#[derive(Clone)]
pub struct Plugin {
    pub(crate) shared: Arc<PluginShared>,
    pub(crate) slots: Arc<Vec<Arc<VmSlot>>>,
    next: Arc<AtomicUsize>,
}

impl Plugin {
    pub(crate) fn new(shared: Arc<PluginShared>, slots: Vec<Arc<VmSlot>>) -> Plugin {
        Plugin {
            shared,
            slots: Arc::new(slots),
            next: Arc::new(AtomicUsize::new(0)),
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

    /// The plugin's metrics, aggregated over its VMs, in definition order.
    pub fn metrics(&self) -> Vec<MetricSnapshot> {
        self.shared.metrics.snapshot()
    }

    /// Starts an HTTP stream in the next VM (round robin). Never fails: if no VM can run, the
    /// stream applies the fail policy to every phase.
    pub fn http_stream(
        &self,
        props: Arc<dyn PropertySource>,
        events: Arc<dyn StreamEvents>,
    ) -> HttpStream {
        HttpStream::new(self.open(ContextKind::Http, props, events))
    }

    /// Starts an HTTP stream pinned to VM `vm` (modulo the VM count), e.g. per worker thread.
    pub fn http_stream_on(
        &self,
        vm: usize,
        props: Arc<dyn PropertySource>,
        events: Arc<dyn StreamEvents>,
    ) -> HttpStream {
        HttpStream::new(self.open_on(vm, ContextKind::Http, props, events))
    }

    /// Starts an L4 connection context.
    pub fn network_stream(
        &self,
        props: Arc<dyn PropertySource>,
        events: Arc<dyn StreamEvents>,
    ) -> NetworkStream {
        NetworkStream::new(self.open(ContextKind::Network, props, events))
    }

    fn open(
        &self,
        kind: ContextKind,
        props: Arc<dyn PropertySource>,
        events: Arc<dyn StreamEvents>,
    ) -> StreamCore {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        self.open_on(start, kind, props, events)
    }

    fn open_on(
        &self,
        start: usize,
        kind: ContextKind,
        props: Arc<dyn PropertySource>,
        events: Arc<dyn StreamEvents>,
    ) -> StreamCore {
        let n = self.slots.len();
        for k in 0..n {
            let slot = &self.slots[(start + k) % n];
            if let Some(core) = StreamCore::open(slot, kind, props.clone(), events.clone()) {
                return core;
            }
        }
        StreamCore::failed(
            self.slots[start % n].clone(),
            self.shared.config.fail_policy,
        )
    }

    /// Plugin-wide mailbox for tests: how many VMs are currently live.
    pub fn live_vms(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.state.lock().vm.is_some())
            .count()
    }
}

pub(crate) fn new_mailbox() -> Arc<Mailbox> {
    Arc::new(Mailbox::default())
}
