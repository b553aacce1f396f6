//! Filter metrics through `proxy_define_metric`, with labels encoded in the name.
//!
//! A name is `microwaf_<what>` followed by `;label=value` pairs, e.g.
//! `microwaf_matches;category=us_ssn;endpoint=/users/{id};source=spiffe://td/ns/a/sa/web;destination=users;token=3f2a…`.
//! Envoy's `stats_tags` (and microwaf's, same semantics) extract each label with a regex whose
//! first group is removed from the name and whose second group is the value:
//! `(;category=([^;]*))`, `(;endpoint=([^;]*))`, … leaving `microwaf_matches{category="us_ssn",…}`.
//! Label values are bounded (top-N with an `other` bucket) because metrics cannot be deleted.

use std::collections::HashMap;

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

/// Metric ids by full name, defined on first use in this VM.
#[derive(Default)]
pub struct Metrics {
    ids: HashMap<String, u32>,
}

impl Metrics {
    /// Adds `by` to the counter `base` with `labels`.
    pub fn count(&mut self, base: &str, labels: &[(&str, &str)], by: u64) {
        if by == 0 {
            return;
        }
        let name = name(base, labels);
        let id = match self.ids.get(&name) {
            Some(id) => *id,
            None => match hostcalls::define_metric(MetricType::Counter, &name) {
                Ok(id) => {
                    self.ids.insert(name, id);
                    id
                }
                Err(status) => {
                    log::warn!("microwaf: cannot define metric {name}: {status:?}");
                    return;
                }
            },
        };
        let by = i64::try_from(by).unwrap_or(i64::MAX);
        if let Err(status) = hostcalls::increment_metric(id, by) {
            log::warn!("microwaf: cannot increment metric: {status:?}");
        }
    }
}

/// The encoded metric name. `;` and `=` in values would break extraction, so they become `_`.
pub fn name(base: &str, labels: &[(&str, &str)]) -> String {
    let mut out = String::from(base);
    for (k, v) in labels {
        out.push(';');
        out.push_str(k);
        out.push('=');
        out.extend(v.chars().map(|c| match c {
            ';' | '=' => '_',
            c if c.is_control() => '_',
            c => c,
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::name;

    #[test]
    fn labels_are_encoded_for_tag_extraction() {
        assert_eq!(
            name(
                "microwaf_matches",
                &[("category", "us_ssn"), ("endpoint", "/a;b=c")]
            ),
            "microwaf_matches;category=us_ssn;endpoint=/a_b_c"
        );
    }
}
