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
