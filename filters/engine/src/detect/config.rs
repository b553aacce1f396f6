//! Detector configuration (built by the policy layer) and its errors.

/// Which categories a [`Detector`](super::Detector) reports, plus custom categories and key rules.
#[derive(Clone, Debug, Default)]
pub struct DetectorConfig {
    /// Built-in categories to run; `None` = all built-ins.
    pub enabled: Option<Vec<String>>,
    /// Built-in categories to switch off (applied after `enabled`).
    pub disabled: Vec<String>,
    /// Categories defined by the policy.
    pub custom: Vec<CustomCategory>,
    /// Values under these keys/paths are reported as the given category, whatever they contain.
    pub key_rules: Vec<KeyRule>,
}

/// A policy-defined category.
#[derive(Clone, Debug)]
pub struct CustomCategory {
    /// Its id (must not collide with a built-in id).
    pub id: String,
    /// What to look for.
    pub pattern: CustomPattern,
    /// Optional check on each match (e.g. Luhn for an internal card-like number).
    pub validator: Option<Validator>,
    /// Matched values that are never reported (exact, e.g. a test account number).
    pub allow: Vec<String>,
    /// Keys or key paths under which this category is never reported.
    pub except: Vec<String>,
    /// If non-empty, the category is reported only under one of these keys or key paths.
    pub keys: Vec<String>,
}

/// A custom category's pattern.
#[derive(Clone, Debug)]
pub enum CustomPattern {
    /// A regular expression over bytes (ASCII semantics: `\d`, `\w` and `(?i)` are ASCII-only).
    Regex(String),
    /// Literal strings, matched exactly (case-sensitive).
    Literals(Vec<String>),
}

/// Report every value under `key_or_path` as `category`.
#[derive(Clone, Debug)]
pub struct KeyRule {
    /// A key name (`ssn`, compared case-insensitively) or a key path starting with `$`
    /// (`$.user.ssn`, compared exactly with [`FieldContext::path`](super::FieldContext::path)).
    pub key_or_path: String,
    /// A built-in or custom category id.
    pub category: String,
}

/// Validators a custom category can ask for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Validator {
    /// Luhn mod-10 over the digits of the match.
    Luhn,
    /// US SSN area/group/serial rules over the 9 digits of the match.
    Ssn,
    /// IBAN country length and mod-97 (spaces ignored).
    Iban,
    /// ABA routing checksum (9 digits).
    Aba,
    /// JWT structure (header decodes to JSON with `alg`).
    Jwt,
    /// Shannon entropy of the match at least this many bits per character.
    Entropy {
        /// Threshold; random base64 is ≈ 5–6, English ≈ 3–4, a repeated character 0.
        min_bits_per_char: f32,
    },
}

/// Why a [`DetectorConfig`] was rejected. Each variant names the offending id or pattern.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DetectError {
    /// `enabled`, `disabled` or a key rule names a category that does not exist.
    #[error("unknown category `{0}`")]
    UnknownCategory(String),
    /// A custom category reuses a built-in or another custom category's id.
    #[error("custom category `{0}` is already defined")]
    DuplicateCategory(String),
    /// A custom category id is empty or uses characters other than `[a-z0-9_]`.
    #[error("invalid custom category id `{0}`: use lowercase letters, digits and `_`")]
    InvalidId(String),
    /// A custom regex does not compile.
    #[error("custom category `{id}`: invalid pattern: {message}")]
    Pattern {
        /// The custom category.
        id: String,
        /// The compiler's message.
        message: String,
    },
    /// A custom category has an empty literal list or an empty literal.
    #[error("custom category `{0}`: literal list is empty or contains an empty literal")]
    EmptyLiterals(String),
}
