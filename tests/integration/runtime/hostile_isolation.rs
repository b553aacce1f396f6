//! More hostile guests: the L4 callbacks, a plugin's other VMs while one fails, fail-open
//! wake-ups of paused streams, and the replacement backoff under repeated failures.

use std::sync::Arc;
use std::time::Duration;

use microwaf_runtime::{
    Decision, FailPolicy, NetworkDecision, PeerType, Plugin, StreamType, TrapKind,
};

use super::harness::*;
use super::hostile::{attempt, hostile, kind_of};

/// One L4 connection through every network callback; returns the decisions of new connection,
/// downstream data and upstream data, and the data that came through.
fn connection(p: &Plugin) -> (Vec<NetworkDecision>, Vec<u8>, Vec<u8>) {
    let mut c = p.network_stream(Arc::new(Props::default()), Arc::new(Recorder::default()));
    let mut decisions = vec![c.on_new_connection()];
    let mut down = bytes::BytesMut::from(&b"down"[..]);
    decisions.push(c.on_downstream_data(&mut down, false));
    let mut up = bytes::BytesMut::from(&b"up"[..]);
    decisions.push(c.on_upstream_data(&mut up, false));
    c.on_downstream_close(PeerType::Remote);
    c.on_upstream_close(PeerType::Local);
    c.finish();
    (decisions, down.to_vec(), up.to_vec())
}

#[test]
fn misbehaving_network_callbacks_get_the_policy_and_a_fresh_vm() {
    let emb = FakeEmbedder::new();
    let callbacks = [
        "on_new_connection",
        "on_downstream_data",
        "on_upstream_data",
        "on_downstream_connection_close",
        "on_upstream_connection_close",
    ];
    for action in ["loop", "trap"] {
        for (i, cb) in callbacks.into_iter().enumerate() {
            for policy in [FailPolicy::FailClosed, FailPolicy::FailOpen] {
                let p = load(hostile("hostile-l4", action, cb, policy), &emb);
                let (decisions, down, up) = connection(&p);
                let f = p.failures();
                assert_eq!(
                    f.traps_of(kind_of(action)),
                    1,
                    "{action} {cb}: {f:?} {:?}",
                    emb.logs()
                );
                // Data callbacks from the failing one on get the policy; data stays intact.
                let want = match policy {
                    FailPolicy::FailClosed => NetworkDecision::Close,
                    FailPolicy::FailOpen => NetworkDecision::Continue,
                };
                for (k, d) in decisions.iter().enumerate() {
                    let expect = if k >= i {
                        want
                    } else {
                        NetworkDecision::Continue
                    };
                    assert_eq!(*d, expect, "{action} {cb} {policy:?} callback {k}");
                }
                assert_eq!((&down[..], &up[..]), (&b"down"[..], &b"up"[..]));
                // The replacement serves the next connection normally.
                let (decisions, _, _) = connection(&p);
                assert!(decisions.iter().all(|d| *d == NetworkDecision::Continue));
                assert_eq!(p.failures().total_traps(), 1, "{action} {cb}");
                assert_eq!(p.failures().vm_replacements, 1);
            }
        }
    }
}

