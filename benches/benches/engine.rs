//! The MicroWAF engine's full inspection pipeline (parser + detection, all built-ins on),
//! natively and inside Wasmtime, on the same 4 KiB and 64 KiB bodies (JSON, HTML, form,
//! protobuf: the same order records in each, see `engine/bodies.rs`), reported as bytes/s.
//!
//! The wasm side is `filters/engine-probe` (the engine behind a minimal ABI, no proxy-wasm host
//! calls) built for `wasm32-unknown-unknown` by `tests/build.rs`; each iteration is one
//! `probe_count` call: the same `Inspector::body` → push → finish the filter does per body.
//! `wasm_epoch/…` runs it with epoch interruption on, as the runtime runs plugins.
//! `…/attacks_json/…` scans the JSON bodies for attacks instead (`probe_scan_mode`), as the
//! filter scans request bodies: every value through the attack checks.
//! `cargo bench -p microwaf-benches --bench engine`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use microwaf_engine::formats::ContentInfo;
use microwaf_engine::inspect::{Inspector, ScanMode};
use microwaf_tests::fixtures::{self, Target};
use wasmtime::{Engine, Instance, Module, Store, TypedFunc};

#[path = "engine/bodies.rs"]
mod bodies;

/// The formats measured: bench name, content type, body builder.
type Body = fn(usize, bool) -> Vec<u8>;
const FORMATS: [(&str, &str, Body); 4] = [
    ("json", "application/json", bodies::json),
    ("html", "text/html", bodies::html),
    ("form", "application/x-www-form-urlencoded", bodies::form),
    ("protobuf", "application/x-protobuf", bodies::protobuf),
];

fn native_count(inspector: &Arc<Inspector>, ct: &str, buf: &[u8]) -> usize {
    native_count_in(ScanMode::Sensitive, inspector, ct, buf)
}

fn native_count_in(mode: ScanMode, inspector: &Arc<Inspector>, ct: &str, buf: &[u8]) -> usize {
    let info = ContentInfo {
        content_type: Some(ct),
        ..ContentInfo::default()
    };
    let mut scan = inspector
        .body(&info, mode)
        .expect("the content type is inspectable");
    scan.push(buf);
    scan.finish();
    scan.matches().len()
}

/// The probe module: `MICROWAF_ENGINE_PROBE=path` runs another build of it (a baseline kept
/// from before a change, so both are measured in the same run on this noisy machine), else the
/// one `tests/build.rs` built.
fn probe_path() -> std::path::PathBuf {
    match std::env::var_os("MICROWAF_ENGINE_PROBE") {
        Some(p) => p.into(),
        None => fixtures::wasm("microwaf_filter", Target::Unknown)
            .with_file_name("microwaf_engine_probe.wasm"),
    }
}

/// The engine probe instantiated once; inputs are written into its memory once per body.
struct Probe {
    store: Store<()>,
    memory: wasmtime::Memory,
    alloc: TypedFunc<u32, u32>,
    count: TypedFunc<(u32, u32, u32, u32), u32>,
    scan_mode: TypedFunc<(u32, u32, u32, u32, u32), u64>,
}

impl Probe {
    /// `epoch`: with Wasmtime's epoch interruption on, as the runtime runs every plugin (its
    /// per-callback deadlines): a check at each loop head and call, which costs the engine's
    /// byte loops ~20 %; without it, the engine's own speed in wasm.
    fn new(epoch: bool) -> Probe {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(epoch);
        let engine = Engine::new(&config).expect("engine");
        let path = probe_path();
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
        let scan_mode = instance
            .get_typed_func(&mut store, "probe_scan_mode")
            .expect("probe_scan_mode");
        Probe {
            store,
            memory,
            alloc,
            count,
            scan_mode,
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

    /// Scans for attacks only; the length of the findings' JSON lines.
    fn attacks(&mut self, ct: (u32, u32), body: (u32, u32)) -> u32 {
        let r = self
            .scan_mode
            .call(&mut self.store, (1, ct.0, ct.1, body.0, body.1))
            .expect("probe_scan_mode");
        r as u32
    }
}

fn bench(c: &mut Criterion) {
    let inspector = Inspector::from_config(b"").expect("default policy: every built-in on");
    let mut probe = Probe::new(false);
    let mut runtime_like = Probe::new(true);
    let mut g = c.benchmark_group("engine");
    for (format, ct, make) in FORMATS {
        let ct_wasm = probe.put(ct.as_bytes());
        let ct_rt = runtime_like.put(ct.as_bytes());
        for size in [4096, 65536] {
            for (name, leak) in [("clean", false), ("leaky", true)] {
                let buf = make(size, leak);
                g.throughput(Throughput::Bytes(buf.len() as u64));
                // Both sides must agree before either is timed.
                let want = native_count(&inspector, ct, &buf);
                let input = probe.put(&buf);
                assert_eq!(
                    probe.count(ct_wasm, input) as usize,
                    want,
                    "{format}/{name}/{size}"
                );
                let input_rt = runtime_like.put(&buf);
                assert_eq!(runtime_like.count(ct_rt, input_rt) as usize, want);
                assert_eq!(want > 0, leak, "{format}/{name}/{size}: {want} findings");
                let id =
                    |side: &str| BenchmarkId::new(format!("{side}/inspect_{format}/{name}"), size);
                g.bench_with_input(id("native"), &buf, |b, buf| {
                    b.iter(|| native_count(&inspector, ct, black_box(buf)))
                });
                g.bench_function(id("wasm"), |b| {
                    b.iter(|| probe.count(ct_wasm, black_box(input)))
                });
                g.bench_function(id("wasm_epoch"), |b| {
                    b.iter(|| runtime_like.count(ct_rt, black_box(input_rt)))
                });
            }
        }
    }
    let ct = "application/json";
    let (ct_wasm, ct_rt) = (probe.put(ct.as_bytes()), runtime_like.put(ct.as_bytes()));
    for size in [4096, 65536] {
        let buf = bodies::json(size, false);
        g.throughput(Throughput::Bytes(buf.len() as u64));
        assert_eq!(native_count_in(ScanMode::Attacks, &inspector, ct, &buf), 0);
        let (input, input_rt) = (probe.put(&buf), runtime_like.put(&buf));
        assert_eq!(
            probe.attacks(ct_wasm, input),
            0,
            "no attack in an order record"
        );
        let id = |side: &str| BenchmarkId::new(format!("{side}/attacks_json/clean"), size);
        g.bench_with_input(id("native"), &buf, |b, buf| {
            b.iter(|| native_count_in(ScanMode::Attacks, &inspector, ct, black_box(buf)))
        });
        g.bench_function(id("wasm"), |b| {
            b.iter(|| probe.attacks(ct_wasm, black_box(input)))
        });
        g.bench_function(id("wasm_epoch"), |b| {
            b.iter(|| runtime_like.attacks(ct_rt, black_box(input_rt)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
