//! Route timeouts with Envoy semantics: unset → 15 s, `0s` → none; the route timeout bounds the
//! whole request across retries, `per_try_timeout` each attempt.

use std::time::{Duration, Instant};

use super::harness::*;

fn route(opts: &str) -> String {
    format!("      - prefix: /sleep\n        cluster: up\n{opts}")
}

/// The default (15 s) would cut this request; `0s` must let it finish.
#[tokio::test]
async fn zero_route_timeout_disables_it() {
    let up = upstream("a").await;
    let app = start(&simple(up, &route("        timeout: 0s\n"))).await;
    let r = send(addr(&app), false, get("svc", "/sleep/15500", false)).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn route_timeout_bounds_all_tries() {
    let up = upstream("a").await;
    let opts =
        "        timeout: 300ms\n        retry: {on: [5xx], num_retries: 3, per_try_timeout: 1s}\n";
    let app = start(&simple(up, &route(opts))).await;
    let t = Instant::now();
    let r = send(addr(&app), false, get("svc", "/sleep/2000", false)).await;
    assert_eq!(r.status, 504);
    let took = t.elapsed();
    assert!(took < Duration::from_millis(900), "took {took:?}");
}

#[tokio::test]
async fn per_try_timeout_bounds_each_attempt_and_retries() {
    let up = upstream("a").await;
    let opts =
        "        timeout: 5s\n        retry: {on: [5xx], num_retries: 1, per_try_timeout: 150ms}\n";
    let app = start(&simple(up, &route(opts))).await;
    let t = Instant::now();
    let r = send(addr(&app), false, get("svc", "/sleep/1000", false)).await;
    assert_eq!(r.status, 504);
    let took = t.elapsed();
    // Two tries of 150 ms plus a 25 ms backoff: well under one upstream sleep.
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(900),
        "took {took:?}"
    );
}
