//! Text to [`PolicyDoc`]: JSON when the first significant character is `{`, YAML otherwise,
//! with the path of the offending field attached to every error. A `{` document that is not
//! JSON syntax (a YAML flow mapping such as `{limits: {fallback: fail_closed}}`) is read as
//! YAML; if that fails too, the JSON error is reported, as JSON was the likelier intent.

use super::doc::PolicyDoc;
use super::error::{Format, PolicyError};

/// Larger configurations are rejected outright: a real policy is a few KiB, and a plugin
/// configuration of megabytes is almost certainly the wrong file.
pub const MAX_POLICY_BYTES: usize = 4 << 20;

/// Parses the text of a policy (UTF-8, optional BOM) into its document form.
pub fn parse_doc(text: &[u8]) -> Result<PolicyDoc, PolicyError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge {
            size: text.len(),
            max: MAX_POLICY_BYTES,
        });
    }
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    if is_blank_yaml(text) {
        // An empty plugin configuration means the default policy (alert on everything).
        return Ok(PolicyDoc::default());
    }
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => parse_json(text).or_else(|(json_err, syntax_only)| {
            if syntax_only {
                parse_yaml(text).map_err(|_| json_err)
            } else {
                Err(json_err)
            }
        }),
        _ => parse_yaml(text),
    }
}

/// On error, also says whether it was a syntax error (so the text may be YAML) rather than
/// well-formed JSON that does not fit the policy.
fn parse_json(text: &[u8]) -> Result<PolicyDoc, (PolicyError, bool)> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let doc = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let syntax_only = e.inner().is_syntax() || e.inner().is_eof();
        (syntax(Format::Json, e), syntax_only)
    })?;
    de.end().map_err(|e| {
        let err = PolicyError::Syntax {
            format: Format::Json,
            path: String::new(),
            message: e.to_string(),
        };
        (err, true)
    })?;
    Ok(doc)
}

fn parse_yaml(text: &[u8]) -> Result<PolicyDoc, PolicyError> {
    let de = serde_yaml_ng::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(de).map_err(|e| syntax(Format::Yaml, e))
}

fn syntax<E: core::fmt::Display>(format: Format, e: serde_path_to_error::Error<E>) -> PolicyError {
    let path = e.path().to_string();
    let path = if path == "." { String::new() } else { path };
    // serde_yaml_ng prefixes its messages with its own (sometimes shorter) path; keep ours.
    let message = e.inner().to_string();
    let message = match message.split_once(": ") {
        Some((prefix, rest))
            if !prefix.is_empty() && !prefix.contains(' ') && path.starts_with(prefix) =>
        {
            rest.to_string()
        }
        _ => message,
    };
    PolicyError::Syntax {
        format,
        path,
        message,
    }
}

/// Only blank lines, comments and document markers: YAML would parse that as null, which is
/// not a mapping.
fn is_blank_yaml(text: &[u8]) -> bool {
    text.split(|b| *b == b'\n').all(|line| {
        let line = line.trim_ascii();
        line.is_empty() || line.starts_with(b"#") || line == b"---" || line == b"..."
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_comment_only_text_is_the_default_policy() {
        assert_eq!(parse_doc(b"").unwrap(), PolicyDoc::default());
        assert_eq!(
            parse_doc(b"# nothing\n---\n").unwrap(),
            PolicyDoc::default()
        );
        assert_eq!(parse_doc(b"{}").unwrap(), PolicyDoc::default());
    }

    #[test]
    fn json_and_yaml_give_the_same_document() {
        let yaml = b"limits:\n  max_body_bytes: 64KiB\n  fallback: fail_closed\n";
        let json = br#" {"limits": {"max_body_bytes": "64KiB", "fallback": "fail_closed"}}"#;
        assert_eq!(parse_doc(yaml).unwrap(), parse_doc(json).unwrap());
    }

    #[test]
    fn yaml_flow_mappings_are_not_mistaken_for_json() {
        let flow = parse_doc(b"{limits: {fallback: fail_closed}}").unwrap();
        let json = parse_doc(br#"{"limits": {"fallback": "fail_closed"}}"#).unwrap();
        assert_eq!(flow, json);
        // Broken JSON that is not YAML either reports the JSON error.
        let e = parse_doc(br#"{"limits": {"fallback": }"#).unwrap_err();
        assert!(
            matches!(
                e,
                PolicyError::Syntax {
                    format: Format::Json,
                    ..
                }
            ),
            "{e}"
        );
        // Well-formed JSON with a bad value is not retried as YAML.
        let e = parse_doc(br#"{"limits": {"fallback": "maybe"}}"#).unwrap_err();
        assert!(
            matches!(
                e,
                PolicyError::Syntax {
                    format: Format::Json,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn errors_carry_the_field_path() {
        let e = parse_doc(
            b"endpoints:\n  - path: /a\n  - path: /b\n    actions:\n      us_ssn: redcat\n",
        )
        .unwrap_err();
        assert_eq!(e.path(), "endpoints[1].actions.us_ssn");
        assert!(e.to_string().starts_with(
            r#"endpoints[1].actions.us_ssn: unknown action "redcat" (expected ignore|alert|redact|block)"#
        ), "{e}");
        let e = parse_doc(br#"{"limits": {"fallbak": "fail_closed"}}"#).unwrap_err();
        assert_eq!(e.path(), "limits.fallbak");
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn malformed_text_is_an_error_not_a_panic() {
        for bad in [
            &b"{"[..],
            b"{\"a\":1}}",
            b"a: [",
            b"\xff\xfe",
            b"- 1\n- 2\n",
            b"limits: 3",
        ] {
            assert!(
                parse_doc(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let big = vec![b' '; MAX_POLICY_BYTES + 1];
        assert!(matches!(parse_doc(&big), Err(PolicyError::TooLarge { .. })));
    }
}
