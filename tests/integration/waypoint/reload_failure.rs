//! A reload whose new discovery source cannot start keeps the running one, and says so: the
//! admin `/ready` (still 200: traffic is served) names the failure, and
//! `microwaf_waypoint_reload_failures_total{source="discovery"}` counts it.

use std::time::Duration;

use super::sources::{services_file, Served};
use crate::proxy::harness::{get, send, upstream};

/// The admin `/ready` status and body, polled until the body satisfies `want`.
async fn ready_until(s: &Served, want: impl Fn(&str) -> bool) -> (u16, String) {
    let admin = s
        .app
        .admin_addr()
        .expect("Served configures an admin address");
    let mut last = (0, String::new());
    for _ in 0..100 {
        let r = send(admin, false, get("admin", "/ready", false)).await;
        last = (r.status, r.text());
        if want(&last.1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    last
}

/// Rewrites `test.yaml` to name `file` as the discovery file, loads it while `file` exists
/// (the loader checks files), and applies it with `file` removed first when `remove` is set.
fn reload_naming(s: &Served, file: &str, remove: bool) {
    let path = s.dir.join("test.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    let start = yaml.find("discovery: {file: ").unwrap() + "discovery: {file: ".len();
    let end = start + yaml[start..].find('}').unwrap();
    std::fs::write(&path, format!("{}{file}{}", &yaml[..start], &yaml[end..])).unwrap();
    let cfg = microwaf_proxy::config::load(&path).unwrap();
    if remove {
        std::fs::remove_file(s.dir.join(file)).unwrap();
    }
    s.app.reload(cfg).unwrap();
}

#[tokio::test]
async fn a_missing_discovery_file_on_reload_keeps_the_old_source_and_is_reported() {
    let (one, two) = (upstream("one").await, upstream("two").await);
    let s = Served::start("reload-fail", "{file: services.yaml}", |dir| {
        std::fs::write(dir.join("services.yaml"), services_file(one)).unwrap();
        std::fs::write(dir.join("gone.yaml"), services_file(two)).unwrap();
    })
    .await;
    assert_eq!(s.answer().await, "one");
    assert_eq!(ready_until(&s, |_| true).await, (200, "ready\n".into()));

    reload_naming(&s, "gone.yaml", true);
    let (status, body) = ready_until(&s, |b| b.contains("discovery")).await;
    assert_eq!(status, 200, "traffic is still served: {body}");
    assert!(
        body.starts_with(
            "ready\nwaypoint discovery: reload failed, the previous source keeps serving: "
        ) && body.contains("gone.yaml"),
        "{body}"
    );
    let metrics = s.app.metrics_addr().unwrap();
    let m = send(metrics, false, get("mesh", "/metrics", false))
        .await
        .text();
    assert!(
        m.contains("microwaf_waypoint_reload_failures_total{source=\"discovery\"} 1\n"),
        "{m}"
    );
    // The old destinations are served, and the old source still follows its file.
    assert_eq!(s.answer().await, "one");
    std::fs::write(s.dir.join("services.yaml"), services_file(two)).unwrap();
    s.until_answer("two").await;

    // A reload that can start the new source replaces the old one and clears the report.
    std::fs::write(s.dir.join("gone.yaml"), services_file(one)).unwrap();
    reload_naming(&s, "gone.yaml", false);
    s.until_answer("one").await;
    let (status, body) = ready_until(&s, |b| !b.contains("discovery")).await;
    assert_eq!((status, body.as_str()), (200, "ready\n"));
}
