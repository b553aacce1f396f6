//! Hostile guests: loops, traps, recursion, memory bombs, bad pointers, a zero allocator. The
//! host keeps running, other plugins are unaffected, the fail policy applies and a fresh VM
//! replaces the failed one.

use std::sync::Arc;
use std::time::Duration;

use microwaf_runtime::{
    Decision, FailPolicy, Plugin, PluginConfig, RuntimeError, StreamType, TrapKind, WasmSource,
};
use microwaf_tests::fixtures::{self, Target};

use super::harness::*;

pub(super) fn hostile(
    name: &str,
    action: &str,
    callback: &str,
    policy: FailPolicy,
) -> PluginConfig {
    let mut c = PluginConfig::new(name, WasmSource::Path(fixtures::wat("hostile")));
    c.plugin_config = format!("{action} {callback} once").into();
    c.vm_id = format!("hostile-{name}-{action}-{callback}-{policy:?}");
    c.vm_count = Some(1);
    c.fail_policy = policy;
    c.limits.deadline = Duration::from_millis(30);
    c
}

pub(super) fn kind_of(action: &str) -> TrapKind {
    match action {
        "loop" => TrapKind::Deadline,
        "recurse" => TrapKind::StackOverflow,
        _ => TrapKind::Unreachable,
    }
}

/// A full exchange that tolerates the fail policy; returns whether the response carried
/// `x-hostile: alive` and whether it was a 503 local reply.
pub(super) fn attempt(p: &Plugin) -> (bool, bool) {
    let ex = exchange_tolerant(p);
    // A failure in the response body comes after the headers said "alive": then only an
    // intact (fail-open) or replaced (fail-closed) body tells the exchange was affected.
    let body_ok = ex.response_body.as_ref() == b"xyz";
    (
        get(&ex.response_headers, "x-hostile").as_deref() == Some("alive")
            && (body_ok || !ex.local),
        ex.local && ex.status == "503",
    )
}

fn exchange_tolerant(p: &Plugin) -> Exchange {
    let rec = Arc::new(Recorder::default());
    let mut s = p.http_stream(Arc::new(Props::default()), rec.clone());
    let mut out = Exchange::default();
    let mut req = request("/", &[]);
    let reply = |d: Decision, out: &mut Exchange| {
        if let Decision::LocalReply(r) = d {
            out.local = true;
            out.status = r.status.to_string();
            out.response_headers = r.headers;
            true
        } else {
            false
        }
    };
    let d = s.on_request_headers(&mut req, false);
    if d == Decision::Pause {
        rec.wait(StreamType::Request, Duration::from_secs(5));
        if let Some(r) = rec.replies.lock().first().cloned() {
            out.local = true;
            out.status = r.status.to_string();
            return out;
        }
    } else if reply(d, &mut out) {
        return out;
    }
    let mut body = bytes::BytesMut::from(&b"abc"[..]);
    if reply(s.on_request_body(&mut body, false), &mut out) {
        return out;
    }
    let mut trailers = h(&[("x-req-trailer", "1")]);
    if reply(s.on_request_trailers(&mut trailers), &mut out) {
        return out;
    }
    let mut resp = response("200", &[]);
    if reply(s.on_response_headers(&mut resp, false), &mut out) {
        return out;
    }
    out.response_headers = resp;
    let mut body = bytes::BytesMut::from(&b"xyz"[..]);
    let d = s.on_response_body(&mut body, false);
    if let Decision::LocalReply(r) = d {
        out.local = true;
        out.status = r.status.to_string();
    }
    out.response_body = body.freeze();
    if !out.local {
        let mut trailers = h(&[("x-resp-trailer", "1")]);
        if let Decision::LocalReply(r) = s.on_response_trailers(&mut trailers) {
            out.local = true;
            out.status = r.status.to_string();
        }
    }
    out
}

