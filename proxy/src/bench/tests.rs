//! The load generator against the built-in upstream, over every protocol, on loopback.

use std::time::Duration;

use super::load::{self, LoadSpec};
use super::upstream::{ResponseSpec, Upstream};
use super::{Content, Protocol};

fn upstream(body_size: usize) -> Upstream {
    let spec = ResponseSpec {
        content: Content::JsonSensitive,
        body_size,
    };
    Upstream::start("127.0.0.1:0".parse().unwrap(), &spec, 1).unwrap()
}

async fn drive(
    up: &Upstream,
    protocol: Protocol,
    streams: usize,
    rate: Option<f64>,
) -> load::LoadResult {
    load::run(LoadSpec {
        addr: up.addr(),
        protocol,
        connections: 2,
        streams,
        warmup: Duration::from_millis(100),
        duration: Duration::from_millis(300),
        rate,
        hbone: None,
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn every_protocol_completes_requests_with_full_bodies() {
    let up = upstream(4096);
    for (protocol, streams) in [
        (Protocol::Http1, 1),
        (Protocol::Http2, 4),
        (Protocol::Grpc, 2),
    ] {
        let r = drive(&up, protocol, streams, None).await;
        assert!(r.completed > 10, "{protocol:?}: {} completed", r.completed);
        assert_eq!((r.errors, r.non_2xx), (0, 0), "{protocol:?}");
        // gRPC adds the 5-byte frame header and the protobuf field's tag and length.
        let per = if protocol == Protocol::Grpc {
            4096 + 5 + 3
        } else {
            4096
        };
        assert_eq!(r.bytes, r.completed * per, "{protocol:?}");
        assert_eq!(r.latency_raw.len(), r.completed);
        // The corrected histogram only ever adds samples.
        assert!(r.latency.len() >= r.completed);
        assert!(r.latency.value_at_quantile(0.5) > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn constant_rate_mode_holds_the_rate() {
    let up = upstream(128);
    let r = drive(&up, Protocol::Http1, 1, Some(200.0)).await;
    // 200 req/s for 0.3 s: 60 requests, give or take the window edges.
    // A closed loop would complete thousands; the lower bound leaves room for a busy machine.
    assert!(
        (20..=70).contains(&r.completed),
        "{} completed",
        r.completed
    );
    assert_eq!(
        r.latency.len(),
        r.completed,
        "no correction in constant-rate mode"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn unreachable_target_is_a_connect_error() {
    let addr = super::child::free_port().unwrap();
    let err = load::run(LoadSpec {
        addr,
        protocol: Protocol::Http1,
        connections: 1,
        streams: 1,
        warmup: Duration::ZERO,
        duration: Duration::from_millis(10),
        rate: None,
        hbone: None,
    })
    .await
    .unwrap_err();
    assert!(matches!(err, load::LoadError::Connect { .. }), "{err}");
}
