//! Compressed bodies through the real proxy and MicroWAF: decompression is bounded per
//! callback (a small gzip body that inflates to megabytes never kills the VM) and a
//! decompression bomb is never cut short under a 200: it passes undecoded with a fallback
//! alert, or is blocked whole when the policy fails closed.

use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;

use super::start_with;
use super::upstream::{gzip, sha256_hex};
use crate::proxy::harness::{addr, get, send};

/// 80 MiB of JSON whitespace, gzipped (about 80 KiB): past the engine's 64 MiB decoded bound.
pub fn bomb() -> &'static [u8] {
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    BODY.get_or_init(|| {
        let mut json = vec![b' '; 80 << 20];
        json[0] = b'[';
        *json.last_mut().unwrap() = b']';
        gzip(&json)
    })
}

async fn fallbacks(app: &microwaf_proxy::app::App) -> f64 {
    let admin = app.admin_addr().unwrap();
    let text = send(admin, false, get("admin", "/metrics", false))
        .await
        .text();
    text.lines()
        .filter(|l| {
            l.starts_with("microwaf_fallbacks{")
                && (l.contains(r#"reason="encoding""#) || l.contains(r#"reason="scan_time""#))
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[tokio::test]
async fn a_gzip_bomb_response_passes_undecoded_and_whole_with_a_fallback_alert() {
    let (app, _up) = start_with("{}").await;
    for h2 in [false, true] {
        let r = send(addr(&app), h2, get("svc", "/bomb.json", h2)).await;
        assert_eq!(r.status, 200, "h2={h2}");
        assert_eq!(r.headers["content-encoding"], "gzip");
        assert!(
            r.body == bomb(),
            "h2={h2}: the compressed body arrived whole"
        );
    }
    let n = fallbacks(&app).await;
    assert!(n >= 2.0, "each bomb counted as a fallback: {n}");
}

#[tokio::test]
async fn a_gzip_bomb_response_is_blocked_whole_when_failing_closed() {
    let policy = "defaults:\n  default_action: block\nlimits:\n  fallback: fail_closed";
    let (app, _up) = start_with(policy).await;
    for h2 in [false, true] {
        let r = send(addr(&app), h2, get("svc", "/bomb.json", h2)).await;
        assert_eq!(r.status, 403, "h2={h2}");
        assert_eq!(r.text(), r#"{"error":"blocked by policy"}"#);
    }
}

#[tokio::test]
async fn a_small_gzip_upload_that_inflates_to_megabytes_keeps_the_vm_alive() {
    let (app, _up) = start_with("defaults:\n  scan_requests: true").await;
    // 10 MiB of form data, about 10 KiB compressed.
    let form: Vec<u8> = b"a="
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'x', 10 << 20))
        .collect();
    let body = gzip(&form);
    assert!(body.len() < 64 * 1024, "{}", body.len());
    for h2 in [false, true] {
        let b = Request::builder().method("POST");
        let b = if h2 {
            b.uri("http://svc/upload")
        } else {
            b.uri("/upload").header("host", "svc")
        };
        let req = b
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-encoding", "gzip")
            .body(Full::new(Bytes::from(body.clone())))
            .unwrap();
        let r = send(addr(&app), h2, req).await;
        assert_eq!(r.status, 200, "h2={h2}: {}", r.text());
        assert_eq!(r.json()["sha256"], sha256_hex(&body), "h2={h2}");
        // The single VM still serves the next request.
        let r = send(addr(&app), h2, get("svc", "/clean.json", h2)).await;
        assert_eq!(r.status, 200, "h2={h2}");
    }
}