#[test]
fn misbehaving_stream_callbacks_get_the_policy_and_a_fresh_vm() {
    let emb = FakeEmbedder::new().with_cluster(
        "callout",
        Upstream::Reply(microwaf_runtime::CalloutResult {
            headers: h(&[(":status", "200")]),
            ..Default::default()
        }),
    );
    let bystander = load(
        config("bystander", rust("headers", Target::Unknown), ""),
        &emb,
    );
    let callbacks = [
        "on_context_create",
        "on_request_headers",
        "on_request_body",
        "on_request_trailers",
        "on_response_headers",
        "on_response_body",
        "on_response_trailers",
        "on_http_call_response",
        "on_grpc_close",
        "on_queue_ready",
    ];
    // Failures after the response headers said "alive" can only show in the policy.
    let late = ["on_response_body", "on_response_trailers"];
    for action in ["loop", "trap", "recurse", "grow"] {
        for cb in callbacks {
            for policy in [FailPolicy::FailClosed, FailPolicy::FailOpen] {
                let p = load(hostile("hostile", action, cb, policy), &emb);
                let (alive, unavailable) = attempt(&p);
                if !late.contains(&cb) {
                    assert!(!alive, "{action} {cb}: first request must hit the failure");
                }
                assert_eq!(
                    unavailable,
                    policy == FailPolicy::FailClosed,
                    "{action} {cb} {policy:?}"
                );
                let f = p.failures();
                assert_eq!(f.traps_of(kind_of(action)), 1, "{action} {cb}: {f:?}");
                let (alive, _) = attempt(&p);
                assert!(alive, "{action} {cb}: replacement VM must serve request 2");
                assert_eq!(p.failures().vm_replacements, 1);
                // Another plugin in the same runtime is unaffected.
                let ex = exchange(
                    &bystander,
                    request("/", &[]),
                    b"",
                    response("200", &[]),
                    b"",
                );
                assert_eq!(
                    get(&ex.response_headers, "x-fixture-response").as_deref(),
                    Some("1")
                );
            }
        }
    }
}

#[test]
fn misbehaving_end_of_stream_callbacks_are_contained() {
    let emb = FakeEmbedder::new();
    for action in ["loop", "trap"] {
        for cb in ["on_log", "on_done", "on_delete"] {
            let p = load(
                hostile("hostile-end", action, cb, FailPolicy::FailClosed),
                &emb,
            );
            let (alive, _) = attempt(&p);
            assert!(alive, "{action} {cb}: the exchange itself completes");
            assert_eq!(p.failures().traps_of(kind_of(action)), 1, "{action} {cb}");
            assert!(attempt(&p).0, "{action} {cb}: next request served");
        }
    }
}

#[test]
fn misbehaving_tick_is_replaced_in_the_background() {
    let emb = FakeEmbedder::new();
    let p = load(
        hostile("hostile-tick", "loop", "on_tick", FailPolicy::FailOpen),
        &emb,
    );
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while p.failures().vm_replacements == 0 && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(p.failures().traps_of(TrapKind::Deadline), 1);
    assert_eq!(p.failures().vm_replacements, 1);
    assert!(attempt(&p).0);
}

#[test]
fn misbehaving_start_callbacks_fail_the_load_with_a_clear_error() {
    let emb = FakeEmbedder::new();
    for (action, cb) in [
        ("loop", "on_configure"),
        ("trap", "on_vm_start"),
        ("recurse", "on_configure"),
        ("loop", "on_vm_start"),
        ("trap", "on_configure"),
    ] {
        let mut cfg = hostile("hostile-start", action, cb, FailPolicy::FailClosed);
        cfg.plugin_config = format!("{action} {cb}").into();
        if cb == "on_vm_start" {
            cfg.vm_config = cfg.plugin_config.clone();
            cfg.plugin_config = Default::default();
        }
        match runtime().load_plugin(cfg, emb.clone()) {
            Err(RuntimeError::Trapped {
                plugin, kind, logs, ..
            }) => {
                assert_eq!(plugin, "hostile-start");
                assert_eq!(kind, kind_of(action), "{action} {cb}");
                assert!(
                    logs.iter().any(|l| l.contains("hostile: firing")),
                    "{logs:?}"
                );
            }
            Err(e) => panic!("{action} {cb}: unexpected error {e}"),
            Ok(_) => panic!("{action} {cb}: load must fail"),
        }
    }
}

