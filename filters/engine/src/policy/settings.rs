//! Range and consistency checks for the sections that need no resolution: tokens, report,
//! limits, block response and visibility.

use std::collections::BTreeSet;

use super::action::Action;
use super::builtin::{builtin, CategoryKind};
use super::doc::{IdentitySource, PolicyDoc, TokenSource};
use super::error::PolicyError;

type Result<T> = core::result::Result<T, PolicyError>;

fn bad(path: impl Into<String>, msg: impl Into<String>) -> PolicyError {
    PolicyError::invalid(path, msg)
}

fn in_range(path: &str, v: u64, lo: u64, hi: u64) -> Result<()> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(bad(path, format!("{v} is outside {lo}..={hi}")))
    }
}

/// RFC 9110 token characters: header and cookie names must be sendable as-is.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// No CR/LF: these strings end up in response headers.
fn is_header_value(s: &str) -> bool {
    !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

pub(super) fn check_settings(doc: &PolicyDoc, enabled: &BTreeSet<String>) -> Result<()> {
    let t = &doc.tokens;
    if t.sources.is_empty() {
        return Err(bad(
            "tokens.sources",
            "empty list; at least one token source is needed",
        ));
    }
    for (i, s) in t.sources.iter().enumerate() {
        let (kind, name) = match s {
            TokenSource::Header(n) => ("header", n),
            TokenSource::Cookie(n) => ("cookie", n),
            TokenSource::Bearer | TokenSource::JwtSub => continue,
        };
        if !is_token(name) {
            return Err(bad(
                format!("tokens.sources[{i}].{kind}"),
                format!("invalid {kind} name {name:?}"),
            ));
        }
    }
    in_range("tokens.hash_length", t.hash_length as u64, 8, 64)?;
    in_range("tokens.max_tracked", t.max_tracked as u64, 1, 1_000_000)?;
    for (i, r) in t.rate_limits.iter().enumerate() {
        let p = format!("tokens.rate_limits[{i}]");
        match builtin(&r.category) {
            Some(b) if b.kind == CategoryKind::Attack => {
                return Err(bad(
                    format!("{p}.category"),
                    format!("{:?} is an attack category", r.category),
                ))
            }
            None if !enabled.contains(&r.category) => {
                return Err(bad(
                    format!("{p}.category"),
                    format!("unknown category {:?}", r.category),
                ))
            }
            _ => {}
        }
        if r.per.as_nanos() < 1_000_000_000 {
            return Err(bad(format!("{p}.per"), "window must be at least 1s"));
        }
        if r.action == Action::Ignore {
            return Err(bad(
                format!("{p}.action"),
                "ignore would make the limit do nothing; use alert, redact or block",
            ));
        }
    }
    in_range("report.mask_keep", doc.report.mask_keep as u64, 0, 16)?;
    in_range(
        "limits.max_body_bytes",
        doc.limits.max_body_bytes.0,
        1024,
        1 << 30,
    )?;

    let b = &doc.block_response;
    in_range("block_response.status", b.status.into(), 400, 599)?;
    in_range("block_response.grpc_status", b.grpc_status.into(), 1, 16)?;
    in_range("block_response.body", b.body.len() as u64, 0, 64 * 1024)
        .map_err(|_| bad("block_response.body", "longer than 64KiB"))?;
    if b.content_type.is_empty() || !is_header_value(&b.content_type) {
        return Err(bad(
            "block_response.content_type",
            "must be a non-empty single-line header value",
        ));
    }
    if !is_header_value(&b.grpc_message) {
        return Err(bad("block_response.grpc_message", "must be a single line"));
    }

    let v = &doc.visibility;
    for (i, s) in v.source_identity.iter().enumerate() {
        if let IdentitySource::Header(n) = s {
            if !is_token(n) {
                return Err(bad(
                    format!("visibility.source_identity[{i}].header"),
                    format!("invalid header name {n:?}"),
                ));
            }
        }
    }
    in_range("visibility.top_tokens", v.top_tokens as u64, 1, 10_000)?;
    in_range(
        "visibility.top_endpoints",
        v.top_endpoints as u64,
        1,
        10_000,
    )?;
    in_range("visibility.top_sources", v.top_sources as u64, 1, 10_000)?;
    Ok(())
}
