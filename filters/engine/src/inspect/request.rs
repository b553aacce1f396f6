//! Attack detection on the parts of a request that arrive before its body: path, query
//! parameters and headers.

use super::{Inspector, Match};
use crate::detect::{FieldContext, Finding};
use crate::policy::{AttackLocation, Endpoint};
use crate::redact::Mask;

/// The request as the filter sees it in `on_http_request_headers`.
#[derive(Debug, Clone, Copy)]
pub struct RequestLine<'a> {
    /// `:path` including the query string.
    pub path: &'a str,
    /// Regular headers (pseudo-headers excluded or included: `:`-prefixed ones are skipped).
    pub headers: &'a [(&'a str, &'a str)],
}

/// Headers never scanned for attacks: credentials and framing, whose values are opaque tokens
/// or numbers that only produce false alarms.
const SKIPPED_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "content-length",
    "content-type",
    "accept",
    "accept-encoding",
    "accept-language",
    "connection",
    "host",
    "te",
    "traceparent",
    "tracestate",
    "x-request-id",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
];

/// Attack findings in the path, query and headers, per the endpoint's `attacks.inspect`.
/// Offsets in the returned matches are within the scanned part (the part is named by `path`:
/// `path`, `query.<name>`, `header.<name>`).
pub fn scan_request_line(
    inspector: &Inspector,
    endpoint: &Endpoint,
    req: &RequestLine<'_>,
) -> Vec<Match> {
    let attacks = endpoint.attacks();
    let mut out = Vec::new();
    if !attacks.enabled {
        return out;
    }
    let (path, query) = req.path.split_once('?').unwrap_or((req.path, ""));
    let mut found = Vec::new();
    let mut scan = |part: String, key: Option<&str>, value: &str| {
        found.clear();
        let ctx = FieldContext {
            key,
            path: Some(&part),
            family: None,
        };
        inspector
            .detector()
            .scan_attack(value.as_bytes(), &ctx, &mut found);
        push(&mut out, inspector, endpoint, &found, &part, key, value);
    };
    if attacks.inspects(AttackLocation::Path) {
        scan("path".to_owned(), None, path);
    }
    if attacks.inspects(AttackLocation::Query) && !query.is_empty() {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            // Names are attack surface too (`?<script>=1`); scan the raw pair once.
            scan(format!("query.{name}"), Some(name), pair);
            let _ = value;
        }
    }
    if attacks.inspects(AttackLocation::Headers) {
        for (name, value) in req.headers {
            let lower = name.to_ascii_lowercase();
            if lower.starts_with(':') || SKIPPED_HEADERS.contains(&lower.as_str()) {
                continue;
            }
            scan(format!("header.{lower}"), Some(&lower), value);
        }
    }
    out
}

fn push(
    out: &mut Vec<Match>,
    inspector: &Inspector,
    endpoint: &Endpoint,
    found: &[Finding],
    part: &str,
    key: Option<&str>,
    value: &str,
) {
    for f in found {
        let category = f.category.as_str();
        if !endpoint.attacks().categories().any(|c| c == category) {
            continue;
        }
        let text = value.as_bytes().get(f.start..f.end).unwrap_or_default();
        if inspector.suppressed(category, text) {
            continue;
        }
        out.push(Match {
            category: category.to_owned(),
            range: f.start as u64..f.end as u64,
            path: part.to_owned(),
            key: key.map(str::to_owned),
            value: String::from_utf8_lossy(text).into_owned(),
            mask: Mask::Bytes(f.start as u64..f.end as u64),
        });
    }
}
