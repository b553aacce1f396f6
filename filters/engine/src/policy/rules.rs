//! Validated custom categories and key rules, handed to the detector.
//!
//! The policy checks regex *syntax* only (with `regex-syntax`, no automaton is built here): the
//! detector compiles the patterns into its own automata, and building them twice would double
//! the cost of every `on_configure`.

use super::doc::{CustomCategoryDoc, Validator};
use super::error::PolicyError;
use super::keypath::{normalize_key, KeyPath};

/// Patterns longer than this are rejected: a policy pattern is a few dozen characters, and
/// the detector's automata grow with pattern size.
pub const MAX_PATTERN_LEN: usize = 4096;

/// A custom category after validation: the document plus its trigger keys normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomCategory {
    pub id: String,
    /// The definition as written (regex, literals, allow/except lists, validator).
    pub spec: CustomCategoryDoc,
    /// Trigger keys, normalised with [`normalize_key`].
    pub keys: Vec<String>,
}

impl CustomCategory {
    pub(super) fn compile(c: &CustomCategoryDoc, path: &str) -> Result<Self, PolicyError> {
        if let Some(re) = &c.regex {
            check_regex(re, c.case_insensitive)
                .map_err(|m| PolicyError::invalid(format!("{path}.regex"), m))?;
        }
        for (i, re) in c.except.iter().enumerate() {
            check_regex(re, c.case_insensitive)
                .map_err(|m| PolicyError::invalid(format!("{path}.except[{i}]"), m))?;
        }
        if let Some(i) = c.literals.iter().position(String::is_empty) {
            return Err(PolicyError::invalid(
                format!("{path}.literals[{i}]"),
                "empty literal would match everywhere",
            ));
        }
        let keys: Vec<String> = c.keys.iter().map(|k| normalize_key(k)).collect();
        if let Some(i) = keys.iter().position(String::is_empty) {
            return Err(PolicyError::invalid(
                format!("{path}.keys[{i}]"),
                "key must contain a letter or digit",
            ));
        }
        if c.regex.is_none() && c.literals.is_empty() && keys.is_empty() {
            return Err(PolicyError::invalid(
                path,
                "set regex, literals or keys (or a combination)",
            ));
        }
        if let Some(Validator::Entropy { min_bits_per_char }) = c.validator {
            if !(min_bits_per_char > 0.0 && min_bits_per_char <= 8.0) {
                return Err(PolicyError::invalid(
                    format!("{path}.validator.entropy.min_bits_per_char"),
                    format!("{min_bits_per_char} is outside (0, 8]"),
                ));
            }
        }
        Ok(CustomCategory {
            id: c.id.clone(),
            spec: c.clone(),
            keys,
        })
    }

    /// Whether a value under `key` is considered: always when no trigger keys are set.
    pub fn applies_to_key(&self, key: Option<&str>) -> bool {
        self.keys.is_empty() || key.is_some_and(|k| self.keys.contains(&normalize_key(k)))
    }

    /// True for a key-only category: every non-empty value under a trigger key is a finding.
    pub fn is_key_only(&self) -> bool {
        self.spec.regex.is_none() && self.spec.literals.is_empty()
    }
}

/// Checks a pattern's syntax without building an automaton.
pub fn check_regex(pattern: &str, case_insensitive: bool) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("empty regex would match everywhere".into());
    }
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!(
            "regex is {} bytes, more than {MAX_PATTERN_LEN}",
            pattern.len()
        ));
    }
    regex_syntax::ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .build()
        .parse(pattern)
        .map(drop)
        .map_err(|e| format!("invalid regex: {}", one_line(&e.to_string())))
}

/// regex-syntax renders errors over several lines with a caret; keep the essential line.
fn one_line(msg: &str) -> String {
    msg.lines()
        .find(|l| l.starts_with("error:"))
        .map(|l| l.trim_start_matches("error:").trim().to_string())
        .unwrap_or_else(|| msg.replace('\n', " "))
}

/// What a key rule selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRuleTarget {
    /// A key name anywhere, normalised with [`normalize_key`].
    Key(String),
    /// One exact location.
    Path(KeyPath),
}

/// Values at a key or path belong to `category`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRule {
    pub target: KeyRuleTarget,
    pub category: String,
}

impl KeyRule {
    /// Whether the value with this nearest `key` at canonical `path` is selected.
    pub fn matches(&self, key: Option<&str>, path: &str) -> bool {
        match &self.target {
            KeyRuleTarget::Key(k) => key.is_some_and(|key| normalize_key(key) == *k),
            KeyRuleTarget::Path(p) => p.matches(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_syntax_errors_are_one_line() {
        assert!(check_regex(r"EMP-\d{6}", false).is_ok());
        let e = check_regex("EMP-(\\d", false).unwrap_err();
        assert!(e.starts_with("invalid regex: "), "{e}");
        assert!(!e.contains('\n'));
        assert!(check_regex("", false).is_err());
        assert!(check_regex(&"a".repeat(MAX_PATTERN_LEN + 1), false).is_err());
    }

    #[test]
    fn key_rules_match_by_normalised_key_or_path() {
        let by_key = KeyRule {
            target: KeyRuleTarget::Key("ssn".into()),
            category: "us_ssn".into(),
        };
        assert!(by_key.matches(Some("SSN"), "$.anything"));
        assert!(!by_key.matches(Some("ssn_hash2"), "$.x"));
        assert!(!by_key.matches(None, "$[0]"));
        let by_path = KeyRule {
            target: KeyRuleTarget::Path(KeyPath::parse("$.user.tax_id").unwrap()),
            category: "us_ssn".into(),
        };
        assert!(by_path.matches(Some("tax_id"), "$.user.tax_id"));
        assert!(!by_path.matches(Some("tax_id"), "$.admin.tax_id"));
    }
}
