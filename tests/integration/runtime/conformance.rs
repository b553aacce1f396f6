//! Rust-SDK conformance fixtures, both targets: headers, local reply, body, configuration,
//! context ids, metrics, L4.

use std::sync::Arc;

use bytes::BytesMut;
use microwaf_runtime::{NetworkDecision, NoEvents, PeerType};
use microwaf_tests::fixtures::Target;

use super::harness::*;

#[test]
fn headers_are_iterated_and_mutated_on_all_four_maps() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let p = load(config("headers", rust("headers", t), ""), &emb);
        let req = request(
            "/h",
            &[
                ("x-drop-me", "1"),
                ("x-replace", "old"),
                ("x-remove", "r"),
                ("x-echo", "e1"),
            ],
        );
        let ex = exchange(&p, req, b"", response("201", &[("x-remove", "gone")]), b"");
        let up = ex.upstream_headers.expect("forwarded");
        assert_eq!(get(&up, "x-drop-me"), None, "{t:?}");
        assert_eq!(get(&up, ":path").as_deref(), Some("/h"));
        assert_eq!(get(&up, "x-fixture-added").as_deref(), Some("1"));
        let multi: Vec<_> = up
            .iter()
            .filter(|(k, _)| k.as_ref() == b"x-fixture-multi")
            .collect();
        assert_eq!(multi.len(), 2);
        assert_eq!(get(&up, "x-replace").as_deref(), Some("replaced"));
        assert_eq!(get(&up, "x-remove"), None);
        assert_eq!(get(&up, "x-fixture-missing").as_deref(), Some("none"));
        assert_eq!(get(&up, "x-fixture-num-headers").as_deref(), Some("8"));
        assert_eq!(
            get(&up, "x-fixture-pairs"),
            get(&up, "x-fixture-num-headers")
        );
        assert_eq!(get(&up, "x-fixture-path").as_deref(), Some("/h"));
        let r = &ex.response_headers;
        assert_eq!(get(r, "x-fixture-status").as_deref(), Some("201"));
        assert_eq!(get(r, "x-fixture-echo").as_deref(), Some("e1"));
        assert_eq!(get(r, "x-remove"), None);
        assert!(emb.logged("headers: request :path=/h"), "{:?}", emb.logs());
    }
}

#[test]
fn request_trailers_are_mutated() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let p = load(config("headers", rust("headers", t), ""), &emb);
        let mut s = p.http_stream(Arc::new(Props::default()), Arc::new(NoEvents));
        let mut req = request("/t", &[]);
        s.on_request_headers(&mut req, false);
        let mut tr = h(&[("x-replace", "a"), ("x-remove", "b")]);
        s.on_request_trailers(&mut tr);
        assert_eq!(get(&tr, "x-fixture-trailer").as_deref(), Some("added"));
        assert_eq!(get(&tr, "x-replace").as_deref(), Some("replaced"));
        assert_eq!(get(&tr, "x-remove"), None);
    }
}

/// An embedder may keep its own header map when the filter did not touch it
/// (`HttpStream::map_changed`): a reading filter reports no change, a writing one does, and
/// the map handed back is then the filter's.
#[test]
fn header_callbacks_report_whether_the_filter_changed_the_map() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let noop = load(config("noop", rust("noop", t), ""), &emb);
        let mut s = noop.http_stream(Arc::new(Props::default()), Arc::new(NoEvents));
        let mut req = request("/n", &[("x-replace", "old")]);
        let before = req.clone();
        s.on_request_headers(&mut req, false);
        assert!(!s.map_changed(), "{t:?}: the no-op filter changed nothing");
        assert_eq!(req, before);
        let mut resp = response("200", &[]);
        s.on_response_headers(&mut resp, false);
        assert!(!s.map_changed(), "{t:?}");
        let mut tr = h(&[("x-t", "1")]);
        s.on_response_trailers(&mut tr);
        assert!(!s.map_changed(), "{t:?}: trailers untouched");

        let writer = load(config("headers", rust("headers", t), ""), &emb);
        let mut s = writer.http_stream(Arc::new(Props::default()), Arc::new(NoEvents));
        let mut req = request("/h", &[("x-replace", "old")]);
        s.on_request_headers(&mut req, false);
        assert!(
            s.map_changed(),
            "{t:?}: the headers fixture rewrites the request"
        );
        assert_eq!(get(&req, "x-replace").as_deref(), Some("replaced"));
        let mut tr = h(&[("x-remove", "b")]);
        s.on_request_trailers(&mut tr);
        assert!(
            s.map_changed(),
            "{t:?}: the headers fixture rewrites trailers"
        );
        assert_eq!(get(&tr, "x-remove"), None);
    }
}

