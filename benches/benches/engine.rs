//! The MicroWAF engine's full inspection pipeline (JSON parser + detection, all built-ins on),
//! natively and inside Wasmtime, on the same 4 KiB and 64 KiB JSON bodies, reported as bytes/s.
//!
//! The wasm side is `filters/engine-probe` (the engine behind a minimal ABI, no proxy-wasm host
//! calls) built for `wasm32-unknown-unknown` by `tests/build.rs`; each iteration is one
//! `probe_count` call: the same `Inspector::body` → push → finish the filter does per body.
//! `wasm_epoch/…` runs it with epoch interruption on, as the runtime runs plugins.
//! `cargo bench -p microwaf-benches --bench engine`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use microwaf_engine::formats::ContentInfo;
use microwaf_engine::inspect::{Inspector, ScanMode};
use microwaf_tests::fixtures::{self, Target};
use wasmtime::{Engine, Instance, Module, Store, TypedFunc};

const JSON: &str = "application/json";

/// One order-like record; `leak` adds a card, an SSN, an e-mail and a token (the records of
/// `filters/engine/benches/detect.rs`, so native numbers compare across the two benches).
fn record(i: usize, leak: bool) -> String {
    let extra = if leak {
        format!(
            r#","card":"4111 1111 1111 1111","ssn":"536-22-5314","email":"jane.doe{i}@example.org","token":"ghp_{i:036}""#
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

/// A JSON array of records of about `size` bytes; every fourth record leaks when `leak`.
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

fn native_count(inspector: &Arc<Inspector>, buf: &[u8]) -> usize {
    let info = ContentInfo {
        content_type: Some(JSON),
        ..ContentInfo::default()
    };
    let mut scan = inspector
        .body(&info, ScanMode::Sensitive)
        .expect("JSON is inspectable");
    scan.push(buf);
    scan.finish();
    scan.matches().len()
}

/// The engine probe instantiated once; inputs are written into its memory once per body.
struct Probe {
    store: Store<()>,
    memory: wasmtime::Memory,
    alloc: TypedFunc<u32, u32>,
    count: TypedFunc<(u32, u32, u32, u32), u32>,
}

impl Probe {
    /// `epoch`: with Wasmtime's epoch interruption on, as the runtime runs every plugin (its
    /// per-callback deadlines): a check at each loop head and call, which costs the engine's
    /// byte loops ~20 %; without it, the engine's own speed in wasm.
    fn new(epoch: bool) -> Probe {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(epoch);
        let engine = Engine::new(&config).expect("engine");
        let path = fixtures::wasm("microwaf_filter", Target::Unknown)
            .with_file_name("microwaf_engine_probe.wasm");
        let module =
            Module::from_file(&engine, &path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut store = Store::new(&engine, ());
        // Never reached: the epoch is not advanced here; only the checks are measured.
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiate the probe");
        let memory = instance
            .get_memory(&mut store, "memory")
            .expect("memory export");
        let alloc = instance
            .get_typed_func(&mut store, "probe_alloc")
            .expect("probe_alloc");
        let count = instance
            .get_typed_func(&mut store, "probe_count")
            .expect("probe_count");
        Probe {
            store,
            memory,
            alloc,
            count,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> (u32, u32) {
        let len = u32::try_from(bytes.len()).expect("input fits wasm32");
        let ptr = self.alloc.call(&mut self.store, len).expect("probe_alloc");
        self.memory
            .write(&mut self.store, ptr as usize, bytes)
            .expect("write input");
        (ptr, len)
    }

    fn count(&mut self, ct: (u32, u32), body: (u32, u32)) -> u32 {
        self.count
            .call(&mut self.store, (ct.0, ct.1, body.0, body.1))
            .expect("probe_count")
    }
}

fn bench(c: &mut Criterion) {
    let inspector = Inspector::from_config(b"").expect("default policy: every built-in on");
    let mut probe = Probe::new(false);
    let ct = probe.put(JSON.as_bytes());
    let mut runtime_like = Probe::new(true);
    let ct_rt = runtime_like.put(JSON.as_bytes());
    let mut g = c.benchmark_group("engine");
    for size in [4096, 65536] {
        for (name, leak) in [("clean", false), ("leaky", true)] {
            let buf = body(size, leak);
            g.throughput(Throughput::Bytes(buf.len() as u64));
            // Both sides must agree before either is timed.
            let want = native_count(&inspector, &buf);
            let input = probe.put(&buf);
            assert_eq!(probe.count(ct, input) as usize, want, "{name}/{size}");
            let input_rt = runtime_like.put(&buf);
            assert_eq!(runtime_like.count(ct_rt, input_rt) as usize, want);
            assert_eq!(want > 0, leak, "{name}/{size}: {want} findings");
            g.bench_with_input(
                BenchmarkId::new(format!("native/inspect_json/{name}"), size),
                &buf,
                |b, buf| b.iter(|| native_count(&inspector, black_box(buf))),
            );
            g.bench_function(
                BenchmarkId::new(format!("wasm/inspect_json/{name}"), size),
                |b| b.iter(|| probe.count(ct, black_box(input))),
            );
            g.bench_function(
                BenchmarkId::new(format!("wasm_epoch/inspect_json/{name}"), size),
                |b| b.iter(|| runtime_like.count(ct_rt, black_box(input_rt))),
            );
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
