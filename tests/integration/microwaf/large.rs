//! Large bodies through the real proxy and the real MicroWAF wasm: alert mode streams them
//! intact, a finding cut by a chunk boundary is still found, a body over the hold limit follows
//! `limits.fallback` (never the host's 413/500), and 1 MiB bodies of each kind are scanned
//! inside the default callback deadline.

use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;

use super::upstream::{sha256_hex, split_chunks};
use super::{start_with, CARD};
use crate::proxy::harness::{addr, get, send, Reply};

const MIB: usize = 1 << 20;

/// A small deterministic generator, so bodies are "random" yet identical on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn word(&mut self, len: usize) -> String {
        const ABC: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..len)
            .map(|_| ABC[self.next() as usize % ABC.len()] as char)
            .collect()
    }
}

/// About `size` bytes of JSON records with random text, and one card number in the middle.
pub fn json_of(size: usize) -> Vec<u8> {
    let mut rng = Lcg(size as u64);
    let mut out = String::from("{\"items\":[");
    let mut card_done = false;
    let mut i = 0u64;
    while out.len() < size.saturating_sub(64) {
        if i > 0 {
            out.push(',');
        }
        let len = 8 + rng.next() as usize % 40;
        out.push_str(&format!(
            r#"{{"id":{i},"name":"{}","note":"{}"}}"#,
            rng.word(6),
            rng.word(len)
        ));
        if !card_done && out.len() >= size / 2 {
            out.push_str(&format!(r#",{{"card":"{CARD}"}}"#));
            card_done = true;
        }
        i += 1;
    }
    out.push_str("]}");
    out.into_bytes()
}

/// About `size` bytes of a form body: random keys and values, some percent-escaped.
pub fn form_of(size: usize) -> Vec<u8> {
    let mut rng = Lcg(size as u64 ^ 0xf0f0);
    let mut out = String::new();
    while out.len() < size {
        if !out.is_empty() {
            out.push('&');
        }
        let len = 4 + rng.next() as usize % 60;
        out.push_str(&format!(
            "f{}={}%20{}",
            rng.word(5),
            rng.word(len),
            rng.word(3)
        ));
    }
    out.into_bytes()
}

fn large_json() -> &'static [u8] {
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    BODY.get_or_init(|| json_of(8 * MIB))
}

fn mib_json() -> &'static [u8] {
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    BODY.get_or_init(|| json_of(MIB))
}

/// Bodies of the upstream's large paths.
pub fn large_body(path: &str) -> Option<Vec<u8>> {
    match path {
        "/large.json" => Some(large_json().to_vec()),
        "/mib.json" => Some(mib_json().to_vec()),
        _ => None,
    }
}

fn post(path: &str, h2: bool, content_type: &str, body: &[u8]) -> Request<Full<Bytes>> {
    let b = Request::builder().method("POST");
    let b = if h2 {
        b.uri(format!("http://svc{path}"))
    } else {
        b.uri(path).header("host", "svc")
    };
    b.header("content-type", content_type)
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap()
}

/// Asserts the upstream received exactly `sent`.
fn assert_received(r: &Reply, sent: &[u8], what: &str) {
    assert_eq!(r.status, 200, "{what}: {}", r.text());
    let receipt = r.json();
    assert_eq!(receipt["len"], sent.len(), "{what}");
    assert_eq!(receipt["sha256"], sha256_hex(sent), "{what}");
}

