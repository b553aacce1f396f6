//! Runtime benches (issue #2): fresh instance pooled vs on demand, stream context lifecycle,
//! request-headers callback with 10 headers, 4 KiB body callback, cache load vs compile.
//!
//! The guest is a small hand-written proxy-wasm module (below) so the numbers measure the host:
//! its headers callback reads one header and adds one, its body callback reads the whole body.

use std::hint::black_box;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion};
use microwaf_runtime::{
    CalloutReply, Embedder, HttpCalloutRequest, LogLevel, NoEvents, NoProperties, Plugin,
    PluginConfig, Runtime, RuntimeConfig, Status, WasmSource,
};

const GUEST: &str = r#"
(module
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $buf (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 0) "user-agent")
  (data (i32.const 16) "x-bench")
  (data (i32.const 32) "1")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param $n i32) (result i32)
    ;; bump allocator that recycles the second page: results are read and dropped at once
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (if (i32.gt_u (global.get $heap) (i32.const 131000)) (then (global.set $heap (i32.const 4096))))
    (i32.sub (global.get $heap) (local.get $n)))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $get (i32.const 0) (i32.const 0) (i32.const 10) (i32.const 64) (i32.const 68)))
    (drop (call $add (i32.const 0) (i32.const 16) (i32.const 7) (i32.const 32) (i32.const 1)))
    (i32.const 0))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
    (drop (call $buf (i32.const 0) (i32.const 0) (local.get 1) (i32.const 64) (i32.const 68)))
    (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32)))
"#;

struct Quiet;

impl Embedder for Quiet {
    fn http_call(&self, _: HttpCalloutRequest, _: CalloutReply) -> Result<(), Status> {
        Err(Status::BadArgument)
    }
    fn log(&self, _: &str, _: u32, _: LogLevel, _: &str) {}
}

fn plugin(rt: &Runtime) -> Plugin {
    let mut cfg = PluginConfig::new(
        "bench",
        WasmSource::Bytes(Bytes::from_static(GUEST.as_bytes())),
    );
    cfg.vm_count = Some(1);
    rt.load_plugin(cfg, Arc::new(Quiet))
        .expect("bench plugin loads")
}

fn headers10() -> Vec<(Bytes, Bytes)> {
    let h: Vec<(Bytes, Bytes)> = [
        (":method", "GET"),
        (":path", "/api/v1/items?limit=10"),
        (":authority", "svc.internal"),
        (":scheme", "https"),
        ("user-agent", "bench/1.0"),
        ("accept", "application/json"),
        ("accept-encoding", "gzip"),
        ("x-request-id", "0f8fad5b-d9cb-469f-a165-70867728950e"),
        ("authorization", "Bearer abc.def.ghi"),
        ("content-type", "application/json"),
    ]
    .iter()
    .map(|(k, v)| {
        (
            Bytes::from_static(k.as_bytes()),
            Bytes::from_static(v.as_bytes()),
        )
    })
    .collect();
    assert_eq!(h.len(), 10);
    h
}

fn benches(c: &mut Criterion) {
    let pooled = Runtime::new(RuntimeConfig::default()).unwrap();
    let on_demand = Runtime::new(RuntimeConfig {
        pooling: false,
        ..Default::default()
    })
    .unwrap();
    let p = plugin(&pooled);
    let p_demand = plugin(&on_demand);

    let mut g = c.benchmark_group("fresh_instance");
    g.bench_function("pooled", |b| b.iter(|| p.fresh_instance().unwrap()));
    g.bench_function("on_demand", |b| {
        b.iter(|| p_demand.fresh_instance().unwrap())
    });
    g.finish();

    // Embedders share their property source / event sink handles: clone, don't allocate.
    let props: Arc<NoProperties> = Arc::new(NoProperties);
    let events: Arc<NoEvents> = Arc::new(NoEvents);
    c.bench_function("stream_lifecycle_create_done_delete", |b| {
        b.iter(|| drop(p.http_stream(props.clone(), events.clone())))
    });

    let mut s = p.http_stream(props.clone(), events.clone());
    let base = headers10();
    c.bench_function("request_headers_10", |b| {
        b.iter(|| {
            let mut h = base.clone();
            black_box(s.on_request_headers(&mut h, false));
        })
    });
    let body = vec![b'a'; 4096];
    c.bench_function("request_body_4k", |b| {
        b.iter(|| {
            let mut chunk = BytesMut::from(&body[..]);
            black_box(s.on_request_body(&mut chunk, false));
        })
    });
    drop(s);

    let dir = std::env::temp_dir().join(format!("microwaf-bench-cache-{}", std::process::id()));
    let cached = Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.clone()),
        ..Default::default()
    })
    .unwrap();
    let wasm = bench_module();
    cached.precompile("bench", &wasm).unwrap();
    let mut g = c.benchmark_group("module_load");
    g.bench_function("from_cache", |b| {
        b.iter(|| cached.precompile("bench", &wasm).unwrap())
    });
    g.sample_size(10);
    g.bench_function("compile", |b| {
        b.iter(|| pooled.precompile("bench", &wasm).unwrap())
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A realistically sized module for the cache bench: a real filter if `MICROWAF_BENCH_WASM`
/// points at one, else the small guest above.
fn bench_module() -> Vec<u8> {
    std::env::var_os("MICROWAF_BENCH_WASM")
        .and_then(|p| std::fs::read(p).ok())
        .unwrap_or_else(|| GUEST.as_bytes().to_vec())
}

criterion_group!(runtime, benches);
criterion_main!(runtime);
