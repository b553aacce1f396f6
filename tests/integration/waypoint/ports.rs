//! The mesh ports over real sockets: `/healthz/ready` (15021) follows readiness (HBONE bound,
//! certificates loaded, first discovery sync), `/metrics` (15020) carries Istio's names, and
//! neither exposes the admin endpoints.

use std::net::SocketAddr;
use std::time::Duration;

use microwaf_proxy::waypoint::discovery::xds::fake::{service, workload, FakeControlPlane};
use microwaf_proxy::waypoint::discovery::xds::proto::{Any, ADDRESS_TYPE_URL};

use super::pki::CLIENT_ID;
use super::sources::{Served, SVC_KEY};
use super::SVC;
use crate::proxy::harness::{get, send, upstream};

async fn status(addr: SocketAddr, path: &str) -> (u16, String) {
    let r = send(addr, false, get("mesh", path, false)).await;
    (r.status, r.text())
}

#[tokio::test]
async fn health_turns_ready_after_the_first_sync_and_metrics_use_istio_names() {
    let one = upstream("one").await;
    let cp_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = Served::start(
        "ports",
        &format!("{{xds: {{address: 'http://{cp_addr}', connect_timeout: 1s}}}}"),
        |_| {},
    )
    .await;
    let (health, metrics) = (s.app.health_addr().unwrap(), s.app.metrics_addr().unwrap());
    assert!(health.ip().is_loopback() && metrics.ip().is_loopback());
    assert_eq!(status(health, "/healthz/ready").await.0, 503);

    let fake = FakeControlPlane::start_on(cp_addr, None).await.unwrap();
    let port = u32::from(one.port());
    fake.set(SVC_KEY, service("shop", SVC, "10.96.0.10", &[(80, port)]));
    fake.set(
        "pod-1",
        workload("pod-1", "127.0.0.1", true, &[(SVC_KEY, &[(80, port)])]),
    );
    let mut ready = 0;
    for _ in 0..100 {
        ready = status(health, "/healthz/ready").await.0;
        if ready == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready, 200, "ready once discovery synced");
    s.until_answer("one").await;

    let labels = format!(
        "reporter=\"waypoint\",source_principal=\"{CLIENT_ID}\",destination_service=\"{SVC}\""
    );
    let mut text = String::new();
    for _ in 0..100 {
        text = status(metrics, "/metrics").await.1;
        if text.contains(&format!("istio_tcp_connections_closed_total{{{labels}}}")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for name in [
        "istio_tcp_connections_opened_total",
        "istio_tcp_connections_closed_total",
        "istio_tcp_received_bytes_total",
        "istio_tcp_sent_bytes_total",
    ] {
        assert!(
            text.contains(&format!("{name}{{{labels}}}")),
            "{name}: {text}"
        );
    }
    assert!(text.contains("istio_requests_total{"), "{text}");
    assert!(text.contains("reporter=\"waypoint\""), "{text}");
    assert!(
        text.contains("microwaf_waypoint_inbound_tunnels_total"),
        "{text}"
    );
    // Discovery health: the stream is up, snapshots were applied, and a malformed resource is
    // counted as a NACK.
    assert!(
        text.contains("microwaf_waypoint_discovery_connected 1\n"),
        "{text}"
    );
    assert!(
        !text.contains("microwaf_waypoint_discovery_syncs_total 0\n"),
        "{text}"
    );
    assert!(
        text.contains("microwaf_waypoint_discovery_nacks_total 0\n"),
        "{text}"
    );
    fake.set_raw(
        "pod-bad",
        Any {
            type_url: ADDRESS_TYPE_URL.into(),
            value: vec![0x0a, 0xff, 0xff, 0xff],
        },
    );
    for _ in 0..100 {
        text = status(metrics, "/metrics").await.1;
        if text.contains("microwaf_waypoint_discovery_nacks_total 1\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        text.contains("microwaf_waypoint_discovery_nacks_total 1\n"),
        "{text}"
    );
    // Only their own endpoint on each mesh port: no config dump, no log level, no cross-over.
    assert_eq!(status(metrics, "/config_dump").await.0, 404);
    assert_eq!(status(metrics, "/healthz/ready").await.0, 404);
    assert_eq!(status(health, "/metrics").await.0, 404);
    assert_eq!(status(health, "/logging").await.0, 404);
}
