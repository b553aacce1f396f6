//! Process-wide state shared between VMs: key/value data with compare-and-swap, and named queues.
//!
//! Envoy keeps both in process globals; here they live in one [`SharedRegistry`] value the
//! runtime owns and hands (behind an `Arc`) to every VM, so tests and embedders can run several
//! independent runtimes in one process. Both are scoped by `vm_id`: VMs configured with the same
//! vm_id see the same data and queues, whatever plugin or worker they belong to.

mod data;
mod queues;

pub use data::SharedData;
pub use queues::{QueueNotifier, SharedQueues};

/// Shared data and shared queues of one runtime.
#[derive(Default)]
pub struct SharedRegistry {
    pub data: SharedData,
    pub queues: SharedQueues,
}

impl SharedRegistry {
    pub fn new() -> Self {
        Self::default()
    }
}