/// Sum of the `name` samples whose labels contain every one of `labels`.
async fn metric(app: &microwaf_proxy::app::App, name: &str, labels: &[&str]) -> f64 {
    let admin = app.admin_addr().unwrap();
    let text = send(admin, false, get("admin", "/metrics", false))
        .await
        .text();
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && labels.iter().all(|x| l.contains(x)))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[tokio::test]
async fn an_8mib_response_streams_through_alert_mode_intact() {
    let (app, _up) = start_with("{}").await;
    for h2 in [false, true] {
        let r = send(addr(&app), h2, get("svc", "/large.json", h2)).await;
        assert_eq!(r.status, 200, "h2={h2}: {}", r.text());
        assert!(r.body == large_json(), "h2={h2}: body changed");
    }
    let cards = metric(&app, "microwaf_matches", &[r#"category="credit_card""#]).await;
    assert!(cards >= 2.0, "the card in the middle was found: {cards}");
}

#[tokio::test]
async fn an_8mib_upload_streams_through_alert_mode_intact() {
    let (app, _up) = start_with("defaults:\n  scan_requests: true").await;
    let body = large_json();
    for h2 in [false, true] {
        let r = send(
            addr(&app),
            h2,
            post("/upload", h2, "application/json", body),
        )
        .await;
        assert_received(&r, body, &format!("h2={h2}"));
    }
    let cards = metric(
        &app,
        "microwaf_matches",
        &[r#"category="credit_card""#, r#"direction="request""#],
    )
    .await;
    // A streamed body is never slowed down for the scan: when the scan falls more than its
    // carry bound behind the upload, it stops with a counted `scan_time` fallback instead.
    let behind = metric(&app, "microwaf_fallbacks", &[r#"reason="scan_time""#]).await;
    eprintln!("8 MiB uploads: cards found {cards}, scan_time fallbacks {behind}");
    assert!(
        cards + behind >= 2.0,
        "each upload's card found ({cards}) or its scan counted as incomplete ({behind})"
    );
}

#[tokio::test]
async fn a_card_cut_by_a_chunk_boundary_is_reported_in_alert_mode() {
    let (app, _up) = start_with("{}").await;
    let r = send(addr(&app), false, get("svc", "/split.json", false)).await;
    assert_eq!(r.status, 200);
    let (a, b) = split_chunks();
    assert_eq!(r.text(), format!("{a}{b}"));
    let cards = metric(&app, "microwaf_matches", &[r#"category="credit_card""#]).await;
    assert_eq!(cards, 1.0, "one card across two chunks");
}

#[tokio::test]
async fn a_body_over_the_hold_limit_passes_with_an_alert_not_a_host_error() {
    // Default limits (1 MiB hold) behind the listener's default 1 MiB buffer limit.
    let policy = "defaults:\n  default_action: block\n  scan_requests: true";
    let (app, _up) = start_with(policy).await;
    for h2 in [false, true] {
        let r = send(addr(&app), h2, get("svc", "/large.json", h2)).await;
        assert_eq!(r.status, 200, "h2={h2}: {}", r.text());
        assert!(r.body == large_json(), "h2={h2}: body changed");
        let body = large_json();
        let r = send(
            addr(&app),
            h2,
            post("/upload", h2, "application/json", body),
        )
        .await;
        assert_received(&r, body, &format!("upload h2={h2}"));
    }
    let n = metric(&app, "microwaf_fallbacks", &[r#"reason="body_limit""#]).await;
    assert!(n >= 4.0, "body_limit fallbacks: {n}");
}

#[tokio::test]
async fn a_body_over_the_hold_limit_is_blocked_when_failing_closed() {
    let policy =
        "defaults:\n  default_action: block\n  scan_requests: true\nlimits:\n  fallback: fail_closed";
    let (app, up) = start_with(policy).await;
    for h2 in [false, true] {
        let r = send(addr(&app), h2, get("svc", "/large.json", h2)).await;
        assert_eq!(r.status, 403, "h2={h2}");
        let r = send(
            addr(&app),
            h2,
            post("/upload", h2, "application/json", large_json()),
        )
        .await;
        assert_eq!(r.status, 403, "upload h2={h2}: {}", r.text());
    }
    assert!(
        !up.seen().iter().any(|p| p == "/upload"),
        "a refused upload never reached the upstream"
    );
}

#[tokio::test]
async fn one_mib_json_and_form_bodies_are_scanned_inside_the_deadline() {
    // Request bodies scanned for sensitive data and attacks (the heaviest mode), responses too.
    let (app, _up) = start_with("defaults:\n  scan_requests: true").await;
    let json = json_of(MIB);
    let form = form_of(MIB);
    for h2 in [false, true] {
        let r = send(
            addr(&app),
            h2,
            post("/upload", h2, "application/json", &json),
        )
        .await;
        assert_received(&r, &json, &format!("json h2={h2}"));
        let ct = "application/x-www-form-urlencoded";
        let r = send(addr(&app), h2, post("/upload", h2, ct, &form)).await;
        assert_received(&r, &form, &format!("form h2={h2}"));
        let r = send(addr(&app), h2, get("svc", "/mib.json", h2)).await;
        assert_eq!(r.status, 200, "h2={h2}");
        assert!(r.body == mib_json(), "h2={h2}: body changed");
    }
}

#[tokio::test]
async fn one_mib_json_passes_the_shipped_block_secrets_policy() {
    let policy = include_str!("../../../filters/microwaf/examples/block-secrets.yaml");
    let (app, _up) = start_with(policy).await;
    let json = json_of(MIB);
    for h2 in [false, true] {
        let r = send(
            addr(&app),
            h2,
            post("/upload", h2, "application/json", &json),
        )
        .await;
        // Either scanned and clean (200) or over the hold limit and refused by the policy's
        // fail_closed (403); never a VM failure (503) or the host's buffer limit (413/500).
        assert!(
            r.status == 200 || r.status == 403,
            "h2={h2}: {} {}",
            r.status,
            r.text()
        );
        if r.status == 200 {
            assert_received(&r, &json, &format!("h2={h2}"));
        }
    }
}