#[test]
fn local_reply_passes_the_streams_own_response_headers() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let p = load(config("local_reply", rust("local_reply", t), ""), &emb);
        let ex = exchange(
            &p,
            request("/", &[("x-local-reply", "403")]),
            b"",
            response("200", &[]),
            b"",
        );
        assert!(ex.local, "{t:?}");
        assert_eq!(ex.upstream_headers, None);
        assert_eq!(ex.status, "403");
        assert_eq!(ex.response_body.as_ref(), b"local reply 403\n");
        let r = &ex.response_headers;
        assert_eq!(get(r, "x-local-reply").as_deref(), Some("1"));
        assert_eq!(get(r, "x-seen-status").as_deref(), Some("403"));
        assert_eq!(get(r, "x-seen-local").as_deref(), Some("true"));
        assert_eq!(get(r, "x-seen-content-type").as_deref(), Some("text/plain"));
        assert_eq!(get(r, "x-seen-content-length").as_deref(), Some("16"));
        // Without the trigger the upstream answers and the filter sees that.
        let ex = exchange(&p, request("/", &[]), b"", response("200", &[]), b"");
        assert!(!ex.local);
        assert_eq!(
            get(&ex.response_headers, "x-seen-local").as_deref(),
            Some("false")
        );
    }
}

#[test]
fn local_reply_from_the_body_phase_after_paused_chunks() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let p = load(config("local_reply", rust("local_reply", t), ""), &emb);
        let req = request(
            "/",
            &[("x-local-reply", "418"), ("x-local-reply-phase", "body")],
        );
        let ex = exchange(&p, req, b"some body bytes", response("200", &[]), b"");
        assert!(ex.local);
        assert_eq!(ex.status, "418");
        assert_eq!(
            get(&ex.response_headers, "x-local-phase").as_deref(),
            Some("request_body")
        );
    }
}

#[test]
fn body_pause_accumulates_and_each_rewrite_form_applies() {
    for t in Target::ALL {
        for (op, want) in [
            ("prepend", "[fixture]hello"),
            ("replace", "[fixture]"),
            ("append", "hello[fixture]"),
        ] {
            let emb = FakeEmbedder::new();
            let cfg = format!(r#"{{"request":"{op}","response":"{op}"}}"#);
            let p = load(config("body", rust("body", t), &cfg), &emb);
            let ex = exchange(
                &p,
                request("/", &[]),
                b"hello",
                response("200", &[]),
                b"hello",
            );
            assert_eq!(ex.upstream_body.as_ref(), want.as_bytes(), "{t:?} {op}");
            assert_eq!(ex.response_body.as_ref(), want.as_bytes(), "{t:?} {op}");
            let id = ex.context_id;
            assert!(
                emb.logged(&format!("body: request #{id} complete read=5 text=hello")),
                "{:?}",
                emb.logs()
            );
        }
    }
}

#[test]
fn vm_and_plugin_configuration_reach_the_filter_and_false_fails_the_load() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let mut cfg = config("config", rust("config", t), "plugin-text");
        cfg.vm_config = "vm-text".into();
        let p = load(cfg, &emb);
        let ex = exchange(&p, request("/", &[]), b"", response("200", &[]), b"");
        assert_eq!(
            get(&ex.response_headers, "x-vm-config").as_deref(),
            Some("vm-text")
        );
        assert_eq!(
            get(&ex.response_headers, "x-plugin-config").as_deref(),
            Some("plugin-text")
        );
        assert_eq!(
            get(&ex.response_headers, "x-configure-count").as_deref(),
            Some("1")
        );

        let err = runtime()
            .load_plugin(config("config-bad", rust("config", t), "fail"), emb.clone())
            .err()
            .expect("plugin config `fail` must fail the load");
        let msg = err.to_string();
        assert!(
            msg.contains("config-bad") && msg.contains("proxy_on_configure"),
            "{msg}"
        );
        assert!(msg.contains("config: configure"), "logs missing: {msg}");
        let mut bad_vm = config("config-bad-vm", rust("config", t), "");
        bad_vm.vm_config = "fail".into();
        let err = runtime()
            .load_plugin(bad_vm, emb.clone())
            .err()
            .expect("vm config fail");
        assert!(err.to_string().contains("proxy_on_vm_start"), "{err}");
    }
}

