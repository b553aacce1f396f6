//! One whole HTTP stream through the proxy's own filter layer, in process, no sockets: the
//! wasm factory creates the filter, then request headers (12 headers and the pseudo-headers),
//! response headers (8 headers), a 1 KiB response body with end of stream, `on_log`, drop.
//!
//! Three variants share the harness: no filter (the baseline), the `noop` fixture (the host's
//! own per-stream cost) and the `touch` fixture (reads two request headers, adds a response
//! header). The added cost of a filter is the difference to the baseline of the same run.
//! A counting allocator reports allocations per stream for each variant before the timings.
//! Times are the bench thread's CPU time ([`cpu_time`]), not wall time.

#[path = "stream_lifecycle/cpu_time.rs"]
mod cpu_time;

use std::alloc::{GlobalAlloc, Layout};
use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use cpu_time::CpuTime;
use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use microwaf_proxy::build::LoadCtx;
use microwaf_proxy::config::{DataSource, NodeInfo, WasmPlugin};
use microwaf_proxy::conn::ConnInfo;
use microwaf_proxy::http::filter::{
    HttpFilter, HttpFilterFactory, LogInfo, RequestHead, ResponseHead, StreamInfo, StreamSignal,
};
use microwaf_runtime::{Runtime, RuntimeConfig};
use microwaf_tests::fixtures::{self, Target};

/// The proxy's allocator, counted.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What one stream starts from: the request as hyper hands it over, the upstream response.
struct Input {
    request: RequestHead,
    response: ResponseHead,
    body: Bytes,
    /// Shared by `Arc`, as the service builds it once per stream for every filter.
    info: Arc<StreamInfo>,
}

fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut m = HeaderMap::with_capacity(pairs.len());
    for (k, v) in pairs {
        m.append(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    m
}

fn input() -> Input {
    let request = RequestHead {
        method: Method::GET,
        scheme: "http".into(),
        authority: "svc.internal".into(),
        path: "/api/v1/items?limit=10".into(),
        headers: map(&[
            ("user-agent", "bench/1.0"),
            ("accept", "application/json"),
            ("accept-encoding", "gzip, br"),
            ("accept-language", "en-GB,en;q=0.8"),
            ("x-request-id", "0f8fad5b-d9cb-469f-a165-70867728950e"),
            ("authorization", "Bearer abc.def.ghi"),
            ("content-type", "application/json"),
            ("cookie", "session=3f1c0e; theme=dark"),
            ("x-forwarded-for", "10.0.0.7"),
            ("x-forwarded-proto", "https"),
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("cache-control", "no-cache"),
        ]),
    };
    assert_eq!(request.headers.len(), 12);
    let response = ResponseHead {
        status: StatusCode::OK,
        headers: map(&[
            ("content-type", "application/json"),
            ("content-length", "1024"),
            ("date", "Mon, 07 Dec 2026 12:00:00 GMT"),
            ("server", "upstream"),
            ("cache-control", "private"),
            ("etag", "\"5f2b-1024\""),
            ("vary", "accept-encoding"),
            ("x-upstream-time", "3"),
        ]),
    };
    assert_eq!(response.headers.len(), 8);
    let peer: SocketAddr = "10.0.0.7:40000".parse().unwrap();
    let info = Arc::new(StreamInfo {
        conn: Arc::new(ConnInfo {
            id: 1,
            listener: "bench".into(),
            peer,
            local: "10.0.0.1:8080".parse().unwrap(),
            tls: None,
            listener_metadata: Arc::new(BTreeMap::new()),
        }),
        request_id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
        route_name: Some("default".into()),
        cluster: Some("upstream".into()),
        route_metadata: BTreeMap::new(),
        cluster_metadata: BTreeMap::new(),
        downstream_addr: peer,
    });
    Input {
        request,
        response,
        body: Bytes::from(vec![b'x'; 1024]),
        info,
    }
}

/// One stream as the proxy drives it. The heads are cloned from the input as hyper would hand
/// over fresh ones; that clone is part of every variant, so it cancels out of the differences.
fn stream(factories: &[Arc<dyn HttpFilterFactory>], input: &Input) {
    let mut filters: Vec<Box<dyn HttpFilter>> = factories
        .iter()
        .map(|f| f.create(&input.info, StreamSignal::new()))
        .collect();
    let mut request = input.request.clone();
    for f in &mut filters {
        black_box(f.on_request_headers(&mut request, true));
    }
    let mut response = input.response.clone();
    for f in filters.iter_mut().rev() {
        black_box(f.on_response_headers(&mut response, false));
    }
    let mut body = BytesMut::from(&input.body[..]);
    for f in filters.iter_mut().rev() {
        black_box(f.on_response_body(&mut body, true));
    }
    let log = LogInfo {
        status: response.status.as_u16(),
        bytes_out: body.len() as u64,
        ..Default::default()
    };
    for f in &mut filters {
        f.on_log(&log);
    }
    black_box((request, response, body));
    drop(filters);
}

fn plugin(name: &str) -> WasmPlugin {
    WasmPlugin {
        name: name.into(),
        root_id: String::new(),
        vm_id: String::new(),
        vm_config: Vec::new(),
        plugin_config: Vec::new(),
        code: DataSource::File(fixtures::wasm(name, Target::Unknown)),
        env: BTreeMap::new(),
        fail_open: false,
        vm_count: Some(1),
        singleton: false,
    }
}

fn allocations_per_stream(factories: &[Arc<dyn HttpFilterFactory>], input: &Input) -> f64 {
    const N: u64 = 1000;
    for _ in 0..100 {
        stream(factories, input);
    }
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..N {
        stream(factories, input);
    }
    (ALLOCS.load(Ordering::Relaxed) - before) as f64 / N as f64
}

fn benches(c: &mut Criterion<CpuTime>) {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default()).expect("runtime"));
    let ctx = LoadCtx {
        clusters: Arc::new(HashMap::new()),
        node: Arc::new(NodeInfo::default()),
        handle: tokio.handle().clone(),
        workers: None,
    };
    let mut load = microwaf_proxy::wasm::loader(runtime);
    let mut factory = |name: &str| load(&plugin(name), &ctx).expect("fixture loads");
    let variants: [(&str, Vec<Arc<dyn HttpFilterFactory>>); 3] = [
        ("no_filter", Vec::new()),
        ("noop", vec![factory("noop")]),
        ("touch", vec![factory("touch")]),
    ];
    let input = input();
    for (name, factories) in &variants {
        eprintln!(
            "stream_lifecycle/{name}: {:.1} allocations per stream",
            allocations_per_stream(factories, &input)
        );
    }
    let mut g = c.benchmark_group("stream_lifecycle");
    for (name, factories) in &variants {
        g.bench_function(*name, |b| b.iter(|| stream(factories, &input)));
    }
    g.finish();
}

criterion_group! {
    name = stream_lifecycle;
    config = Criterion::default().with_measurement(CpuTime);
    targets = benches
}
criterion_main!(stream_lifecycle);
