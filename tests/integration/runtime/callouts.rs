//! HTTP and gRPC callouts against the fake embedder: responses reach the root context and are
//! readable after `set_effective_context`; resets give zeros and BrokenConnection.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use microwaf_runtime::{CalloutResult, Decision, Headers, StreamType};
use microwaf_tests::fixtures::Target;

use super::harness::*;

fn upstream_reply() -> CalloutResult {
    CalloutResult {
        headers: h(&[(":status", "202"), ("x-from-callout", "yes")]),
        body: Bytes::from_static(b"callout says hi"),
        ..Default::default()
    }
}

/// Sends request headers, expects Pause, waits for the wake-up, then runs response headers.
fn paused_exchange(
    p: &microwaf_runtime::Plugin,
    extra: &[(&str, &str)],
) -> (Arc<Recorder>, Option<Headers>) {
    let rec = Arc::new(Recorder::default());
    let mut s = p.http_stream(Arc::new(Props::default()), rec.clone());
    let mut req = request("/", extra);
    assert_eq!(s.on_request_headers(&mut req, true), Decision::Pause);
    assert!(
        rec.wait(StreamType::Request, Duration::from_secs(5)),
        "no wake-up"
    );
    if !rec.replies.lock().is_empty() {
        return (rec, None);
    }
    let mut resp = response("200", &[]);
    assert_eq!(s.on_response_headers(&mut resp, true), Decision::Continue);
    (rec, Some(resp))
}

#[test]
fn http_callout_response_is_readable_and_resumes_the_stream() {
    for t in Target::ALL {
        for up in [
            Upstream::Reply(upstream_reply()),
            Upstream::ReplyInline(upstream_reply()),
        ] {
            let emb = FakeEmbedder::new().with_cluster("callout", up);
            let p = load(config("callouts", rust("callouts", t), ""), &emb);
            let (_, resp) = paused_exchange(&p, &[]);
            let resp = resp.expect("resumed, not replied");
            assert_eq!(
                get(&resp, "x-callout-status").as_deref(),
                Some("202"),
                "{t:?}"
            );
            assert_eq!(
                get(&resp, "x-callout-header-x-from-callout").as_deref(),
                Some("yes")
            );
            assert_eq!(
                get(&resp, "x-callout-body").as_deref(),
                Some("callout says hi")
            );
            let sent = emb.http_requests.lock()[0].clone();
            assert_eq!(get(&sent.headers, ":path").as_deref(), Some("/callout"));
            assert_eq!(sent.body.as_ref(), b"callout request body");
        }
    }
}

#[test]
fn http_callout_reply_mode_answers_through_the_stream_events() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new().with_cluster("callout", Upstream::Reply(upstream_reply()));
        let p = load(config("callouts", rust("callouts", t), ""), &emb);
        let (rec, _) = paused_exchange(&p, &[("x-callout-mode", "reply")]);
        let reply = rec.replies.lock()[0].clone();
        assert_eq!(reply.status, 202);
        assert_eq!(reply.body.as_ref(), b"callout says hi");
    }
}

#[test]
fn reset_callout_reads_broken_connection_and_not_found() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new().with_cluster("callout", Upstream::Reset);
        let p = load(config("callouts", rust("callouts", t), ""), &emb);
        let (_, resp) = paused_exchange(&p, &[]);
        let resp = resp.expect("resumed");
        assert_eq!(
            get(&resp, "x-callout-failed").as_deref(),
            Some("11"),
            "{t:?}"
        );
        assert_eq!(
            get(&resp, "x-callout-reset-status").as_deref(),
            Some("none")
        );
        assert_eq!(get(&resp, "x-callout-reset-body").as_deref(), Some("none"));
    }
}

#[test]
fn callout_to_an_unknown_cluster_or_without_path_fails_the_dispatch() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new().with_cluster("callout", Upstream::Reply(upstream_reply()));
        let p = load(config("callouts", rust("callouts", t), ""), &emb);
        for extra in [[("x-callout-cluster", "nowhere")], [("x-callout-bad", "1")]] {
            let ex = exchange(&p, request("/", &extra), b"", response("200", &[]), b"");
            assert!(ex.local, "{t:?} {extra:?}");
            assert_eq!(ex.status, "500");
            assert_eq!(
                get(&ex.response_headers, "x-callout-dispatch").as_deref(),
                Some("BadArgument")
            );
        }
    }
}

