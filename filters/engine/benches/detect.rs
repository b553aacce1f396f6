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

/// The order-record bodies the wasm engine bench (top-level `benches/`) scans too, so the native
/// and wasm numbers compare; only the JSON ones are used here.
#[allow(dead_code)]
#[path = "../../../benches/benches/engine/bodies.rs"]
mod bodies;

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
            let buf = bodies::json(size, leak);
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
    // What the filter scans before a body: a path and the header values it does not skip, as
    // a browser behind a load balancer sends them.
    let parts: [&[u8]; 7] = [
        b"/api/v1/orders/12345",
        b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
        b"https://shop.example.com/cart?item=42&ref=home",
        b"session=8f14e45fceea167a5a36dedd4bea2543; theme=dark; lang=en",
        b"203.0.113.7",
        b"https",
        b"https://shop.example.com",
    ];
    g.throughput(Throughput::Bytes(
        parts.iter().map(|p| p.len() as u64).sum(),
    ));
    g.bench_function("scan_attack/request_parts", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            out.clear();
            for p in parts {
                det.scan_attack(black_box(p), &FieldContext::default(), &mut out);
            }
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
