//! Shared queues: named per vm_id, registered by a consumer, fed by any VM.
//!
//! Semantics follow proxy-wasm-cpp-host: registering `(vm_id, name)` returns a process-wide
//! token (non-zero, stable across re-registration); the latest registrant owns the queue's
//! notification. `resolve` of an unregistered queue → `NotFound`; `enqueue`/`dequeue` of an
//! unknown token → `NotFound`; `dequeue` of an empty queue → `Empty`.
//!
//! Every enqueue calls the owner's [`QueueNotifier`] with the token, *after* the queue lock is
//! released and on the enqueuing thread — possibly while the enqueuing VM is mid-callback. The
//! runtime's notifier must therefore only schedule `proxy_on_queue_ready` on the owning VM, never
//! call into a VM directly.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use microwaf_abi::{HostResult, Status};
use parking_lot::Mutex;

/// Called with the queue token after each enqueue.
pub type QueueNotifier = Arc<dyn Fn(u32) + Send + Sync>;

#[derive(Default)]
pub struct SharedQueues {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<(Vec<u8>, Vec<u8>), u32>,
    queues: HashMap<u32, Queue>,
    last_token: u32,
}

struct Queue {
    items: VecDeque<Bytes>,
    notify: QueueNotifier,
}

impl SharedQueues {
    /// Registers (or re-registers) `name` in `vm_id`; the caller becomes the notified owner.
    pub fn register(&self, vm_id: &[u8], name: &[u8], notify: QueueNotifier) -> u32 {
        let mut inner = self.inner.lock();
        let key = (vm_id.to_vec(), name.to_vec());
        let token = match inner.tokens.get(&key) {
            Some(&token) => token,
            None => {
                inner.last_token = inner.last_token.wrapping_add(1).max(1);
                let token = inner.last_token;
                inner.tokens.insert(key, token);
                token
            }
        };
        let queue = inner.queues.entry(token).or_insert_with(|| Queue {
            items: VecDeque::new(),
            notify: Arc::clone(&notify),
        });
        queue.notify = notify;
        token
    }

    /// The token of a registered queue; unregistered → `NotFound`.
    pub fn resolve(&self, vm_id: &[u8], name: &[u8]) -> HostResult<u32> {
        let inner = self.inner.lock();
        let key = (vm_id.to_vec(), name.to_vec());
        inner.tokens.get(&key).copied().ok_or(Status::NotFound)
    }

    /// Appends `value` and notifies the owner.
    pub fn enqueue(&self, token: u32, value: &[u8]) -> HostResult<()> {
        let notify = {
            let mut inner = self.inner.lock();
            let queue = inner.queues.get_mut(&token).ok_or(Status::NotFound)?;
            queue.items.push_back(Bytes::copy_from_slice(value));
            Arc::clone(&queue.notify)
        };
        notify(token);
        Ok(())
    }

    /// Pops the oldest item; empty → `Empty`, unknown token → `NotFound`.
    pub fn dequeue(&self, token: u32) -> HostResult<Bytes> {
        let mut inner = self.inner.lock();
        let queue = inner.queues.get_mut(&token).ok_or(Status::NotFound)?;
        queue.items.pop_front().ok_or(Status::Empty)
    }

    /// Items waiting in a queue (0 for unknown tokens).
    pub fn len(&self, token: u32) -> usize {
        self.inner
            .lock()
            .queues
            .get(&token)
            .map_or(0, |q| q.items.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn counter() -> (Arc<AtomicU32>, QueueNotifier) {
        let hits = Arc::new(AtomicU32::new(0));
        let h = Arc::clone(&hits);
        (
            hits,
            Arc::new(move |_token| {
                h.fetch_add(1, Ordering::SeqCst);
            }),
        )
    }

    #[test]
    fn register_resolve_enqueue_dequeue() {
        let q = SharedQueues::default();
        let (hits, notify) = counter();
        assert_eq!(q.resolve(b"vm", b"jobs"), Err(Status::NotFound));
        let token = q.register(b"vm", b"jobs", notify);
        assert_ne!(token, 0);
        assert_eq!(q.resolve(b"vm", b"jobs"), Ok(token));
        assert_eq!(q.resolve(b"other", b"jobs"), Err(Status::NotFound));
        assert_eq!(q.dequeue(token), Err(Status::Empty));
        q.enqueue(token, b"a").unwrap();
        q.enqueue(token, b"b").unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        assert_eq!(q.len(token), 2);
        assert_eq!(&q.dequeue(token).unwrap()[..], b"a");
        assert_eq!(&q.dequeue(token).unwrap()[..], b"b");
        assert_eq!(q.dequeue(token), Err(Status::Empty));
    }

    #[test]
    fn unknown_tokens_are_not_found() {
        let q = SharedQueues::default();
        assert_eq!(q.enqueue(9, b"x"), Err(Status::NotFound));
        assert_eq!(q.dequeue(9), Err(Status::NotFound));
    }

    #[test]
    fn re_registration_keeps_the_token_and_items_and_moves_the_owner() {
        let q = SharedQueues::default();
        let (first, n1) = counter();
        let (second, n2) = counter();
        let token = q.register(b"vm", b"jobs", n1);
        q.enqueue(token, b"kept").unwrap();
        assert_eq!(q.register(b"vm", b"jobs", n2), token);
        assert_ne!(q.register(b"vm", b"other", counter().1), token);
        q.enqueue(token, b"x").unwrap();
        assert_eq!(
            (first.load(Ordering::SeqCst), second.load(Ordering::SeqCst)),
            (1, 1)
        );
        assert_eq!(&q.dequeue(token).unwrap()[..], b"kept");
    }

    #[test]
    fn notifier_may_use_the_queues_without_deadlock() {
        let q = Arc::new(SharedQueues::default());
        let weak = Arc::downgrade(&q);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let token = q.register(
            b"vm",
            b"jobs",
            Arc::new(move |token| {
                let q = weak.upgrade().unwrap();
                s.lock().push(q.dequeue(token).unwrap());
            }),
        );
        q.enqueue(token, b"item").unwrap();
        assert_eq!(seen.lock().as_slice(), [Bytes::from_static(b"item")]);
    }
}
