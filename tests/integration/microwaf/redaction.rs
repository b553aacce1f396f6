//! What redaction may and may not do through the proxy: mask only categories whose own action
//! redacts; fall back (never leak, never corrupt) when it cannot mask everything — more matches
//! than the engine keeps masks for, compressed gRPC frames.

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;

use super::upstream::body_of;
use super::{start_with, CARD, SSN};
use crate::proxy::harness::{addr, get, send, Reply};

#[tokio::test]
async fn only_categories_whose_action_redacts_are_masked() {
    let policy = "defaults:\n  default_action: redact\n  actions:\n    email: alert";
    let (app, _up) = start_with(policy).await;
    for h2 in [false, true] {
        let r = send(addr(&app), h2, get("svc", "/leak.json", h2)).await;
        assert_eq!(r.status, 200);
        let text = r.text();
        assert!(!text.contains(CARD) && !text.contains(SSN), "{text}");
        let j: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        // Alert-only findings in a redacted response stay readable.
        assert_eq!(j["user"]["email"], "ann.lee@example.org", "{text}");
    }
}

#[tokio::test]
async fn a_block_rule_below_its_threshold_redacts_only_its_category() {
    let policy = "defaults:\n  default_action: alert\n  actions:\n    credit_card: {action: block, threshold: 5, below: redact}";
    let (app, _up) = start_with(policy).await;
    let r = send(addr(&app), false, get("svc", "/leak.json", false)).await;
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(!text.contains(CARD), "{text}");
    assert!(
        text.contains(SSN) && text.contains("ann.lee@example.org"),
        "{text}"
    );
}

#[tokio::test]
async fn more_matches_than_masks_kept_fail_closed_instead_of_leaking() {
    let policy = "defaults:\n  default_action: redact\nlimits:\n  fallback: fail_closed";
    let (app, _up) = start_with(policy).await;
    let r = send(addr(&app), false, get("svc", "/mails.json", false)).await;
    assert_eq!(r.status, 403);
    assert!(!r.text().contains("@example.org"));
    let admin = app.admin_addr().unwrap();
    let metrics = send(admin, false, get("admin", "/metrics", false))
        .await
        .text();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("microwaf_fallbacks{") && l.contains(r#"reason="match_limit""#)),
        "{metrics}"
    );
}

fn grpc(path: &str) -> Request<Full<Bytes>> {
    Request::post(format!("http://svc{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(Bytes::from_static(&[0, 0, 0, 0, 0])))
        .unwrap()
}

fn grpc_status(r: &Reply) -> Option<String> {
    r.headers
        .get("grpc-status")
        .or_else(|| r.trailers.as_ref().and_then(|t| t.get("grpc-status")))
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn compressed_grpc_frames_are_not_corrupted_by_redaction() {
    let path = "/shop.Zipped/Get";
    // Fail closed: the leak inside the gzip frame cannot be masked, so the call is denied.
    let (app, _up) =
        start_with("defaults:\n  default_action: redact\nlimits:\n  fallback: fail_closed").await;
    let r = send(addr(&app), true, grpc(path)).await;
    assert_eq!(grpc_status(&r).as_deref(), Some("7"), "{:?}", r.headers);
    assert!(r.body.is_empty(), "{:?}", r.body);
    // Pass with an alert: the frames arrive exactly as sent (a valid, decodable message), not
    // half-rewritten.
    let (app, _up) = start_with("defaults:\n  default_action: redact").await;
    let r = send(addr(&app), true, grpc(path)).await;
    assert_eq!(grpc_status(&r).as_deref(), Some("0"));
    assert_eq!(r.body, Bytes::from(body_of(path).unwrap()));
}
