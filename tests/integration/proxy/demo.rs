//! The demo configuration in-process, with the MicroWAF filter: a response that leaks data
//! shows up on `/metrics` as a labelled `microwaf_*` series (the demo's `stats_tags`).

use microwaf_proxy::{config, demo};
use microwaf_tests::fixtures::{self, Target};

use super::harness::*;

/// The demo's upstream and configuration, with the MicroWAF filter, on ephemeral ports.
async fn start_demo() -> microwaf_proxy::app::App {
    let upstream = demo::start_upstream().await.unwrap();
    let wasm = fixtures::wasm("microwaf_filter", Target::Wasip1);
    let any = "127.0.0.1:0".parse().unwrap();
    let yaml = demo::config_yaml(any, any, upstream, Some(&wasm.display().to_string()));
    let cfg = config::parse(&yaml, "<demo>", std::path::Path::new(".")).unwrap();
    microwaf_proxy::app::App::start(cfg).await.unwrap()
}

#[tokio::test]
async fn demo_config_exports_labelled_microwaf_metrics() {
    let app = start_demo().await;
    let listen = app.proxy().addr("demo").unwrap();
    let r = send(listen, false, get("demo", "/api/users", false)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let admin = app.admin_addr().unwrap();
    let text = send(admin, false, get("admin", "/metrics", false))
        .await
        .text();
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("microwaf_matches{"))
        .collect();
    assert!(
        !series.is_empty(),
        "no labelled microwaf_matches in\n{text}"
    );
    assert!(
        series
            .iter()
            .any(|l| l.contains("category=\"") && l.contains("direction=\"response\"")),
        "{series:?}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("microwaf_matches_category")),
        "an unlabelled name leaked:\n{text}"
    );
}

/// The demo's printed commands show the product: one alerted, one redacted and one blocked
/// response, and a blocked attack.
#[tokio::test]
async fn demo_requests_show_alert_redact_and_block() {
    let app = start_demo().await;
    let listen = app.proxy().addr("demo").unwrap();

    // Alert: passed on unchanged, reported.
    let users = send(listen, false, get("demo", "/api/users", false)).await;
    assert_eq!(users.status, 200, "{}", users.text());
    assert!(users.text().contains("536-22-5314"), "{}", users.text());
    // Redact: the card numbers are masked and the JSON still parses.
    let orders = send(listen, false, get("demo", "/api/orders", false)).await;
    assert_eq!(orders.status, 200, "{}", orders.text());
    let v: serde_json::Value = serde_json::from_str(&orders.text()).expect("valid JSON");
    let card = v["orders"][0]["card"]["number"].as_str().unwrap();
    assert!(!card.contains("4111"), "card not redacted: {card}");
    assert!(!orders.text().contains("5500-0000"), "{}", orders.text());
    // Block: credentials in the response, an injection in the request.
    let config = send(listen, false, get("demo", "/api/config", false)).await;
    assert_eq!(config.status, 403, "{}", config.text());
    assert!(!config.text().contains("AKIA"), "{}", config.text());
    let attack = send(
        listen,
        false,
        get("demo", "/api/users?id=1%27%20OR%201=1--", false),
    )
    .await;
    assert_eq!(attack.status, 403, "{}", attack.text());

    let admin = app.admin_addr().unwrap();
    let metrics = send(admin, false, get("admin", "/metrics", false))
        .await
        .text();
    for needle in [
        "microwaf_matches{category=\"us_ssn\"",
        "microwaf_attacks{category=\"sql_injection\"",
        "action=\"redact\"",
        "action=\"block\"",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from\n{metrics}");
    }
}