#[test]
fn memory_cap_refuses_huge_growth_without_failing() {
    let emb = FakeEmbedder::new();
    let mut cfg = hostile(
        "hostile-huge",
        "huge",
        "on_request_headers",
        FailPolicy::FailClosed,
    );
    cfg.limits.memory_bytes = 16 << 20;
    let p = load(cfg, &emb);
    assert!(attempt(&p).0);
    assert!(emb.logged("hostile: huge grow refused"), "{:?}", emb.logs());
    assert_eq!(p.failures().total_traps(), 0);
}

#[test]
fn paused_streams_of_a_failing_vm_are_woken_with_the_policy() {
    let emb = FakeEmbedder::new();
    let slow = Upstream::Reply(microwaf_runtime::CalloutResult::default());
    let emb = {
        let e = emb;
        e.clusters.lock().insert(b"callout".to_vec(), slow);
        e
    };
    // The callout response traps; the stream that was paused on it gets a 503.
    let p = load(
        hostile(
            "hostile-wake",
            "trap",
            "on_http_call_response",
            FailPolicy::FailClosed,
        ),
        &emb,
    );
    let rec = Arc::new(Recorder::default());
    let mut s = p.http_stream(Arc::new(Props::default()), rec.clone());
    let mut req = request("/", &[]);
    assert_eq!(s.on_request_headers(&mut req, true), Decision::Pause);
    assert!(rec.wait(StreamType::Request, Duration::from_secs(5)));
    assert_eq!(rec.replies.lock()[0].status, 503);
    let mut resp = response("200", &[]);
    assert!(matches!(
        s.on_response_headers(&mut resp, true),
        Decision::LocalReply(_)
    ));
}

#[test]
fn out_of_bounds_pointers_answer_invalid_memory_access() {
    let emb = FakeEmbedder::new();
    let mut cfg = PluginConfig::new("oob", WasmSource::Path(fixtures::wat("oob")));
    cfg.plugin_config = "x".into();
    cfg.vm_count = Some(1);
    let p = load(cfg, &emb);
    let ex = exchange(&p, request("/", &[]), b"", response("200", &[]), b"");
    assert!(!ex.local);
    let up = ex.upstream_headers.unwrap();
    assert_eq!(get(&up, "x-oob"), None);
    assert_eq!(get(&up, ":path").as_deref(), Some("/"));
    let r = &ex.response_headers;
    assert_eq!(
        get(r, "x-oob-configure").as_deref(),
        Some("get_buffer_ret=6,get_buffer_size_ret=6")
    );
    let want = "log=6,log_wrap=6,get_header_key=6,get_header_ret=6,add_header_value=6,replace_header_key=6,get_pairs_ret=6,set_pairs=6,get_property_path=6,set_shared_key=6,define_metric_name=6,define_metric_ret=6,time_ret=6,http_call_upstream=6,send_local_response_body=6";
    assert_eq!(get(r, "x-oob-request").as_deref(), Some(want));
    assert_eq!(p.failures().total_traps(), 0);
}

#[test]
fn allocator_returning_zero_answers_invalid_memory_access() {
    let emb = FakeEmbedder::new();
    let mut cfg = PluginConfig::new("alloc_zero", WasmSource::Path(fixtures::wat("alloc_zero")));
    cfg.plugin_config = "x".into();
    cfg.vm_count = Some(1);
    let p = load(cfg, &emb);
    let ex = exchange(&p, request("/", &[]), b"", response("200", &[]), b"");
    assert_eq!(
        get(&ex.response_headers, "x-alloc-zero").as_deref(),
        Some("get_buffer=6,get_header=6,get_pairs=6")
    );
    assert!(emb.logged("alloc_zero: configure get_buffer=6"));
    assert_eq!(p.failures().total_traps(), 0);
}
