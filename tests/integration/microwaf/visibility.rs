//! What MicroWAF reports: labelled metrics on the proxy's `/metrics`, and an invalid policy
//! refusing the start with the field named.

use super::{config, start_with, upstream::Upstream, CARD};
use crate::proxy::harness::{addr, get, send};

#[tokio::test]
async fn a_leak_raises_the_labelled_metric_and_alert_mode_passes_it() {
    let (app, _up) = start_with("{}").await;
    // Label values are admitted on their second sighting (bounded cardinality).
    for _ in 0..3 {
        let r = send(addr(&app), false, get("orders.svc", "/leak.json", false)).await;
        assert_eq!(r.status, 200);
        assert!(
            r.text().contains(CARD),
            "alert mode must not alter the body"
        );
    }
    let admin = app.admin_addr().unwrap();
    let metrics = send(admin, false, get("admin", "/metrics", false))
        .await
        .text();
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("microwaf_matches{")
                && l.contains(r#"category="credit_card""#)
                && l.contains(r#"endpoint="/leak.json""#)
                && l.contains(r#"destination="orders.svc""#)
        })
        .unwrap_or_else(|| panic!("no labelled match series in:\n{metrics}"));
    let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(value >= 1.0, "{line}");
}

#[tokio::test]
async fn an_invalid_policy_refuses_to_start_naming_the_field() {
    let up = Upstream::start().await;
    let yaml = config(up.addr, "defaults:\n  default_action: redcat");
    let cfg = microwaf_proxy::config::parse(&yaml, "test.yaml", std::path::Path::new(".")).unwrap();
    let err = match microwaf_proxy::app::App::start(cfg).await {
        Ok(_) => panic!("an invalid policy must fail the plugin load"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("default_action"), "{err}");
}

/// The proxy's `/metrics`.
async fn metrics(app: &microwaf_proxy::app::App) -> String {
    let admin = app.admin_addr().unwrap();
    send(admin, false, get("admin", "/metrics", false))
        .await
        .text()
}

/// The value of the first series of `name` whose line contains every label in `labels`.
fn series(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
}

fn grpc_get() -> hyper::Request<http_body_util::Full<bytes::Bytes>> {
    hyper::Request::post("http://orders.svc/shop.Orders/Get")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(&[
            0, 0, 0, 0, 0,
        ])))
        .unwrap()
}

#[tokio::test]
async fn grpc_and_html_leaks_raise_the_labelled_metric() {
    let (app, _up) = start_with("{}").await;
    for _ in 0..3 {
        let r = send(addr(&app), true, grpc_get()).await;
        assert!(r.text().contains(CARD), "alert mode passes gRPC unchanged");
        let r = send(addr(&app), false, get("web.svc", "/page.html", false)).await;
        assert!(r.text().contains(CARD));
    }
    let m = metrics(&app).await;
    let grpc = [
        r#"category="credit_card""#,
        r#"endpoint="/shop.Orders/Get""#,
        r#"destination="orders.svc""#,
        r#"direction="response""#,
    ];
    assert!(
        series(&m, "microwaf_matches", &grpc).is_some_and(|v| v >= 1.0),
        "{m}"
    );
    let html = [
        r#"category="credit_card""#,
        r#"endpoint="/page.html""#,
        r#"destination="web.svc""#,
    ];
    assert!(
        series(&m, "microwaf_matches", &html).is_some_and(|v| v >= 1.0),
        "{m}"
    );
}

#[tokio::test]
async fn source_comes_from_xfcc_and_tokens_are_labelled_by_hash() {
    let policy = "tokens:\n  sources: [bearer]\n  salt: s1";
    let (app, _up) = start_with(policy).await;
    let spiffe = "spiffe://cluster.local/ns/shop/sa/checkout";
    for _ in 0..3 {
        let mut req = get("orders.svc", "/leak.json", false);
        let h = req.headers_mut();
        h.insert(
            "x-forwarded-client-cert",
            format!("By=spiffe://cluster.local/ns/shop/sa/orders;Hash=abc;URI={spiffe}")
                .parse()
                .unwrap(),
        );
        h.insert("authorization", "Bearer tok-secret-1".parse().unwrap());
        assert_eq!(send(addr(&app), false, req).await.status, 200);
    }
    let inspector = microwaf_engine::inspect::Inspector::from_config(policy.as_bytes()).unwrap();
    let token = microwaf_engine::token::TokenExtractor::new(inspector.policy().tokens())
        .extract(&[("authorization", "Bearer tok-secret-1")])
        .unwrap()
        .hash;
    let m = metrics(&app).await;
    assert!(!m.contains("tok-secret-1"), "a raw token in the metrics");
    let want = [
        r#"category="us_ssn""#.to_owned(),
        format!(r#"source="{spiffe}""#),
        format!(r#"token="{token}""#),
    ];
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    assert!(
        series(&m, "microwaf_matches", &want).is_some(),
        "no {want:?} in\n{m}"
    );
}

#[tokio::test]
async fn an_attack_in_the_request_body_is_blocked_and_counted() {
    let policy = "defaults:\n  attacks:\n    enabled: true\n    action: block\n    inspect: [body]";
    let (app, up) = start_with(policy).await;
    let post = |body: &'static str| {
        hyper::Request::post("/search")
            .header("host", "api.svc")
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                body.as_bytes(),
            )))
            .unwrap()
    };
    for _ in 0..3 {
        let r = send(addr(&app), false, post(r#"{"q":"1' OR '1'='1' --"}"#)).await;
        assert_eq!(r.status, 403);
    }
    let r = send(addr(&app), false, post(r#"{"q":"blue shoes"}"#)).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        up.seen(),
        ["/search"],
        "only the clean request reached the upstream"
    );
    let m = metrics(&app).await;
    let attack = [r#"category="sql_injection""#, r#"direction="request""#];
    assert!(
        series(&m, "microwaf_attacks", &attack).is_some_and(|v| v >= 1.0),
        "{m}"
    );
    assert!(
        series(&m, "microwaf_actions", &[r#"action="block""#]).is_some(),
        "{m}"
    );
}

#[tokio::test]
async fn the_block_response_is_configurable() {
    let policy = "defaults:\n  default_action: block\nblock_response:\n  status: 451\n  body: withheld by microwaf\n  content_type: text/plain";
    let (app, _up) = start_with(policy).await;
    let r = send(addr(&app), false, get("svc", "/leak.json", false)).await;
    assert_eq!(r.status, 451);
    assert_eq!(r.text(), "withheld by microwaf");
    assert_eq!(
        r.headers.get("content-type").unwrap().to_str().unwrap(),
        "text/plain"
    );
}
