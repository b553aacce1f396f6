//! Bounded label values: at most N distinct values of a label ever reach a metric name, the
//! rest are reported as `other`.
//!
//! proxy-wasm metrics cannot be deleted once defined, so the bound that matters is on distinct
//! values *ever emitted*, not on the current top N: a classic top-N that swaps members would
//! define a new series at every swap. So admission is permanent: a value gets one of the N
//! slots the first time it has been seen `min_hits` times (so one-off values, such as a
//! scanner's random tokens, do not take slots) while slots remain. Frequencies come from a
//! space-saving sketch (Metwally et al., 2005) over `4 × N` counters, which also answers
//! [`TopN::top`] for config dumps and debugging with bounded memory.

use std::collections::{BTreeMap, BTreeSet};

/// The label used for every value without a slot.
pub const OTHER: &str = "other";

#[derive(Debug, Clone, Copy)]
struct Estimate {
    count: u64,
    /// Over-estimation inherited from the evicted counter this one replaced.
    error: u64,
}

/// A bounded label mapper; see the module docs.
#[derive(Debug, Clone)]
pub struct TopN {
    slots: usize,
    min_hits: u64,
    admitted: BTreeSet<String>,
    monitored: usize,
    sketch: BTreeMap<String, Estimate>,
}

impl TopN {
    /// At most `slots` distinct values, each admitted after `min_hits` sightings (at least 1).
    pub fn new(slots: usize, min_hits: u64) -> Self {
        TopN {
            slots,
            min_hits: min_hits.max(1),
            admitted: BTreeSet::new(),
            monitored: slots.saturating_mul(4).max(8),
            sketch: BTreeMap::new(),
        }
    }

    /// Records one sighting of `value` and returns the label to report it under: the value
    /// itself if it has (or now gets) a slot, else [`OTHER`].
    pub fn label<'a>(&mut self, value: &'a str) -> &'a str {
        let guaranteed = self.observe(value);
        if self.admitted.contains(value) {
            return value;
        }
        if value != OTHER && self.admitted.len() < self.slots && guaranteed >= self.min_hits {
            self.admitted.insert(value.to_string());
            return value;
        }
        OTHER
    }

    /// The label `value` would get now, without recording a sighting.
    pub fn peek<'a>(&self, value: &'a str) -> &'a str {
        if self.admitted.contains(value) {
            value
        } else {
            OTHER
        }
    }

    /// Values holding slots.
    pub fn admitted(&self) -> impl Iterator<Item = &str> {
        self.admitted.iter().map(String::as_str)
    }

    /// The `n` most frequent values by estimated count (counts may over-estimate by the error
    /// the sketch reports), most frequent first.
    pub fn top(&self, n: usize) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self
            .sketch
            .iter()
            .map(|(k, e)| (k.as_str(), e.count))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.truncate(n);
        v
    }

    /// Space-saving update; returns the guaranteed count (count − error) of `value`.
    fn observe(&mut self, value: &str) -> u64 {
        if let Some(e) = self.sketch.get_mut(value) {
            e.count += 1;
            return e.count - e.error;
        }
        let mut estimate = Estimate { count: 1, error: 0 };
        if self.sketch.len() >= self.monitored {
            // Replace the smallest counter; the newcomer inherits its count as error.
            let min_key = self
                .sketch
                .iter()
                .min_by_key(|(_, e)| e.count)
                .map(|(k, _)| k.clone());
            if let Some(k) = min_key {
                if let Some(min) = self.sketch.remove(&k) {
                    estimate = Estimate {
                        count: min.count + 1,
                        error: min.count,
                    };
                }
            }
        }
        self.sketch.insert(value.to_string(), estimate);
        estimate.count - estimate.error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_values_take_slots_then_other() {
        let mut t = TopN::new(2, 1);
        assert_eq!(t.label("a"), "a");
        assert_eq!(t.label("b"), "b");
        assert_eq!(t.label("c"), OTHER);
        assert_eq!(t.label("a"), "a");
        assert_eq!(t.peek("c"), OTHER);
    }

    #[test]
    fn one_off_values_do_not_take_slots() {
        let mut t = TopN::new(2, 2);
        for i in 0..1000 {
            assert_eq!(t.label(&format!("scan-{i}")), OTHER);
        }
        assert_eq!(t.label("svc"), OTHER);
        assert_eq!(t.label("svc"), "svc");
        assert_eq!(t.admitted().collect::<Vec<_>>(), ["svc"]);
    }

    #[test]
    fn distinct_labels_ever_emitted_stay_bounded() {
        let mut t = TopN::new(10, 2);
        let mut emitted = BTreeSet::new();
        for round in 0..50u64 {
            for i in 0..100u64 {
                let v = format!("tok-{}", (i * 7 + round) % 300);
                emitted.insert(t.label(&v).to_string());
            }
        }
        assert!(emitted.len() <= 11, "{}", emitted.len()); // ten values + other
        assert!(t.sketch.len() <= 40);
    }

    #[test]
    fn top_reports_heavy_hitters_first() {
        let mut t = TopN::new(3, 1);
        for _ in 0..50 {
            t.label("heavy");
        }
        for i in 0..200 {
            t.label(&format!("noise-{i}"));
        }
        for _ in 0..20 {
            t.label("medium");
        }
        let top = t.top(2);
        assert_eq!(top[0].0, "heavy");
        assert!(top[0].1 >= 50);
        assert!(top.iter().any(|(k, _)| *k == "medium"));
        assert_eq!(t.label(OTHER), OTHER);
    }
}