#[test]
fn a_failing_vm_leaves_the_plugins_other_vms_serving() {
    let emb = FakeEmbedder::new();
    let mut cfg = hostile(
        "hostile-multi",
        "trap",
        "on_response_headers",
        FailPolicy::FailClosed,
    );
    cfg.vm_count = Some(2);
    let p = load(cfg, &emb);
    // In flight on VM 1 before VM 0 fails.
    let mut other = p.http_stream_on(1, Arc::new(Props::default()), Arc::new(Recorder::default()));
    let mut req = request("/", &[]);
    assert_eq!(other.on_request_headers(&mut req, true), Decision::Continue);

    let mut failing =
        p.http_stream_on(0, Arc::new(Props::default()), Arc::new(Recorder::default()));
    let id = failing.context_id();
    let mut req = request("/", &[]);
    assert_eq!(
        failing.on_request_headers(&mut req, true),
        Decision::Continue
    );
    let mut resp = response("200", &[]);
    match failing.on_response_headers(&mut resp, true) {
        Decision::LocalReply(r) => assert_eq!(r.status, 503),
        d => panic!("fail-closed expected, got {d:?}"),
    }
    assert_eq!(p.live_vms(), 1, "only VM 0 was discarded");
    // The failure log names the plugin and the context it happened in.
    assert!(
        emb.logged(&format!(
            "[Error] hostile-multi#{id}: VM failed (unreachable)"
        )),
        "{:?}",
        emb.logs()
    );
    // VM 1's in-flight stream completes normally (the once marker keeps it from failing).
    let mut resp = response("200", &[]);
    assert_eq!(
        other.on_response_headers(&mut resp, true),
        Decision::Continue
    );
    assert_eq!(get(&resp, "x-hostile").as_deref(), Some("alive"));
    assert!(!other.is_failed());
    assert_eq!(p.failures().total_traps(), 1);
}

#[test]
fn fail_open_wakes_paused_streams_with_their_data() {
    let emb = FakeEmbedder::new().with_cluster(
        "callout",
        Upstream::Reply(microwaf_runtime::CalloutResult::default()),
    );
    let p = load(
        hostile(
            "hostile-wake-open",
            "trap",
            "on_http_call_response",
            FailPolicy::FailOpen,
        ),
        &emb,
    );
    let rec = Arc::new(Recorder::default());
    let mut s = p.http_stream(Arc::new(Props::default()), rec.clone());
    let mut req = request("/wake", &[]);
    assert_eq!(s.on_request_headers(&mut req, false), Decision::Pause);
    // Body arriving while paused is kept by the runtime.
    let mut body = bytes::BytesMut::from(&b"held"[..]);
    assert_eq!(s.on_request_body(&mut body, true), Decision::Pause);
    assert!(rec.wait(StreamType::Request, Duration::from_secs(5)));
    assert!(
        rec.replies.lock().is_empty(),
        "fail-open resumes, never replies"
    );
    assert!(rec.resumed.lock().contains(&StreamType::Request));
    assert_eq!(p.failures().traps_of(TrapKind::Unreachable), 1);
    // Re-driving the paused body hands back everything that was held, untouched.
    let mut again = bytes::BytesMut::new();
    assert_eq!(s.on_request_body(&mut again, true), Decision::Continue);
    assert_eq!(&again[..], b"held");
    let mut resp = response("200", &[]);
    assert_eq!(s.on_response_headers(&mut resp, true), Decision::Continue);
    assert_eq!(get(&resp, "x-hostile"), None, "the plugin no longer runs");
}

#[test]
fn repeated_failures_back_off_before_each_replacement() {
    let emb = FakeEmbedder::new();
    let mut cfg = hostile(
        "hostile-backoff",
        "trap",
        "on_request_headers",
        FailPolicy::FailClosed,
    );
    cfg.plugin_config = "trap on_request_headers".into(); // every time, not once
    let p = load(cfg, &emb);
    let start = std::time::Instant::now();
    let mut attempts = 0u64;
    while start.elapsed() < Duration::from_millis(300) {
        let (_, unavailable) = attempt(&p);
        assert!(unavailable, "fail-closed answers every attempt");
        attempts += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    let f = p.failures();
    // Without backoff every attempt would start a VM and trap. With 0, 10, 20, 40, 80, 160 ms
    // between replacements only a handful fit in 300 ms.
    assert!(attempts >= 50, "{attempts} attempts");
    assert!(f.total_traps() >= 3, "replacements keep being tried: {f:?}");
    assert!(f.total_traps() <= 8, "{f:?} after {attempts} attempts");
    assert_eq!(f.vm_replacements + 1, f.total_traps(), "{f:?}");
}
