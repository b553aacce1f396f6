//! Redact and block through the proxy, on HTTP/1.1, HTTP/2 and gRPC; attacks blocked before
//! the upstream; bodies without findings untouched.

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;

use super::upstream::{body_of, CLEAN_JSON};
use super::{start_with, CARD, SSN};
use crate::proxy::harness::{addr, get, send};

const REDACT: &str = "defaults:\n  default_action: redact";
const BLOCK: &str = "defaults:\n  default_action: block";

#[tokio::test]
async fn bodies_without_findings_pass_byte_identical() {
    for policy in [REDACT, BLOCK, "{}"] {
        let (app, _up) = start_with(policy).await;
        for h2 in [false, true] {
            let r = send(addr(&app), h2, get("svc", "/clean.json", h2)).await;
            assert_eq!(r.status, 200, "{policy}");
            assert_eq!(
                r.body,
                Bytes::from_static(CLEAN_JSON.as_bytes()),
                "{policy}"
            );
        }
    }
}

#[tokio::test]
async fn redact_delivers_valid_masked_json() {
    let (app, _up) = start_with(REDACT).await;
    for h2 in [false, true] {
        let r = send(addr(&app), h2, get("svc", "/leak.json", h2)).await;
        assert_eq!(r.status, 200);
        let text = r.text();
        assert!(!text.contains(CARD), "{text}");
        assert!(!text.contains(SSN), "{text}");
        let j: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(j["user"]["name"], "Ann Lee");
        assert!(j["payment"]["card"].as_str().unwrap().contains("****"));
        if let Some(len) = r.headers.get("content-length") {
            assert_eq!(len.to_str().unwrap(), r.body.len().to_string());
        }
    }
}

#[tokio::test]
async fn block_answers_403_and_the_leak_never_reaches_the_client() {
    let (app, _up) = start_with(BLOCK).await;
    for (h2, path) in [
        (false, "/leak.json"),
        (true, "/leak.json"),
        (false, "/page.html"),
    ] {
        let r = send(addr(&app), h2, get("svc", path, h2)).await;
        assert_eq!(r.status, 403, "{path}");
        let text = r.text();
        assert!(!text.contains(CARD), "{text}");
        assert_eq!(text, r#"{"error":"blocked by policy"}"#);
    }
}

#[tokio::test]
async fn grpc_leak_is_blocked_with_permission_denied() {
    let (app, _up) = start_with(BLOCK).await;
    let req = Request::post("http://svc/shop.Orders/Get")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(Bytes::from_static(&[0, 0, 0, 0, 0])))
        .unwrap();
    let r = send(addr(&app), true, req).await;
    let status = r
        .headers
        .get("grpc-status")
        .or_else(|| r.trailers.as_ref().and_then(|t| t.get("grpc-status")))
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(status.as_deref(), Some("7"), "{:?}", r.headers);
    assert!(!r.text().contains(CARD));
}

#[tokio::test]
async fn an_attack_in_the_request_is_blocked_before_the_upstream_sees_it() {
    let policy = "defaults:\n  attacks:\n    enabled: true\n    action: block";
    let (app, up) = start_with(policy).await;
    let attack = "/search?q=1%27%20OR%20%271%27%3D%271";
    let r = send(addr(&app), false, get("svc", attack, false)).await;
    assert_eq!(r.status, 403);
    let r = send(addr(&app), false, get("svc", "/search?q=blue+shoes", false)).await;
    assert_eq!(r.status, 200);
    let seen = up.seen();
    assert_eq!(seen, ["/search?q=blue+shoes"], "upstream saw {seen:?}");
}

#[tokio::test]
async fn a_token_over_its_rate_limit_is_blocked() {
    let policy = "tokens:\n  sources: [bearer]\n  rate_limits:\n    - {category: us_ssn, max: 2, per: 1m, action: block}";
    let (app, _up) = start_with(policy).await;
    let req = |token: &str| {
        let mut r = get("svc", "/ssn.json", false);
        r.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        r
    };
    for i in 0..2 {
        let r = send(addr(&app), false, req("tok-a")).await;
        assert_eq!(r.status, 200, "request {i}");
        assert!(r.text().contains(SSN));
    }
    let r = send(addr(&app), false, req("tok-a")).await;
    assert_eq!(r.status, 403);
    assert!(!r.text().contains(SSN));
    // Another token has its own allowance.
    let r = send(addr(&app), false, req("tok-b")).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn clean_gzip_grpc_and_html_bodies_pass_byte_identical() {
    for policy in [REDACT, BLOCK, "{}"] {
        let (app, _up) = start_with(policy).await;
        for path in ["/clean.json.gz", "/clean.html"] {
            for h2 in [false, true] {
                let r = send(addr(&app), h2, get("svc", path, h2)).await;
                assert_eq!(r.status, 200, "{policy} {path}");
                let want = body_of(path).unwrap();
                assert_eq!(r.body, Bytes::from(want), "{policy} {path} h2={h2}");
            }
        }
        let path = "/shop.Clean/Get";
        let req = Request::post(format!("http://svc{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(Full::new(Bytes::from_static(&[0, 0, 0, 0, 0])))
            .unwrap();
        let r = send(addr(&app), true, req).await;
        assert_eq!(r.body, Bytes::from(body_of(path).unwrap()), "{policy}");
        let status = r.trailers.as_ref().and_then(|t| t.get("grpc-status"));
        assert_eq!(status.map(|v| v.to_str().unwrap()), Some("0"), "{policy}");
    }
}
