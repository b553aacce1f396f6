//! Load-balancing policies over a cluster's endpoints.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::pool::Endpoint;

/// Envoy's `lb_policy` values; LEAST_REQUEST is power of two random choices on active
/// requests, as in Envoy.
pub use crate::config::LbPolicy;

/// Picks one endpoint; `None` when there are none.
pub fn pick(policy: LbPolicy, eps: &[Arc<Endpoint>], rr: &AtomicUsize) -> Option<Arc<Endpoint>> {
    if eps.is_empty() {
        return None;
    }
    let i = match policy {
        LbPolicy::RoundRobin => rr.fetch_add(1, Ordering::Relaxed) % eps.len(),
        LbPolicy::Random => random() as usize % eps.len(),
        LbPolicy::LeastRequest => {
            let a = random() as usize % eps.len();
            let b = random() as usize % eps.len();
            if eps[b].active() < eps[a].active() {
                b
            } else {
                a
            }
        }
    };
    Some(eps[i].clone())
}

/// A fast per-thread xorshift generator, seeded from the std hasher's random keys. Not for
/// secrets: it spreads load and makes request ids unique enough.
pub fn random() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut h = RandomState::new().build_hasher();
            h.write_usize(&h as *const _ as usize);
            h.finish() | 1
        });
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}
