//! JSON key names and key paths in rules (`ssn`, `$.user.ssn`, `$.users[*].card`).
//!
//! Paths are matched against the canonical path the parser reports for a value: `$`, then
//! `.name` for object members (`["odd name"]` when the name is not a plain identifier) and
//! `[3]` for array elements. Key names are compared after [`normalize_key`], so a rule for
//! `date_of_birth` also catches `dateOfBirth` and `Date-Of-Birth`.

/// Lower-cases and drops everything but letters and digits.
pub fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// One step of a path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Member(String),
    Index(u64),
    AnyIndex,
    AnyMember,
}

/// A compiled key path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath {
    text: String,
    steps: Vec<Step>,
}

impl KeyPath {
    /// Parses `$.a.b`, `$.a[0]`, `$.a[*].b`, `$.a.*`, `$["a b"].c`.
    pub fn parse(text: &str) -> Result<KeyPath, String> {
        let steps = steps(text, true).ok_or_else(|| {
            format!("invalid key path {text:?} (expected e.g. $.user.ssn or $.items[*].card)")
        })?;
        if steps.is_empty() {
            return Err(format!("key path {text:?} selects the whole document"));
        }
        Ok(KeyPath {
            text: text.to_string(),
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a canonical value path (as reported by the parser) matches this pattern.
    /// Member names compare exactly: a path names one field of one API.
    pub fn matches(&self, path: &str) -> bool {
        let Some(actual) = steps(path, false) else {
            return false;
        };
        actual.len() == self.steps.len()
            && self
                .steps
                .iter()
                .zip(&actual)
                .all(|(want, got)| match (want, got) {
                    (Step::AnyIndex, Step::Index(_)) | (Step::AnyMember, Step::Member(_)) => true,
                    (a, b) => a == b,
                })
    }
}

/// Splits a path into steps; wildcards only when `patterns` is set. `None` if malformed.
fn steps(text: &str, patterns: bool) -> Option<Vec<Step>> {
    let rest = text.strip_prefix('$')?;
    let b = rest.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && b[end] != b'.' && b[end] != b'[' {
                    end += 1;
                }
                let name = &rest[start..end];
                match name {
                    "" => return None,
                    "*" if patterns => out.push(Step::AnyMember),
                    _ => out.push(Step::Member(name.to_string())),
                }
                i = end;
            }
            b'[' => {
                let close = i + rest[i..].find(']')?;
                let inner = &rest[i + 1..close];
                if inner == "*" && patterns {
                    out.push(Step::AnyIndex);
                } else if let Some(quoted) =
                    inner.strip_prefix('"').and_then(|s| s.strip_suffix('"'))
                {
                    out.push(Step::Member(quoted.to_string()));
                } else {
                    out.push(Step::Index(inner.parse().ok()?));
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalise_case_and_separators() {
        assert_eq!(normalize_key("Date-Of_Birth"), "dateofbirth");
        assert_eq!(normalize_key("dateOfBirth"), "dateofbirth");
    }

    #[test]
    fn paths_match_exactly_or_by_wildcard() {
        let p = KeyPath::parse("$.user.ssn").unwrap();
        assert!(p.matches("$.user.ssn"));
        assert!(!p.matches("$.user.ssn2"));
        assert!(!p.matches("$.user"));
        assert!(!p.matches("$.other.user.ssn"));
        let p = KeyPath::parse("$.users[*].card").unwrap();
        assert!(p.matches("$.users[0].card"));
        assert!(p.matches("$.users[17].card"));
        assert!(!p.matches("$.users.card"));
        let p = KeyPath::parse("$.accounts.*.iban").unwrap();
        assert!(p.matches("$.accounts.main.iban"));
        let p = KeyPath::parse("$[\"odd key\"].x").unwrap();
        assert!(p.matches("$[\"odd key\"].x"));
    }

    #[test]
    fn malformed_paths_are_rejected() {
        for bad in ["user.ssn", "$", "$..a", "$.a[", "$.a[x]", "$a"] {
            assert!(KeyPath::parse(bad).is_err(), "{bad}");
        }
        // A malformed reported path never matches (and never panics).
        assert!(!KeyPath::parse("$.a").unwrap().matches("$.a[zz"));
    }
}
