//! Ticks, shared data across VMs, shared queues.

use std::time::Duration;

use microwaf_runtime::metrics::MetricValue;
use microwaf_tests::fixtures::Target;

use super::harness::*;

fn metric(p: &microwaf_runtime::Plugin, name: &str) -> Option<u64> {
    p.metrics()
        .into_iter()
        .find(|m| m.name == name)
        .map(|m| match m.value {
            MetricValue::Counter(v) | MetricValue::Gauge(v) => v,
            MetricValue::Histogram { count, .. } => count,
        })
}

#[test]
fn ticks_fire_in_every_vm_root_and_stop_when_the_period_is_zero() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let mut cfg = config(
            "ticks",
            rust("ticks", t),
            r#"{"period_ms": 5, "stop_after": 3}"#,
        );
        cfg.vm_count = Some(2);
        let p = load(cfg, &emb);
        assert!(emb.wait_for("ticks: stopped after 3", Duration::from_secs(5)));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while metric(&p, "fixture_ticks") != Some(6) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(metric(&p, "fixture_ticks"), Some(6), "{t:?}");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            metric(&p, "fixture_ticks"),
            Some(6),
            "no tick after period 0"
        );
        assert!(emb.logged("ticks: tick 1 root #1"));
    }
}

#[test]
fn shared_data_cas_counter_is_exact_across_vms_and_threads() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let key = format!("counter_{t:?}");
        let mut cfg = config(
            "shared",
            rust("shared_data", t),
            &format!(r#"{{"key": "{key}"}}"#),
        );
        cfg.vm_count = Some(3);
        cfg.vm_id = format!("shared-test-{t:?}");
        let p = load(cfg, &emb);
        let mut seen: Vec<u64> = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    sc.spawn(|| {
                        (0..10)
                            .map(|_| {
                                let ex =
                                    exchange(&p, request("/", &[]), b"", response("200", &[]), b"");
                                get(&ex.response_headers, "x-shared-counter")
                                    .unwrap()
                                    .parse::<u64>()
                                    .unwrap()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        seen.sort();
        assert_eq!(seen, (1..=30).collect::<Vec<_>>(), "{t:?}");
        let ex = exchange(
            &p,
            request("/", &[("x-shared-stale-cas", "1")]),
            b"",
            response("200", &[]),
            b"",
        );
        let r = &ex.response_headers;
        assert_eq!(get(r, "x-shared-missing").as_deref(), Some("none"));
        assert_eq!(get(r, "x-shared-vms").as_deref(), Some("3"));
        assert_eq!(get(r, "x-shared-cas-first").as_deref(), Some("Ok"));
        assert_eq!(get(r, "x-shared-cas-stale").as_deref(), Some("CasMismatch"));
    }
}

#[test]
fn queue_messages_reach_the_registering_vm() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let q = format!("q_{t:?}");
        let vm_id = format!("queues-{t:?}");
        let mut consumer = config(
            "consumer",
            rust("queues", t),
            &format!(r#"{{"role":"consumer","queue":"{q}"}}"#),
        );
        consumer.vm_id = vm_id.clone();
        consumer.singleton = true;
        let _c = load(consumer, &emb);
        let producer_cfg = format!(r#"{{"role":"producer","queue":"{q}","vm_id":"{vm_id}"}}"#);
        let p = load(config("producer", rust("queues", t), &producer_cfg), &emb);
        let ex = exchange(
            &p,
            request("/", &[("x-queue-message", "hello-queue")]),
            b"",
            response("200", &[]),
            b"",
        );
        assert_eq!(
            get(&ex.response_headers, "x-queue-enqueue").as_deref(),
            Some("ok")
        );
        assert!(
            emb.wait_for("queues: dequeued hello-queue", Duration::from_secs(5)),
            "{:?}",
            emb.logs()
        );
        assert!(emb.wait_for("queues: drained", Duration::from_secs(5)));
        let other = config(
            "producer2",
            rust("queues", t),
            r#"{"role":"producer","queue":"nope","vm_id":"none"}"#,
        );
        let p2 = load(other, &emb);
        let ex = exchange(&p2, request("/", &[]), b"", response("200", &[]), b"");
        assert_eq!(
            get(&ex.response_headers, "x-queue-enqueue").as_deref(),
            Some("unresolved")
        );
    }
}
