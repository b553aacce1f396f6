//! Plugin and VM lifecycle: deferred deletion (`proxy_on_done` false → `proxy_done`), Envoy's
//! extra callbacks (configuration validation, metadata, foreign-function callbacks), modules
//! the loader must refuse or contain (memory bomb, unknown imports), and singletons.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use microwaf_runtime::{Decision, FailPolicy, PluginConfig, RuntimeError, WasmSource};
use microwaf_tests::fixtures::{self, Target};

use super::harness::*;

fn wat_config(name: &str, plugin_config: &str) -> PluginConfig {
    let mut c = PluginConfig::new(name, WasmSource::Path(fixtures::wat(name)));
    c.plugin_config = Bytes::copy_from_slice(plugin_config.as_bytes());
    c.vm_count = Some(1);
    c
}

/// Index of the first log line containing `needle`.
fn line_of(emb: &FakeEmbedder, needle: &str) -> Option<usize> {
    emb.logs().iter().position(|l| l.contains(needle))
}

#[test]
fn root_on_done_false_defers_on_delete_until_proxy_done() {
    let emb = FakeEmbedder::new();
    let p = load(wat_config("done_deferred", ""), &emb);
    // Nothing is pending while the plugin runs.
    assert!(
        emb.logged("done_deferred: configure done=1"),
        "{:?}",
        emb.logs()
    );
    // A stream's on_done result is ignored (Envoy): on_delete follows at once.
    let s = p.http_stream(Arc::new(Props::default()), Arc::new(Recorder::default()));
    let id = s.context_id();
    s.finish();
    assert!(emb.logged(&format!("done_deferred: stream on_done #{id}")));
    assert!(emb.logged(&format!("done_deferred: delete #{id}")));

    // An in-flight stream keeps the plugin's VMs: shutdown starts when it ends.
    let mut live = p.http_stream(Arc::new(Props::default()), Arc::new(Recorder::default()));
    drop(p);
    assert!(!emb.logged("done_deferred: root on_done deferred"));
    let mut req = request("/", &[]);
    assert_eq!(live.on_request_headers(&mut req, true), Decision::Continue);
    assert!(!live.is_failed());
    live.finish();
    assert!(emb.logged("done_deferred: root on_done deferred"));
    assert!(
        !emb.logged("done_deferred: delete #1"),
        "on_delete must wait for proxy_done: {:?}",
        emb.logs()
    );
    // The draining VM keeps ticking; its tick calls proxy_done (Ok, then NotFound).
    assert!(
        emb.wait_for("done_deferred: delete #1", Duration::from_secs(5)),
        "{:?}",
        emb.logs()
    );
    let tick = line_of(&emb, "done_deferred: tick done=0 again=1").expect("tick ran");
    let delete = line_of(&emb, "done_deferred: delete #1").expect("deleted");
    assert!(tick < delete, "{:?}", emb.logs());
    // Deleted means gone: no more ticks.
    std::thread::sleep(Duration::from_millis(60));
    let ticks = emb
        .logs()
        .iter()
        .filter(|l| l.contains("tick done="))
        .count();
    assert_eq!(ticks, 1, "{:?}", emb.logs());
}

#[test]
fn validate_configuration_rejects_an_invalid_config_with_its_logs() {
    let emb = FakeEmbedder::new();
    let err = runtime()
        .load_plugin(wat_config("envoy_extras", "invalid"), emb.clone())
        .err()
        .expect("an invalid configuration is rejected");
    match &err {
        RuntimeError::Rejected { callback, logs, .. } => {
            assert_eq!(*callback, "proxy_validate_configuration");
            assert!(
                logs.iter()
                    .any(|l| l.contains("envoy_extras: validate config=invalid -> 0")),
                "{logs:?}"
            );
        }
        other => panic!("expected Rejected, got {other}"),
    }
    assert!(err.to_string().contains("validate config=invalid -> 0"));

    let _ok = load(wat_config("envoy_extras", "{\"fine\":1}"), &emb);
    assert!(emb.logged("envoy_extras: validate config={\"fine\":1} -> 1"));
}

