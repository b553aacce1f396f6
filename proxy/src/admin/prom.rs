//! `/metrics` text: the proxy's `prometheus-client` registry plus filter-defined metrics.
//!
//! Filter metrics are rendered here rather than through `prometheus-client` because their
//! names must be exported exactly as the filter defined them (a counter `requests_total` stays
//! `requests_total`; the library would add another `_total`) and their tags come from the
//! `stats_tags` extractors at scrape time. The output is the Prometheus text format 0.0.4.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use prometheus_client::registry::Registry;

use super::tags;
use crate::config::StatsTag;

/// Content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One metric defined by a wasm filter, aggregated over every VM of its plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterMetric {
    /// The name as defined (`proxy_define_metric`), before tag extraction.
    pub name: String,
    pub value: FilterMetricValue,
}

/// The three proxy-wasm metric types.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterMetricValue {
    Counter(u64),
    Gauge(i64),
    Histogram(HistogramSnapshot),
}

/// A histogram's state: cumulative counts per upper bound (ascending, `+Inf` implied by
/// `count`), plus sum and count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistogramSnapshot {
    pub buckets: Vec<(f64, u64)>,
    pub sum: f64,
    pub count: u64,
}

impl FilterMetricValue {
    fn type_name(&self) -> &'static str {
        match self {
            FilterMetricValue::Counter(_) => "counter",
            FilterMetricValue::Gauge(_) => "gauge",
            FilterMetricValue::Histogram(_) => "histogram",
        }
    }
}

/// Samples of one family: its type and each sample's tags and value.
type Family<'a> = (
    &'static str,
    Vec<(Vec<(String, String)>, &'a FilterMetricValue)>,
);

/// Renders the registry, then the filter metrics grouped into families by their
/// tag-extracted names.
pub fn render(
    registry: Option<&Registry>,
    filter: &[FilterMetric],
    stats_tags: &[StatsTag],
) -> String {
    let mut out = String::new();
    if let Some(registry) = registry {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, registry).is_ok() {
            // OpenMetrics framing the 0.0.4 format does not have.
            for line in text.lines() {
                if line != "# EOF" && !line.starts_with("# UNIT ") {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
    }
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for metric in filter {
        let tagged = tags::extract(&metric.name, stats_tags);
        let family = families
            .entry(tagged.name)
            .or_insert_with(|| (metric.value.type_name(), Vec::new()));
        // Two metrics of different types cannot share a family; the first one wins.
        if family.0 == metric.value.type_name() {
            family.1.push((tagged.tags, &metric.value));
        }
    }
    for (name, (kind, samples)) in &families {
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            sample(&mut out, name, labels, value);
        }
    }
    out
}

fn sample(out: &mut String, name: &str, labels: &[(String, String)], value: &FilterMetricValue) {
    match value {
        FilterMetricValue::Counter(v) => {
            let _ = writeln!(out, "{name}{} {v}", label_set(labels, None));
        }
        FilterMetricValue::Gauge(v) => {
            let _ = writeln!(out, "{name}{} {v}", label_set(labels, None));
        }
        FilterMetricValue::Histogram(h) => {
            for (le, count) in &h.buckets {
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {count}",
                    label_set(labels, Some(&float(*le)))
                );
            }
            let _ = writeln!(
                out,
                "{name}_bucket{} {}",
                label_set(labels, Some("+Inf")),
                h.count
            );
            let _ = writeln!(
                out,
                "{name}_sum{} {}",
                label_set(labels, None),
                float(h.sum)
            );
            let _ = writeln!(out, "{name}_count{} {}", label_set(labels, None), h.count);
        }
    }
}

/// `{a="x",le="0.5"}`, or nothing without labels.
fn label_set(labels: &[(String, String)], le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}=\"{}\"", tags::sanitize(k), escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn float(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Pattern;
    use prometheus_client::metrics::counter::Counter;

    fn counter(name: &str, v: u64) -> FilterMetric {
        FilterMetric {
            name: name.into(),
            value: FilterMetricValue::Counter(v),
        }
    }

    #[test]
    fn filter_counters_keep_their_names_and_get_tags() {
        let tags = [StatsTag {
            tag_name: "value".into(),
            regex: Pattern::search("(_value=([a-z]+))").unwrap(),
        }];
        let metrics = [
            counter("requests_total", 3),
            counter("reqs_value=foo", 1),
            counter("reqs_value=bar", 2),
        ];
        let text = render(None, &metrics, &tags);
        assert_eq!(
            text,
            "# TYPE reqs counter\nreqs{value=\"foo\"} 1\nreqs{value=\"bar\"} 2\n# TYPE requests_total counter\nrequests_total 3\n"
        );
    }

    #[test]
    fn histograms_and_gauges() {
        let metrics = [
            FilterMetric {
                name: "hdrs".into(),
                value: FilterMetricValue::Histogram(HistogramSnapshot {
                    buckets: vec![(1.0, 1), (10.0, 3)],
                    sum: 12.5,
                    count: 4,
                }),
            },
            FilterMetric {
                name: "inflight".into(),
                value: FilterMetricValue::Gauge(-2),
            },
        ];
        let text = render(None, &metrics, &[]);
        assert!(text.contains("# TYPE hdrs histogram\nhdrs_bucket{le=\"1\"} 1\nhdrs_bucket{le=\"10\"} 3\nhdrs_bucket{le=\"+Inf\"} 4\nhdrs_sum 12.5\nhdrs_count 4\n"), "{text}");
        assert!(
            text.contains("# TYPE inflight gauge\ninflight -2\n"),
            "{text}"
        );
    }

    #[test]
    fn registry_is_included_without_openmetrics_eof() {
        let mut registry = Registry::default();
        let c: Counter = Counter::default();
        c.inc();
        registry.register("proxy_requests", "Requests", c);
        let text = render(Some(&registry), &[counter("x", 1)], &[]);
        assert!(text.contains("proxy_requests_total 1\n"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
        assert!(text.ends_with("# TYPE x counter\nx 1\n"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(
            label_set(&[("a.b".into(), "q\"\\\n".into())], None),
            "{a_b=\"q\\\"\\\\\\n\"}"
        );
    }
}
