//! A bounded map of sliding-window counters.
//!
//! Each key keeps two fixed-window counts (current and previous); the count "in the last
//! window" is the current count plus the previous one weighted by how much of it still overlaps
//! the sliding window. That is the approximation Cloudflare and nginx use: O(1) memory per key,
//! no per-event timestamps, error bounded by the previous window's count. Time is passed in (in
//! nanoseconds, as the proxy-wasm host clock gives it) so tests run on a fake clock.
//!
//! Memory is bounded by `capacity` keys: inserting beyond it evicts the least recently touched
//! key. An attacker rotating tokens can therefore push a quiet token out and reset its count;
//! that costs them one fresh token per eviction, and size the capacity above the number of
//! active tokens to make it moot.

use std::collections::BTreeMap;

#[derive(Debug, Clone)]
struct Counter {
    /// Index of the fixed window `current` counts (now / window).
    window: u64,
    current: u64,
    previous: u64,
    /// Recency stamp, the key of this entry in `by_recency`.
    stamp: u64,
}

/// Sliding-window counters for up to `capacity` keys.
#[derive(Debug, Clone)]
pub struct SlidingWindows<K: Ord + Clone> {
    capacity: usize,
    counters: BTreeMap<K, Counter>,
    by_recency: BTreeMap<u64, K>,
    next_stamp: u64,
}

impl<K: Ord + Clone> SlidingWindows<K> {
    /// Counters for at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        SlidingWindows {
            capacity: capacity.max(1),
            counters: BTreeMap::new(),
            by_recency: BTreeMap::new(),
            next_stamp: 0,
        }
    }

    /// Keys currently tracked.
    pub fn len(&self) -> usize {
        self.counters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counters.is_empty()
    }

    /// The count for `key` over the `window_ns` ending at `now_ns`.
    pub fn count(&self, key: &K, now_ns: u64, window_ns: u64) -> u64 {
        let window_ns = window_ns.max(1);
        let Some(c) = self.counters.get(key) else {
            return 0;
        };
        let (current, previous) = rolled(c, now_ns / window_ns);
        // Weight of the previous window: the part of it still inside the sliding window.
        let elapsed = now_ns % window_ns;
        let weighted =
            (u128::from(previous) * u128::from(window_ns - elapsed)) / u128::from(window_ns);
        current.saturating_add(weighted as u64)
    }

    /// Adds `n` to `key` at `now_ns`, creating (and possibly evicting) as needed.
    pub fn add(&mut self, key: &K, n: u64, now_ns: u64, window_ns: u64) {
        let window = now_ns / window_ns.max(1);
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        if let Some(c) = self.counters.get_mut(key) {
            let (current, previous) = rolled(c, window);
            self.by_recency.remove(&c.stamp);
            *c = Counter {
                window: window.max(c.window),
                current: current.saturating_add(n),
                previous,
                stamp,
            };
        } else {
            if self.counters.len() >= self.capacity {
                if let Some((_, oldest)) = self.by_recency.pop_first() {
                    self.counters.remove(&oldest);
                }
            }
            self.counters.insert(
                key.clone(),
                Counter {
                    window,
                    current: n,
                    previous: 0,
                    stamp,
                },
            );
        }
        self.by_recency.insert(stamp, key.clone());
    }
}

/// (current, previous) as seen from fixed window `window`. A clock that steps back counts as
/// the same window rather than corrupting the counts.
fn rolled(c: &Counter, window: u64) -> (u64, u64) {
    if window <= c.window {
        (c.current, c.previous)
    } else if window == c.window + 1 {
        (0, c.current)
    } else {
        (0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000_000_000;

    #[test]
    fn counts_slide_out_of_the_window() {
        let mut w = SlidingWindows::new(10);
        let k = "t".to_string();
        w.add(&k, 60, 0, MIN);
        assert_eq!(w.count(&k, MIN / 2, MIN), 60);
        // A quarter into the next window, three quarters of the previous count remain.
        assert_eq!(w.count(&k, MIN + MIN / 4, MIN), 45);
        w.add(&k, 10, MIN + MIN / 4, MIN);
        assert_eq!(w.count(&k, MIN + MIN / 4, MIN), 55);
        assert_eq!(w.count(&k, 2 * MIN + MIN / 2, MIN), 5);
        assert_eq!(w.count(&k, 5 * MIN, MIN), 0);
    }

    #[test]
    fn clock_stepping_back_keeps_counts() {
        let mut w = SlidingWindows::new(10);
        let k = 1u32;
        w.add(&k, 5, 3 * MIN, MIN);
        w.add(&k, 5, 2 * MIN, MIN);
        assert_eq!(w.count(&k, 3 * MIN, MIN), 10);
    }

    #[test]
    fn least_recently_touched_key_is_evicted_at_capacity() {
        let mut w = SlidingWindows::new(2);
        w.add(&"a", 1, 0, MIN);
        w.add(&"b", 1, 1, MIN);
        w.add(&"a", 1, 2, MIN); // a is now more recent than b
        w.add(&"c", 1, 3, MIN);
        assert_eq!(w.len(), 2);
        assert_eq!(w.count(&"a", 4, MIN), 2);
        assert_eq!(w.count(&"b", 4, MIN), 0);
        assert_eq!(w.count(&"c", 4, MIN), 1);
        for i in 0..1000u64 {
            w.add(&"x", 1, i, MIN);
        }
        assert_eq!(w.len(), 2);
        assert_eq!(w.by_recency.len(), 2);
    }
}
