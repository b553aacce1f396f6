//! The demo configuration in-process, with the MicroWAF filter: a response that leaks data
//! shows up on `/metrics` as a labelled `microwaf_*` series (the demo's `stats_tags`).

use microwaf_proxy::{config, demo};
use microwaf_tests::fixtures::{self, Target};

use super::harness::*;

#[tokio::test]
async fn demo_config_exports_labelled_microwaf_metrics() {
    let upstream = demo::start_upstream().await.unwrap();
    let wasm = fixtures::wasm("microwaf_filter", Target::Wasip1);
    let any = "127.0.0.1:0".parse().unwrap();
    let yaml = demo::config_yaml(any, any, upstream, Some(&wasm.display().to_string()));
    let cfg = config::parse(&yaml, "<demo>", std::path::Path::new(".")).unwrap();
    let app = microwaf_proxy::app::App::start(cfg).await.unwrap();
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
