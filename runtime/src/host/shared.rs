//! [`SharedHost`] for the VM state: shared data and queues live in the plugin's process-wide
//! store, keyed by this VM's `vm_id`; a registered queue notifies this VM through its mailbox.

use std::sync::Arc;

use bytes::Bytes;
use microwaf_abi::{HostResult, SharedHost};

use super::VmState;
use crate::mailbox::Mail;

impl SharedHost for VmState {
    fn get_shared_data(&mut self, key: &[u8]) -> HostResult<(Bytes, u32)> {
        self.plugin.shared.data.get(self.vm_id(), key)
    }

    fn set_shared_data(&mut self, key: &[u8], value: &[u8], cas: u32) -> HostResult<()> {
        self.plugin.shared.data.set(self.vm_id(), key, value, cas)
    }

    /// `on_queue_ready` reaches this VM as mail, whichever thread enqueued.
    fn register_shared_queue(&mut self, name: &[u8]) -> HostResult<u32> {
        let mailbox = self.mailbox.clone();
        let notify = Arc::new(move |qid| mailbox.post(Mail::QueueReady { qid }));
        let vm_id = self.vm_id().to_vec();
        Ok(self.plugin.shared.queues.register(&vm_id, name, notify))
    }

    fn resolve_shared_queue(&mut self, vm_id: &[u8], name: &[u8]) -> HostResult<u32> {
        self.plugin.shared.queues.resolve(vm_id, name)
    }

    fn enqueue_shared_queue(&mut self, queue_id: u32, value: &[u8]) -> HostResult<()> {
        self.plugin.shared.queues.enqueue(queue_id, value)
    }

    fn dequeue_shared_queue(&mut self, queue_id: u32) -> HostResult<Bytes> {
        self.plugin.shared.queues.dequeue(queue_id)
    }
}

impl VmState {
    fn vm_id(&self) -> &[u8] {
        self.plugin.config.vm_id.as_bytes()
    }
}
