//! Which service made a request, for the `source` label of metrics.
//!
//! Sources are tried in the policy's order (`visibility.source_identity`): the SPIFFE ID from
//! the peer certificate's URI SAN (the host property `connection.uri_san_peer_certificate`,
//! trustworthy when the proxy terminates mTLS), the `URI=` of the nearest element of
//! `x-forwarded-client-cert` (set by the previous proxy, e.g. an Istio sidecar), or a plain
//! header (only as trustworthy as whatever sets it).

use crate::policy::IdentitySource;
use crate::token::header;

/// Longest identity kept; longer values are not identities we want as labels.
const MAX_IDENTITY_LEN: usize = 256;

/// The first identity the sources yield. `peer_uri_san` is the value of the host property
/// `connection.uri_san_peer_certificate`, if any.
pub fn source_identity(
    sources: &[IdentitySource],
    peer_uri_san: Option<&str>,
    headers: &[(&str, &str)],
) -> Option<String> {
    sources.iter().find_map(|s| {
        let id = match s {
            IdentitySource::Spiffe => peer_uri_san.map(str::trim).filter(|v| !v.is_empty()),
            IdentitySource::Xfcc => header(headers, "x-forwarded-client-cert").and_then(xfcc_uri),
            IdentitySource::Header(name) => header(headers, name),
        }?;
        (id.len() <= MAX_IDENTITY_LEN && !id.bytes().any(|b| b.is_ascii_control()))
            .then(|| id.to_string())
    })
}

/// The `URI` field of the last (nearest) element of an XFCC header.
///
/// Format (Envoy): elements separated by `,`, fields by `;`, `key=value`, values optionally
/// double-quoted (quotes protect `,;=` inside). `By=` names the proxy that added the element,
/// `URI=` the client certificate's URI SAN.
pub fn xfcc_uri(value: &str) -> Option<&str> {
    let element = split_unquoted(value, b',').last()?;
    split_unquoted(element, b';').find_map(|field| {
        let (k, v) = field.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("uri") {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        (!v.is_empty()).then_some(v)
    })
}

/// Splits on `sep` outside double quotes.
fn split_unquoted(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let mut quoted = false;
    let mut parts = Vec::new();
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b if b == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    const XFCC: &str = r#"By=spiffe://cluster.local/ns/a/sa/gw;Hash=abc;URI=spiffe://cluster.local/ns/a/sa/edge,By=spiffe://cluster.local/ns/b/sa/api;Hash=def;Subject="CN=x,O=y";URI=spiffe://cluster.local/ns/b/sa/frontend"#;

    #[test]
    fn xfcc_gives_the_nearest_clients_uri() {
        assert_eq!(
            xfcc_uri(XFCC),
            Some("spiffe://cluster.local/ns/b/sa/frontend")
        );
        assert_eq!(
            xfcc_uri(r#"Hash=1;URI="spiffe://td/ns/x/sa/y""#),
            Some("spiffe://td/ns/x/sa/y")
        );
        assert_eq!(xfcc_uri("Hash=1;DNS=a.b"), None);
        assert_eq!(xfcc_uri(""), None);
    }

    #[test]
    fn sources_are_tried_in_order() {
        let all = [
            IdentitySource::Spiffe,
            IdentitySource::Xfcc,
            IdentitySource::Header("x-service".into()),
        ];
        let headers = [("x-forwarded-client-cert", XFCC), ("x-service", "billing")];
        assert_eq!(
            source_identity(&all, Some("spiffe://td/ns/p/sa/peer"), &headers).as_deref(),
            Some("spiffe://td/ns/p/sa/peer")
        );
        assert_eq!(
            source_identity(&all, None, &headers).as_deref(),
            Some("spiffe://cluster.local/ns/b/sa/frontend")
        );
        assert_eq!(
            source_identity(&all, Some(""), &[("x-service", "billing")]).as_deref(),
            Some("billing")
        );
        assert_eq!(source_identity(&all, None, &[]), None);
        assert_eq!(
            source_identity(&all[2..], None, &[("x-service", "a\u{7}b")]),
            None
        );
    }
}