#[test]
fn grpc_callout_response_reaches_the_filter() {
    for t in Target::ALL {
        let reply = CalloutResult {
            body: Bytes::from_static(b"pong"),
            grpc_status: 0,
            ..Default::default()
        };
        let emb = FakeEmbedder::new().with_cluster("callout", Upstream::Reply(reply));
        let p = load(config("callouts", rust("callouts", t), ""), &emb);
        let (_, resp) = paused_exchange(&p, &[("x-callout-kind", "grpc")]);
        let resp = resp.expect("resumed");
        assert_eq!(get(&resp, "x-grpc-status").as_deref(), Some("0"), "{t:?}");
        assert_eq!(get(&resp, "x-grpc-body").as_deref(), Some("pong"));
        let sent = emb.grpc_requests.lock()[0].clone();
        assert_eq!(sent.message.as_ref(), b"ping");
        assert_eq!(sent.service.as_ref(), b"fixture.Echo");
    }
}

#[test]
fn grpc_stream_sends_messages_and_receives_every_callback() {
    for t in Target::ALL {
        let emb = FakeEmbedder::new().with_cluster("callout", Upstream::Reply(upstream_reply()));
        let p = load(config("callouts", rust("callouts", t), ""), &emb);
        let extra = [
            ("x-callout-kind", "grpc_stream"),
            ("x-grpc-message", "a,b,c"),
        ];
        let (_, resp) = paused_exchange(&p, &extra);
        let resp = resp.expect("resumed, not replied");
        let got = |n: &str| get(&resp, n);
        assert_eq!(got("x-grpc-stream-status").as_deref(), Some("0"), "{t:?}");
        assert_eq!(got("x-grpc-stream-status-message").as_deref(), Some("done"));
        assert_eq!(got("x-grpc-stream-messages").as_deref(), Some("3"));
        assert_eq!(
            got("x-grpc-stream-body").as_deref(),
            Some("echo:a,echo:b,echo:c")
        );
        assert_eq!(
            got("x-grpc-stream-initial-x-stream-md").as_deref(),
            Some("1")
        );
        assert_eq!(
            got("x-grpc-stream-trailer-x-stream-trailer").as_deref(),
            Some("t")
        );
        // What the upstream saw: the stream's method and metadata, then each message, the last
        // one ending the stream.
        let opened = emb.grpc_streams.lock()[0].clone();
        assert_eq!(opened.service.as_ref(), b"fixture.Echo");
        assert_eq!(
            get(&opened.initial_metadata, "x-fixture-md").as_deref(),
            Some("1")
        );
        let sent = emb.grpc_stream_sent.lock().clone();
        let expect: Vec<(Bytes, bool)> = [("a", false), ("b", false), ("c", true)]
            .iter()
            .map(|(m, e)| (Bytes::copy_from_slice(m.as_bytes()), *e))
            .collect();
        assert_eq!(sent, expect);
    }
}

#[test]
fn reset_grpc_stream_closes_with_unavailable() {
    let emb = FakeEmbedder::new().with_cluster("callout", Upstream::Reset);
    let p = load(
        config("callouts", rust("callouts", Target::Unknown), ""),
        &emb,
    );
    let (_, resp) = paused_exchange(&p, &[("x-callout-kind", "grpc_stream")]);
    let resp = resp.expect("resumed");
    assert_eq!(get(&resp, "x-grpc-stream-status").as_deref(), Some("14"));
    assert_eq!(get(&resp, "x-grpc-stream-messages").as_deref(), Some("0"));
}

#[test]
fn grpc_stream_to_an_unknown_cluster_fails_the_dispatch() {
    let emb = FakeEmbedder::new();
    let p = load(
        config("callouts", rust("callouts", Target::Unknown), ""),
        &emb,
    );
    let req = request("/", &[("x-callout-kind", "grpc_stream")]);
    let ex = exchange(&p, req, b"", response("200", &[]), b"");
    assert!(ex.local);
    assert_eq!(
        get(&ex.response_headers, "x-callout-dispatch").as_deref(),
        Some("ParseFailure")
    );
}
