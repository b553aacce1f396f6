//! Work for a VM that arrives from outside its callbacks: callout responses (possibly on another
//! thread, possibly synchronously from inside `proxy_http_call`), gRPC stream events, queue
//! notifications and foreign-function callbacks.
//!
//! Posting never blocks on the VM lock: the mail is queued and whoever holds, or next takes, the
//! lock delivers it. [`crate::pool::VmSlot::pump`] re-checks after unlocking, so nothing strands.

use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicUsize, Ordering};
use std::sync::{OnceLock, Weak};

use parking_lot::Mutex;

use crate::embedder::{CalloutResponse, GrpcStreamEvent};
use crate::pool::VmSlot;

pub(crate) enum Mail {
    Callout {
        generation: u64,
        token: u32,
        grpc: bool,
        response: CalloutResponse,
    },
    GrpcStream {
        generation: u64,
        token: u32,
        event: GrpcStreamEvent,
    },
    QueueReady {
        qid: u32,
    },
    /// `proxy_on_foreign_function` for the root context, with the call data (buffer 8).
    Foreign {
        function_id: u32,
        data: bytes::Bytes,
    },
}

#[derive(Default)]
pub(crate) struct Mailbox {
    items: Mutex<VecDeque<Mail>>,
    /// `items.len()`, readable without the lock: every stream call ends with a pump, and an
    /// empty mailbox (nearly always) then costs one load instead of three lock round trips.
    len: AtomicUsize,
    slot: OnceLock<Weak<VmSlot>>,
}

impl Mailbox {
    pub fn bind(&self, slot: Weak<VmSlot>) {
        let _ = self.slot.set(slot);
    }

    pub fn post(&self, mail: Mail) {
        {
            let mut items = self.items.lock();
            items.push_back(mail);
            self.len.store(items.len(), Ordering::SeqCst);
        }
        // Pairs with the fence in `is_empty`: either this poster's pump finds the VM lock
        // free, or the holder's pump after its unlock sees the mail (no stranded mail).
        fence(Ordering::SeqCst);
        if let Some(slot) = self.slot.get().and_then(Weak::upgrade) {
            slot.pump();
        }
    }

    pub fn take(&self) -> Option<Mail> {
        let mut items = self.items.lock();
        let mail = items.pop_front();
        self.len.store(items.len(), Ordering::SeqCst);
        mail
    }

    pub fn is_empty(&self) -> bool {
        fence(Ordering::SeqCst);
        self.len.load(Ordering::SeqCst) == 0
    }
}
