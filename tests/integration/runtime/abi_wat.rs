//! Hand-written WAT fixtures for ABI 0.1.0 and 0.2.0 semantics.

use std::sync::Arc;
use std::time::Duration;

use microwaf_runtime::{AbiVersion, Decision, PluginConfig, StreamType, WasmSource};
use microwaf_tests::fixtures;

use super::harness::*;

fn wat_config(name: &str, plugin_config: &str) -> PluginConfig {
    let mut c = PluginConfig::new(name, WasmSource::Path(fixtures::wat(name)));
    c.plugin_config = bytes::Bytes::copy_from_slice(plugin_config.as_bytes());
    c.vm_count = Some(1);
    c
}

#[test]
fn abi_0_1_0_missing_header_is_ok_and_empty() {
    let emb = FakeEmbedder::new();
    let p = load(wat_config("abi_0_1_0", "cfg010"), &emb);
    assert_eq!(p.abi_version(), AbiVersion::V0_1_0);
    let ex = exchange(&p, request("/", &[]), b"", response("200", &[]), b"");
    let up = ex.upstream_headers.unwrap();
    assert_eq!(get(&up, "x-abi-missing").as_deref(), Some("status=0 len=0"));
    assert_eq!(get(&up, "x-abi-config").as_deref(), Some("cfg010"));
    assert_eq!(
        get(&ex.response_headers, "x-abi-version").as_deref(),
        Some("0.1.0")
    );
    assert!(emb.logged("abi_0_1_0: configure status=0 config=cfg010"));
}

#[test]
fn abi_0_1_0_continue_request_from_a_tick_resumes_the_stream() {
    let emb = FakeEmbedder::new();
    let p = load(wat_config("abi_0_1_0", "pause"), &emb);
    let rec = Arc::new(Recorder::default());
    let mut s = p.http_stream(Arc::new(Props::default()), rec.clone());
    let mut req = request("/", &[]);
    assert_eq!(s.on_request_headers(&mut req, true), Decision::Pause);
    assert!(rec.wait(StreamType::Request, Duration::from_secs(5)));
    assert!(emb.logged(&format!("abi_0_1_0: resumed #{} status=0", s.context_id())));
}

#[test]
fn abi_0_2_0_start_and_wasi_stdout_and_not_found() {
    let emb = FakeEmbedder::new();
    let p = load(wat_config("abi_0_2_0", "cfg020"), &emb);
    assert_eq!(p.abi_version(), AbiVersion::V0_2_0);
    assert!(emb.logged("abi_0_2_0: _start ran"), "{:?}", emb.logs());
    let ex = exchange(&p, request("/", &[]), b"", response("200", &[]), b"");
    let up = ex.upstream_headers.unwrap();
    assert_eq!(get(&up, "x-abi-missing").as_deref(), Some("status=1"));
    assert_eq!(get(&up, "x-abi-config").as_deref(), Some("cfg020"));
    assert_eq!(
        get(&ex.response_headers, "x-abi-version").as_deref(),
        Some("0.2.0")
    );
}
