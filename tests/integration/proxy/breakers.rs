//! Circuit breakers as Envoy applies them: over `max_connections` an HTTP/1.1 request waits as
//! pending for a connection; over `max_pending_requests` it fails at once with 503.

use std::time::{Duration, Instant};

use super::harness::*;

#[tokio::test]
async fn over_max_connections_requests_queue_instead_of_failing() {
    let opts = "circuit_breakers: { max_connections: 1 }";
    let app = start(&with_cluster_opts(upstream("a").await, opts)).await;
    let a = addr(&app);
    let t = Instant::now();
    let tasks: Vec<_> = (0..3)
        .map(|_| tokio::spawn(async move { send(a, false, get("svc", "/sleep/200", false)).await }))
        .collect();
    for task in tasks {
        let r = task.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // One connection serves them one after the other.
    assert!(
        t.elapsed() >= Duration::from_millis(550),
        "{:?}",
        t.elapsed()
    );
    let state = app.proxy().state();
    assert_eq!(state.clusters["up"].connections.get(), 1);
}

#[tokio::test]
async fn over_max_pending_requests_fail_with_503() {
    let opts = "circuit_breakers: { max_connections: 1, max_pending_requests: 1 }";
    let app = start(&with_cluster_opts(upstream("a").await, opts)).await;
    let a = addr(&app);
    let first = tokio::spawn(async move { send(a, false, get("svc", "/sleep/400", false)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let queued = tokio::spawn(async move { send(a, false, get("svc", "/sleep/10", false)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = send(a, false, get("svc", "/", false)).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), "upstream connect error or overflow");
    assert_eq!(first.await.unwrap().status, 200);
    assert_eq!(
        queued.await.unwrap().status,
        200,
        "the pending request got the connection"
    );
}
