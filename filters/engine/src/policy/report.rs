//! How a matched value is shown in metrics, logs and scan output (`report.values`).
//!
//! Findings are themselves sensitive: a log pipeline full of raw card numbers is a second leak.
//! So the default is a mask showing at most the last few characters, and `raw` exists only for
//! operators who ask for it by name.

use super::doc::{ReportDoc, ReportStyle};
use crate::token::hash_hex;

/// At most this many `*` stand for the hidden part, so a 3 KiB private key does not produce a
/// 3 KiB log line.
const MAX_MASK_STARS: usize = 16;

/// Renders matched values per the policy's report style.
#[derive(Debug, Clone)]
pub struct ValueReporter {
    style: ReportStyle,
    keep: usize,
    salt: String,
}

impl ValueReporter {
    pub fn new(report: &ReportDoc, salt: &str) -> Self {
        ValueReporter {
            style: report.values,
            keep: report.mask_keep,
            salt: salt.to_string(),
        }
    }

    /// The style in force.
    pub fn style(&self) -> ReportStyle {
        self.style
    }

    /// The value as it may be reported, or `None` when values are not reported.
    pub fn render(&self, value: &str) -> Option<String> {
        match self.style {
            ReportStyle::None => None,
            ReportStyle::Hash => Some(format!(
                "sha256:{}",
                hash_hex(&self.salt, value.as_bytes(), 16)
            )),
            ReportStyle::Mask => Some(mask(value, self.keep)),
            ReportStyle::Raw => Some(value.to_string()),
        }
    }
}

/// Stars for all but the last `keep` characters, never revealing more than half the value.
pub fn mask(value: &str, keep: usize) -> String {
    let n = value.chars().count();
    let keep = keep.min(n / 2);
    let hidden = n - keep;
    let mut out = "*".repeat(hidden.min(MAX_MASK_STARS));
    out.extend(value.chars().skip(hidden));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reporter(style: ReportStyle) -> ValueReporter {
        ValueReporter::new(
            &ReportDoc {
                values: style,
                mask_keep: 4,
            },
            "salt",
        )
    }

    #[test]
    fn mask_keeps_at_most_the_last_few_and_at_most_half() {
        assert_eq!(mask("4111111111111111", 4), "************1111");
        assert_eq!(mask("123-45-6789", 4), "*******6789");
        assert_eq!(mask("hunter", 4), "***ter");
        assert_eq!(mask("ab", 4), "*b");
        assert_eq!(mask("", 4), "");
        assert_eq!(
            mask(&"k".repeat(3000), 4),
            format!("{}kkkk", "*".repeat(16))
        );
        assert_eq!(mask("žluťoučký", 2), "*******ký");
    }

    #[test]
    fn styles_render_as_configured() {
        assert_eq!(reporter(ReportStyle::None).render("123-45-6789"), None);
        assert_eq!(reporter(ReportStyle::Raw).render("x").as_deref(), Some("x"));
        let h = reporter(ReportStyle::Hash).render("123-45-6789").unwrap();
        assert!(h.starts_with("sha256:") && h.len() == 7 + 16, "{h}");
        assert!(!h.contains("6789"));
        assert_eq!(Some(h), reporter(ReportStyle::Hash).render("123-45-6789"));
    }
}
