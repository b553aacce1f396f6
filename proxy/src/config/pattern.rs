//! A compiled regex that remembers its source, so the IR can be compared, dumped and cloned.

use regex::Regex;
use serde::{Serialize, Serializer};

/// A regex from the configuration. Route and header regexes are full-match (Envoy's RE2
/// `safe_regex` semantics); stats-tag regexes are searched. The constructor decides.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles `source` to match whole inputs only (`^(?:source)$`).
    pub fn full(source: &str) -> Result<Pattern, String> {
        Self::compile(source, &format!("^(?:{source})$"))
    }

    /// Compiles `source` to be searched anywhere in the input.
    pub fn search(source: &str) -> Result<Pattern, String> {
        Self::compile(source, source)
    }

    fn compile(source: &str, effective: &str) -> Result<Pattern, String> {
        let build = |re: &str| regex::RegexBuilder::new(re).size_limit(1 << 20).build();
        // Validate the source as written so errors quote the user's regex, not our anchors.
        build(source).map_err(|e| format!("invalid regex {source:?}: {}", one_line(&e)))?;
        let regex =
            build(effective).map_err(|e| format!("invalid regex {source:?}: {}", one_line(&e)))?;
        Ok(Pattern {
            source: source.to_owned(),
            regex,
        })
    }

    /// The regex as written in the configuration.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The compiled regex (anchored for [`Pattern::full`]).
    pub fn regex(&self) -> &Regex {
        &self.regex
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// The regex crate's syntax errors span several lines (the pattern, a caret, the message);
/// configuration errors are one line, so keep the message.
fn one_line(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .find_map(|l| l.strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or_else(|| text.lines().collect::<Vec<_>>().join(" "))
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.regex.as_str() == other.regex.as_str()
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_matches_whole_input_only() {
        let p = Pattern::full("/api/v[0-9]+").unwrap();
        assert!(p.is_match("/api/v2"));
        assert!(!p.is_match("/api/v2/users"));
        assert!(!p.is_match("x/api/v2"));
        // Alternation must not escape the anchors.
        let alt = Pattern::full("a|b").unwrap();
        assert!(!alt.is_match("ab"));
    }

    #[test]
    fn search_finds_inside() {
        let p = Pattern::search("_value=([a-z]+)").unwrap();
        assert!(p.is_match("reqs_value=foo"));
    }

    #[test]
    fn bad_regex_is_an_error_with_source() {
        let e = Pattern::full("(unclosed").unwrap_err();
        assert_eq!(e, "invalid regex \"(unclosed\": unclosed group");
    }
}