#[test]
fn context_ids_start_at_one_per_vm() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let p = load(config("context_ids", rust("context_ids", t), ""), &emb);
        let a = exchange(&p, request("/", &[]), b"", response("200", &[]), b"");
        let b = exchange(&p, request("/", &[]), b"", response("200", &[]), b"");
        assert_eq!(
            get(&a.response_headers, "x-root-context-id").as_deref(),
            Some("1")
        );
        assert_eq!(
            get(&a.response_headers, "x-context-id").as_deref(),
            Some("2")
        );
        assert_eq!(
            get(&b.response_headers, "x-context-id").as_deref(),
            Some("3")
        );
        assert!(emb.logged("context_ids: root context #1"));
    }
}

#[test]
fn metrics_count_per_request_and_gauge_returns_to_zero() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let p = load(config("metrics", rust("metrics", t), ""), &emb);
        for n in 1..=3 {
            let mut s = p.http_stream(Arc::new(Props::default()), Arc::new(NoEvents));
            let ex = run_exchange(&mut s, request("/", &[]), b"", response("200", &[]), b"");
            drop(s);
            assert_eq!(
                get(&ex.response_headers, "x-metric-requests"),
                Some(n.to_string())
            );
            assert_eq!(
                get(&ex.response_headers, "x-metric-inflight").as_deref(),
                Some("1")
            );
        }
        assert!(emb.logged(
            "metrics: probes record_gauge=Ok counter_increment_zero=BadArgument counter_increment_negative=BadArgument gauge_value=42"
        ), "{:?}", emb.logs());
        let snap = p.metrics();
        let names: Vec<_> = snap.iter().map(|m| m.name.clone()).collect();
        assert!(
            names.contains(&"fixture_requests_total".to_string()),
            "{names:?}"
        );
    }
}

#[test]
fn l4_rewrites_both_directions_and_sees_closes() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let p = load(config("l4", rust("l4", t), ""), &emb);
        let mut c = p.network_stream(Arc::new(Props::default()), Arc::new(NoEvents));
        let id = c.context_id();
        assert_eq!(c.on_new_connection(), NetworkDecision::Continue);
        let mut down = BytesMut::from(&b"ping"[..]);
        assert_eq!(
            c.on_downstream_data(&mut down, false),
            NetworkDecision::Continue
        );
        assert_eq!(&down[..], b"PING");
        let mut up = BytesMut::from(&b"PING"[..]);
        assert_eq!(
            c.on_upstream_data(&mut up, false),
            NetworkDecision::Continue
        );
        assert_eq!(&up[..], b"l4:PING");
        c.on_downstream_close(PeerType::Remote);
        c.on_upstream_close(PeerType::Local);
        drop(c);
        assert!(emb.logged(&format!("l4: new connection #{id}")));
        assert!(
            emb.logged(&format!("l4: downstream close #{id} peer=remote")),
            "{:?}",
            emb.logs()
        );
        assert!(emb.logged(&format!("l4: upstream close #{id} peer=local")));
    }
}

