use std::sync::Arc;

use microwaf_abi::{MetricType, Status};

use super::*;

fn vm(registry: &Arc<MetricRegistry>) -> VmMetrics {
    VmMetrics::new(Arc::clone(registry))
}

#[test]
fn ids_encode_the_type_in_the_low_bits_like_envoy() {
    let reg = Arc::new(MetricRegistry::new());
    let mut m = vm(&reg);
    assert_eq!(m.define(MetricType::Counter, b"a").unwrap(), 0);
    assert_eq!(m.define(MetricType::Gauge, b"b").unwrap(), 1);
    assert_eq!(m.define(MetricType::Histogram, b"c").unwrap(), 2);
    assert_eq!(m.define(MetricType::Counter, b"d").unwrap(), 4);
    assert_eq!(m.define(MetricType::Gauge, b"e").unwrap(), 5);
    assert_eq!(
        m.define(MetricType::Counter, b"\xff"),
        Err(Status::BadArgument)
    );
}

#[test]
fn the_same_name_in_every_vm_is_one_series() {
    let reg = Arc::new(MetricRegistry::new());
    let (mut a, mut b) = (vm(&reg), vm(&reg));
    let ia = a.define(MetricType::Counter, b"requests_total").unwrap();
    let ib = b.define(MetricType::Counter, b"requests_total").unwrap();
    a.increment(ia, 2).unwrap();
    b.increment(ib, 3).unwrap();
    assert_eq!(a.get(ia), Ok(5));
    assert_eq!(
        reg.snapshot(),
        [MetricSnapshot {
            name: "requests_total".into(),
            value: MetricValue::Counter(5)
        }]
    );
}

#[test]
fn statuses_match_envoy() {
    let reg = Arc::new(MetricRegistry::new());
    let mut m = vm(&reg);
    let c = m.define(MetricType::Counter, b"c").unwrap();
    let g = m.define(MetricType::Gauge, b"g").unwrap();
    let h = m.define(MetricType::Histogram, b"h").unwrap();
    assert_eq!(m.increment(c, 0), Err(Status::BadArgument));
    assert_eq!(m.increment(c, -1), Err(Status::BadArgument));
    assert_eq!(m.increment(h, 1), Err(Status::BadArgument));
    assert_eq!(m.increment(c + 8, 1), Err(Status::NotFound));
    assert_eq!(m.increment(g + 8, 1), Err(Status::NotFound));
    assert_eq!(m.increment(3, 1), Err(Status::BadArgument));
    assert_eq!(m.record(99, 1), Err(Status::NotFound));
    assert_eq!(m.get(h), Err(Status::BadArgument));
    assert_eq!(m.get(c + 8), Err(Status::NotFound));
    // record: counters add, gauges set.
    m.record(c, 4).unwrap();
    m.record(c, 4).unwrap();
    m.record(g, 42).unwrap();
    assert_eq!((m.get(c), m.get(g)), (Ok(8), Ok(42)));
}

#[test]
fn gauges_go_up_and_down_and_stop_at_zero() {
    let reg = Arc::new(MetricRegistry::new());
    let mut m = vm(&reg);
    let g = m.define(MetricType::Gauge, b"inflight").unwrap();
    m.increment(g, 3).unwrap();
    m.increment(g, -1).unwrap();
    assert_eq!(m.get(g), Ok(2));
    m.increment(g, i64::MIN).unwrap();
    assert_eq!(m.get(g), Ok(0));
}

#[test]
fn histograms_bucket_cumulatively() {
    let reg = Arc::new(MetricRegistry::with_buckets(vec![
        10.0,
        1.0,
        100.0,
        f64::NAN,
    ]));
    let mut m = vm(&reg);
    let h = m.define(MetricType::Histogram, b"latency").unwrap();
    for v in [0, 1, 5, 10, 50, 1000] {
        m.record(h, v).unwrap();
    }
    let snap = reg.snapshot();
    assert_eq!(
        snap[0].value,
        MetricValue::Histogram {
            buckets: vec![(1.0, 2), (10.0, 4), (100.0, 5)],
            sum: 1066,
            count: 6
        }
    );
}

#[test]
fn kinds_of_one_name_are_separate_series_and_snapshot_is_sorted() {
    let reg = Arc::new(MetricRegistry::new());
    let mut m = vm(&reg);
    m.define(MetricType::Gauge, b"b").unwrap();
    m.define(MetricType::Counter, b"b").unwrap();
    m.define(MetricType::Counter, b"a_total").unwrap();
    let names: Vec<_> = reg
        .snapshot()
        .into_iter()
        .map(|s| (s.name, s.value))
        .collect();
    assert_eq!(
        names,
        [
            ("a_total".to_string(), MetricValue::Counter(0)),
            ("b".to_string(), MetricValue::Counter(0)),
            ("b".to_string(), MetricValue::Gauge(0)),
        ]
    );
}