#[test]
fn metadata_and_foreign_function_callbacks_reach_the_guest() {
    let emb = FakeEmbedder::new();
    let p = load(wat_config("envoy_extras", ""), &emb);
    let mut s = p.http_stream(Arc::new(Props::default()), Arc::new(Recorder::default()));
    let id = s.context_id();
    let mut req = request("/", &[]);
    assert_eq!(s.on_request_headers(&mut req, false), Decision::Continue);
    s.on_request_metadata(3);
    s.on_response_metadata(1);
    assert!(emb.logged(&format!("envoy_extras: request metadata #{id} elements=3")));
    assert!(emb.logged(&format!("envoy_extras: response metadata #{id} elements=1")));

    p.on_foreign_function(7, Bytes::from_static(b"hello"));
    assert!(
        emb.wait_for(
            "envoy_extras: foreign function root #1 id=7 size=5",
            Duration::from_secs(5)
        ),
        "{:?}",
        emb.logs()
    );
}

#[test]
fn huge_initial_memory_is_refused_under_the_memory_cap() {
    let emb = FakeEmbedder::new();
    let err = runtime()
        .load_plugin(wat_config("huge_memory", ""), emb)
        .err()
        .expect("a 2 GiB initial memory cannot load under a 128 MiB cap");
    match &err {
        RuntimeError::MemoryCap { needed, cap, .. } => {
            assert_eq!(*needed, 32768 * 65536);
            assert_eq!(*cap, 128 << 20);
        }
        other => panic!("expected MemoryCap, got {other}"),
    }
    let text = err.to_string();
    assert!(text.contains("huge_memory"), "{text}");
    assert!(text.contains("exceeds the per-VM memory cap"), "{text}");
}

#[test]
fn unknown_imports_load_and_calling_one_traps_only_its_own_vm() {
    let emb = FakeEmbedder::new();
    // Loading never fails on a missing import; without `call` it is an ordinary filter.
    let quiet = load(wat_config("unknown_import", ""), &emb);
    let ex = exchange(&quiet, request("/", &[]), b"", response("200", &[]), b"");
    let up = ex.upstream_headers.expect("forwarded");
    assert_eq!(get(&up, "x-unknown-import").as_deref(), Some("loaded"));

    let mut cfg = wat_config("unknown_import", "call");
    cfg.vm_count = Some(2);
    cfg.fail_policy = FailPolicy::FailClosed;
    let p = load(cfg, &emb);
    // A stream on the other VM, opened before the trap, is not affected by it.
    let mut bystander =
        p.http_stream_on(1, Arc::new(Props::default()), Arc::new(Recorder::default()));
    let mut caller = p.http_stream_on(0, Arc::new(Props::default()), Arc::new(Recorder::default()));
    let mut req = request("/", &[]);
    match caller.on_request_headers(&mut req, true) {
        Decision::LocalReply(r) => assert_eq!(r.status, 503),
        d => panic!("fail-closed expected, got {d:?}"),
    }
    assert!(caller.is_failed());
    let traps: u64 = p.failures().traps.iter().map(|(_, n)| n).sum();
    assert_eq!(traps, 1, "{:?}", p.failures());
    assert_eq!(p.live_vms(), 1, "only the calling VM was discarded");
    assert!(!bystander.is_failed());
    let mut resp = response("200", &[]);
    assert_eq!(
        bystander.on_response_headers(&mut resp, true),
        Decision::Continue
    );
    assert!(!bystander.is_failed());
    // The other plugin loaded from the same module is untouched.
    let ex = exchange(&quiet, request("/", &[]), b"", response("200", &[]), b"");
    assert!(!ex.local);
}

#[test]
fn singleton_runs_exactly_one_vm() {
    let emb = FakeEmbedder::new();
    let mut cfg = config("noop", rust("noop", Target::Unknown), "");
    cfg.singleton = true;
    cfg.vm_count = Some(4);
    let p = load(cfg, &emb);
    assert_eq!(p.vm_count(), 1);
    assert_eq!(p.live_vms(), 1);
    // Every stream lands in that one VM: its context ids keep counting up.
    let streams: Vec<_> = (0..3)
        .map(|_| p.http_stream(Arc::new(Props::default()), Arc::new(Recorder::default())))
        .collect();
    let ids: Vec<u32> = streams.iter().map(|s| s.context_id()).collect();
    assert_eq!(ids, [2, 3, 4]);

    // The same config without `singleton` spreads streams over four VMs (first stream of each
    // VM is #2), so the check above can fail.
    let mut cfg = config("noop", rust("noop", Target::Unknown), "");
    cfg.vm_count = Some(4);
    let p = load(cfg, &emb);
    assert_eq!(p.live_vms(), 4);
    let streams: Vec<_> = (0..3)
        .map(|_| p.http_stream(Arc::new(Props::default()), Arc::new(Recorder::default())))
        .collect();
    assert!(streams.iter().all(|s| s.context_id() == 2));
}
