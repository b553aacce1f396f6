//! Detector throughput on realistic JSON API responses, 4 KiB and 64 KiB, clean and with
//! sensitive data sprinkled in, all built-ins on: the raw detector (`scan_raw`) and the full
//! inspection pipeline the filter runs per body (JSON parser, key context, detection,
//! dedup: `Inspector::body`). `cargo bench -p microwaf-engine --bench detect`. The same
//! pipeline inside Wasmtime is `benches/benches/engine.rs` in the top-level workspace.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use microwaf_engine::detect::{Detector, FieldContext};
use microwaf_engine::formats::ContentInfo;
use microwaf_engine::inspect::{Inspector, ScanMode};
use std::hint::black_box;

/// One order-like record; `leak` adds a card, an SSN, an e-mail and a token.
fn record(i: usize, leak: bool) -> String {
    let extra = if leak {
        format!(
            r#","card":"4111 1111 1111 1111","ssn":"536-22-5314","email":"jane.doe{i}@example.org","token":"ghp_{:036}""#,
            i
        )
    } else {
        String::new()
    };
    format!(
        r#"{{"id":"ord_{i:08}","created_at":"2024-06-{:02}T12:{:02}:07.123Z","status":"shipped","customer":{{"name":"Customer {i}","tier":"gold","uuid":"550e8400-e29b-41d4-a716-{i:012}"}},"items":[{{"sku":"SKU-{i:05}","qty":2,"price":19.99,"title":"Stainless steel water bottle, 750 ml"}},{{"sku":"SKU-{:05}","qty":1,"price":4.5,"title":"Replacement lid"}}],"total":44.48,"currency":"EUR","notes":"Leave at the front door if nobody answers.","version":"1.4.12","trace":"3f9a8c1d2e4b5a6978c0d1e2f3a4b5c6d7e8f901"{extra}}}"#,
        i % 28 + 1,
        i % 60,
        i + 7
    )
}

/// A JSON array of records of about `size` bytes.
fn body(size: usize, leak: bool) -> Vec<u8> {
    let mut s = String::from("[");
    let mut i = 0;
    while s.len() < size {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&record(i, leak && i % 4 == 1));
        i += 1;
    }
    s.push(']');
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let det = Detector::builtin();
    let inspector = Inspector::from_config(b"").expect("default policy");
    let json = ContentInfo {
        content_type: Some("application/json"),
        ..ContentInfo::default()
    };
    let mut g = c.benchmark_group("detect");
    for size in [4096, 65536] {
        for (name, leak) in [("clean", false), ("leaky", true)] {
            let buf = body(size, leak);
            g.throughput(Throughput::Bytes(buf.len() as u64));
            let mut out = Vec::new();
            g.bench_with_input(
                BenchmarkId::new(format!("scan_raw/{name}"), size),
                &buf,
                |b, buf| {
                    b.iter(|| {
                        out.clear();
                        det.scan_raw(black_box(buf), &mut out);
                        black_box(out.len())
                    })
                },
            );
            g.bench_with_input(
                BenchmarkId::new(format!("inspect_json/{name}"), size),
                &buf,
                |b, buf| {
                    b.iter(|| {
                        let mut scan = inspector
                            .body(&json, ScanMode::Sensitive)
                            .expect("JSON is inspectable");
                        scan.push(black_box(buf));
                        scan.finish();
                        black_box(scan.matches().len())
                    })
                },
            );
        }
    }
    let attack = b"/api/v1/search?q=stainless%20steel+bottle&sort=price&page=2&ref=newsletter";
    g.throughput(Throughput::Bytes(attack.len() as u64));
    g.bench_function("scan_attack/query", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            out.clear();
            det.scan_attack(black_box(attack), &FieldContext::default(), &mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