#[test]
fn properties_resolve_attributes_legacy_names_and_set_property() {
    use microwaf_runtime::Value;
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let mut cfg = config("properties", rust("properties", t), "");
        cfg.root_id = "root-x".into();
        cfg.vm_id = "vm-x".into();
        let p = load(cfg, &emb);
        let mut props = Props::default();
        for (k, v) in [
            ("request.path", Value::Str("/p?q=1".into())),
            ("source.address", Value::Str("10.0.0.1:5555".into())),
            ("source.port", Value::Int(5555)),
            ("xds.cluster_name", Value::Str("backend".into())),
            ("connection.mtls", Value::Bool(false)),
        ] {
            props.0.insert(k.into(), v);
        }
        let mut s = p.http_stream(Arc::new(props), Arc::new(NoEvents));
        let ex = run_exchange(
            &mut s,
            request("/p?q=1", &[("x-set-property", "v1")]),
            b"",
            response("200", &[]),
            b"",
        );
        let r = &ex.response_headers;
        assert_eq!(
            get(r, "x-prop-request.path").as_deref(),
            Some("/p?q=1"),
            "{t:?}"
        );
        assert_eq!(
            get(r, "x-prop-source.address").as_deref(),
            Some("10.0.0.1:5555")
        );
        assert_eq!(
            get(r, "x-prop-source.port").as_deref(),
            Some("hex:b315000000000000")
        );
        assert_eq!(get(r, "x-prop-connection.mtls").as_deref(), Some("hex:00"));
        assert_eq!(
            get(r, "x-prop-xds.cluster_name").as_deref(),
            Some("backend")
        );
        assert_eq!(
            get(r, "x-prop-cluster_name").as_deref(),
            Some("backend"),
            "legacy name"
        );
        assert_eq!(get(r, "x-prop-plugin_root_id").as_deref(), Some("root-x"));
        assert_eq!(get(r, "x-prop-plugin_vm_id").as_deref(), Some("vm-x"));
        assert_eq!(
            get(r, "x-prop-xds.route_name").as_deref(),
            Some("<missing>")
        );
        assert_eq!(get(r, "x-prop-set-readback").as_deref(), Some("v1"));
        assert!(emb.logged("properties: root plugin_root_id=root-x"));
    }
}

#[test]
fn foreign_functions_compress_declare_set_filter_state_and_reject_unknown() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new();
        let p = load(config("foreign", rust("foreign", t), ""), &emb);
        let ex = exchange(&p, request("/", &[]), b"", response("200", &[]), b"");
        let r = &ex.response_headers;
        assert_eq!(get(r, "x-foreign-compress").as_deref(), Some("Ok"), "{t:?}");
        assert_eq!(get(r, "x-foreign-roundtrip").as_deref(), Some("ok"));
        assert_eq!(
            get(r, "x-foreign-uncompress-garbage").as_deref(),
            Some("SerializationFailure")
        );
        assert_eq!(get(r, "x-foreign-unknown").as_deref(), Some("NotFound"));
        assert_eq!(get(r, "x-foreign-declare").as_deref(), Some("Ok"));
        assert_eq!(
            get(r, "x-foreign-declare-garbage").as_deref(),
            Some("BadArgument")
        );
        assert_eq!(
            get(r, "x-foreign-declared-readback").as_deref(),
            Some("declared-value")
        );
        // set_envoy_filter_state: Envoy's rule, a key needs a registered object factory.
        assert_eq!(get(r, "x-foreign-filter-state").as_deref(), Some("Ok"));
        assert_eq!(
            get(r, "x-foreign-filter-state-unknown").as_deref(),
            Some("NotFound")
        );
        assert_eq!(
            get(r, "x-foreign-filter-state-garbage").as_deref(),
            Some("BadArgument")
        );
    }
}

#[test]
fn paused_body_over_the_buffer_limit_is_answered_413() {
    let emb = FakeEmbedder::new();
    let mut cfg = config("body", rust("body", Target::Unknown), "");
    cfg.limits.buffer_bytes = 8;
    let p = load(cfg, &emb);
    let mut s = p.http_stream(Arc::new(Props::default()), Arc::new(NoEvents));
    let mut req = request("/", &[]);
    assert_eq!(
        s.on_request_headers(&mut req, false),
        microwaf_runtime::Decision::Continue
    );
    let mut chunk = BytesMut::from(&b"12345"[..]);
    assert_eq!(
        s.on_request_body(&mut chunk, false),
        microwaf_runtime::Decision::Pause
    );
    let mut chunk = BytesMut::from(&b"67890"[..]);
    match s.on_request_body(&mut chunk, false) {
        microwaf_runtime::Decision::LocalReply(r) => assert_eq!(r.status, 413),
        d => panic!("expected 413, got {d:?}"),
    }
}
