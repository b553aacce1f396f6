//! Streaming and bounded memory through the proxy: alert mode never holds a body back; a body
//! larger than `limits.max_body_bytes` follows the configured fallback.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

use super::upstream::{big_json, CHUNK_1};
use super::{start_with, CARD};
use crate::proxy::harness::{addr, get, send};

#[tokio::test]
async fn alert_mode_streams_a_chunked_body_without_pausing() {
    let (app, up) = start_with("{}").await;
    let tcp = tokio::net::TcpStream::connect(addr(&app)).await.unwrap();
    let (mut s, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let resp = s
        .send_request(get("svc", "/chunked.json", false))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    // The upstream sends its last chunk only when the gate opens: the first one must already
    // be here, or the filter held the body.
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("first chunk reached the client before the upstream finished")
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    assert_eq!(first, Bytes::from_static(CHUNK_1.as_bytes()));
    up.gate.notify_one();
    let rest = body.collect().await.unwrap().to_bytes();
    let all = [first.as_ref(), rest.as_ref()].concat();
    let text = String::from_utf8(all).unwrap();
    assert!(text.contains(CARD), "alert mode leaves the body alone");
    serde_json::from_str::<serde_json::Value>(&text).expect("whole JSON body");
}

#[tokio::test]
async fn a_body_over_the_limit_fails_closed_when_configured() {
    let policy =
        "defaults:\n  default_action: block\nlimits:\n  max_body_bytes: 8KiB\n  fallback: fail_closed";
    let (app, _up) = start_with(policy).await;
    for h2 in [false, true] {
        let r = send(addr(&app), h2, get("svc", "/big.json", h2)).await;
        assert_eq!(r.status, 403, "h2={h2}");
        assert_eq!(r.text(), r#"{"error":"blocked by policy"}"#);
    }
}

#[tokio::test]
async fn a_body_over_the_limit_passes_unmodified_with_an_alert() {
    let policy =
        "defaults:\n  default_action: block\nlimits:\n  max_body_bytes: 8KiB\n  fallback: pass_with_alert";
    let (app, _up) = start_with(policy).await;
    for h2 in [false, true] {
        let r = send(addr(&app), h2, get("svc", "/big.json", h2)).await;
        assert_eq!(r.status, 200, "h2={h2}");
        assert_eq!(r.text(), big_json());
    }
    let admin = app.admin_addr().unwrap();
    let metrics = send(admin, false, get("admin", "/metrics", false))
        .await
        .text();
    let n: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("microwaf_fallbacks{") && l.contains(r#"reason="body_limit""#))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert!(n >= 2.0, "body_limit fallbacks {n} in:\n{metrics}");
    // The card past the limit is still found (scanned while streaming) and alerted.
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("microwaf_matches{") && l.contains(r#"category="credit_card""#)),
        "{metrics}"
    );
}
