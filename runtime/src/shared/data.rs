//! Shared key/value data with Envoy's compare-and-swap semantics.
//!
//! Every successful write stamps the entry with the next value of one process-wide CAS counter
//! (starting at 1, skipping 0 on wrap-around), as proxy-wasm-cpp-host does. A write with `cas`
//! 0 is unconditional; a non-zero `cas` must equal the entry's current stamp or the write fails
//! with `CasMismatch`. Writing a key that does not exist yet always succeeds, whatever `cas`.

use std::collections::HashMap;

use bytes::Bytes;
use microwaf_abi::{HostResult, Status};
use parking_lot::Mutex;

#[derive(Default)]
pub struct SharedData {
    inner: Mutex<Inner>,
}

/// One vm_id's data: key → (value, cas).
type Entries = HashMap<Vec<u8>, (Bytes, u32)>;

struct Inner {
    /// vm_id → its entries.
    maps: HashMap<Vec<u8>, Entries>,
    next_cas: u32,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            maps: HashMap::new(),
            next_cas: 1,
        }
    }
}

impl Inner {
    fn next_cas(&mut self) -> u32 {
        let cas = self.next_cas;
        self.next_cas = self.next_cas.wrapping_add(1).max(1);
        cas
    }
}

impl SharedData {
    /// (value, cas) of `key` in `vm_id`'s data; missing → `NotFound`.
    pub fn get(&self, vm_id: &[u8], key: &[u8]) -> HostResult<(Bytes, u32)> {
        let inner = self.inner.lock();
        let entry = inner.maps.get(vm_id).and_then(|m| m.get(key));
        entry.cloned().ok_or(Status::NotFound)
    }

    /// Sets `key`; `cas` 0 is unconditional, a stale `cas` → `CasMismatch`.
    pub fn set(&self, vm_id: &[u8], key: &[u8], value: &[u8], cas: u32) -> HostResult<()> {
        let mut inner = self.inner.lock();
        if let Some((_, current)) = inner.maps.get(vm_id).and_then(|m| m.get(key)) {
            if cas != 0 && cas != *current {
                return Err(Status::CasMismatch);
            }
        }
        let stamp = inner.next_cas();
        let map = inner.maps.entry(vm_id.to_vec()).or_default();
        map.insert(key.to_vec(), (Bytes::copy_from_slice(value), stamp));
        Ok(())
    }

    /// Number of keys stored for `vm_id` (for metrics and tests).
    pub fn len(&self, vm_id: &[u8]) -> usize {
        self.inner.lock().maps.get(vm_id).map_or(0, HashMap::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn missing_keys_and_vm_ids_are_not_found() {
        let d = SharedData::default();
        assert_eq!(d.get(b"vm", b"k"), Err(Status::NotFound));
        d.set(b"vm", b"k", b"v", 0).unwrap();
        assert_eq!(d.get(b"vm", b"other"), Err(Status::NotFound));
        assert_eq!(d.get(b"other-vm", b"k"), Err(Status::NotFound));
    }

    #[test]
    fn cas_is_checked_and_advances_on_every_write() {
        let d = SharedData::default();
        // A new key ignores cas, like Envoy.
        d.set(b"vm", b"k", b"v1", 77).unwrap();
        let (v, cas1) = d.get(b"vm", b"k").unwrap();
        assert_eq!((&v[..], cas1), (&b"v1"[..], 1));
        assert_eq!(
            d.set(b"vm", b"k", b"v2", cas1 + 1),
            Err(Status::CasMismatch)
        );
        d.set(b"vm", b"k", b"v2", cas1).unwrap();
        let (v, cas2) = d.get(b"vm", b"k").unwrap();
        assert_eq!(&v[..], b"v2");
        assert!(cas2 > cas1);
        // The old stamp is now stale; 0 still overwrites.
        assert_eq!(d.set(b"vm", b"k", b"v3", cas1), Err(Status::CasMismatch));
        d.set(b"vm", b"k", b"v3", 0).unwrap();
        // One counter for the whole process: another key gets the next stamp.
        d.set(b"vm", b"j", b"x", 0).unwrap();
        assert_eq!(d.get(b"vm", b"j").unwrap().1, 4);
        assert_eq!(d.len(b"vm"), 2);
    }

    #[test]
    fn cas_counter_skips_zero_on_wrap() {
        let mut inner = Inner {
            next_cas: u32::MAX,
            ..Inner::default()
        };
        assert_eq!(inner.next_cas(), u32::MAX);
        assert_eq!(inner.next_cas(), 1);
    }

    #[test]
    fn concurrent_cas_increments_lose_no_update() {
        let d = Arc::new(SharedData::default());
        d.set(b"vm", b"n", b"0", 0).unwrap();
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let d = Arc::clone(&d);
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        loop {
                            let (v, cas) = d.get(b"vm", b"n").unwrap();
                            let n: u32 = std::str::from_utf8(&v).unwrap().parse().unwrap();
                            let next = (n + 1).to_string();
                            if d.set(b"vm", b"n", next.as_bytes(), cas).is_ok() {
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().for_each(|w| w.join().unwrap());
        assert_eq!(&d.get(b"vm", b"n").unwrap().0[..], b"800");
    }
}
