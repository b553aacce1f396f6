//! Detection: finds sensitive data and attacks in bytes.
//!
//! # How it works
//! 1. **One pass, one DFA.** All built-in sensitive-data patterns are unioned into one
//!    leftmost-first dense DFA, determinized at *build time* (`build.rs`) and embedded; at run
//!    time it is deserialized zero-copy once per process. Patterns are loose candidate shapes
//!    (a vendor prefix, `password=`, `eyJ…`), see [`patterns`]. One pass over the bytes picks
//!    candidate starts with table lookups (key starts whose first two bytes the DFA accepts,
//!    digit runs) and walks the DFA anchored only there (see `starts`).
//! 2. **Validators on candidates only**: Luhn + issuer rules, SSN area/group/serial, IBAN
//!    mod-97 with country lengths, ABA checksum, JWT header decoding, entropy, PEM bodies,
//!    documentation-example filters (`AKIAIOSFODNN7EXAMPLE`).
//! 3. **Field context**: a key (JSON key, form field, header name, or `label:` in text) turns an
//!    ambiguous value into a finding: 9 digits under `ssn`, a date under `dob`, anything under
//!    `password`, a high-entropy string under `api_key`, a passport number under `passport_no`.
//! 4. **Attacks** ([`Detector::scan_attack`]) decode percent/`+`/double/entity/`\u` encodings
//!    and SQL comments; a byte gate drops the categories whose necessary bytes the part lacks,
//!    and each remaining category's prebuilt DFA is walked anchored where a match can start
//!    (see `attack`).
//!
//! Custom categories from the policy use a lazy DFA compiled at policy load (see `custom`).
//!
//! # Example
//! ```
//! use microwaf_engine::detect::{Detector, FieldContext};
//! let d = Detector::builtin();
//! let mut out = Vec::new();
//! d.scan_value(b"536-22-5314", &FieldContext::default(), &mut out);
//! assert_eq!(out[0].category.as_str(), "us_ssn");
//! ```

mod attack;
mod automata;
mod category;
mod config;
mod custom;
mod keys;
mod numeric;
pub mod patterns;
mod raw;
mod starts;
mod tokens;
mod validate;

use std::sync::Arc;

pub use category::{CategoryId, CategoryKind};
pub use config::{CustomCategory, CustomPattern, DetectError, DetectorConfig, KeyRule, Validator};
pub use keys::family_of_key;
use patterns::KeyFamily;

/// Where a value sits: its field name and/or key path. Both optional.
#[derive(Clone, Copy, Debug, Default)]
pub struct FieldContext<'a> {
    /// The innermost key: JSON object key, form field name, header name, protobuf field…
    pub key: Option<&'a str>,
    /// The full key path, e.g. `$.user.ssn` (used by path key rules).
    pub path: Option<&'a str>,
    /// The family of `key`, when the caller already knows it (the JSON parser remembers it per
    /// distinct key); `None`: worked out from the key.
    pub family: Option<Option<KeyFamily>>,
}

impl<'a> FieldContext<'a> {
    /// Context with a key only.
    pub fn key(key: &'a str) -> Self {
        FieldContext {
            key: Some(key),
            path: None,
            family: None,
        }
    }

    /// The key, or else the last segment of the path (`$.user.ssn` → `ssn`).
    fn effective_key(&self) -> Option<&'a str> {
        self.key.or_else(|| {
            let p = self.path?;
            let last = p.rsplit(['.', '[']).next()?;
            Some(last.trim_matches(|c| c == ']' || c == '"' || c == '\''))
        })
    }

    /// True when `pattern` is this key (case-insensitive, `_`/`-` ignored) or, for patterns
    /// starting with `$`, exactly this path.
    pub fn matches_key(&self, pattern: &str) -> bool {
        custom::key_matches(self, pattern)
    }
}

/// One detection: `category` at `value[start..end]` (offsets relative to the scanned bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Finding {
    /// What was found.
    pub category: CategoryId,
    /// Start offset (inclusive).
    pub start: usize,
    /// End offset (exclusive).
    pub end: usize,
}

struct KeyRuleC {
    key_or_path: String,
    category: CategoryId,
}

struct Inner {
    /// Enabled flag per built-in category index.
    enabled: Vec<bool>,
    custom: Option<custom::CustomSet>,
    key_rules: Vec<KeyRuleC>,
}

/// The detector: immutable after construction and cheap to clone/share (an `Arc` inside).
/// Build it once per policy, never per request.
#[derive(Clone)]
pub struct Detector {
    inner: Arc<Inner>,
}

fn lookup(id: &str, custom: &[CategoryId]) -> Result<CategoryId, DetectError> {
    CategoryId::builtin(id)
        .or_else(|| custom.iter().copied().find(|c| c.as_str() == id))
        .ok_or_else(|| DetectError::UnknownCategory(id.to_owned()))
}

impl Detector {
    /// All built-in categories, no custom ones.
    pub fn builtin() -> Detector {
        Detector::new(&DetectorConfig::default()).expect("the default configuration is valid")
    }

    /// A detector for a policy's configuration. Fails on unknown category ids (naming them),
    /// duplicate or malformed custom ids, and custom patterns that do not compile.
    pub fn new(cfg: &DetectorConfig) -> Result<Detector, DetectError> {
        automata::builtins();
        let n = CategoryId::builtins().len();
        let mut enabled = vec![cfg.enabled.is_none(); n];
        for id in cfg.enabled.iter().flatten() {
            enabled[lookup(id, &[])?.index()] = true;
        }
        for id in &cfg.disabled {
            enabled[lookup(id, &[])?.index()] = false;
        }
        let custom = custom::CustomSet::new(&cfg.custom)?;
        let custom_ids: Vec<CategoryId> = cfg
            .custom
            .iter()
            .filter_map(|c| CategoryId::intern_custom(&c.id))
            .collect();
        let key_rules = cfg
            .key_rules
            .iter()
            .map(|r| {
                Ok(KeyRuleC {
                    key_or_path: r.key_or_path.clone(),
                    category: lookup(&r.category, &custom_ids)?,
                })
            })
            .collect::<Result<_, DetectError>>()?;
        Ok(Detector {
            inner: Arc::new(Inner {
                enabled,
                custom,
                key_rules,
            }),
        })
    }

    /// Whether a category is reported by this detector.
    pub fn is_enabled(&self, c: CategoryId) -> bool {
        self.inner.enabled.get(c.index()).copied().unwrap_or(true)
    }

    /// Scans one complete value (JSON string or number, form value, HTML text run, header
    /// value…) with its field context. Offsets are relative to `value`.
    ///
    /// Reports everything [`scan_raw`](Self::scan_raw) finds in the value, plus findings that
    /// need the key: the whole (trimmed) value as `us_ssn` under `ssn`, `date_of_birth` under
    /// `dob`, `password_field` under `password`, `generic_api_key` under `api_key`, etc., and
    /// the policy's key rules.
    pub fn scan_value(&self, value: &[u8], ctx: &FieldContext<'_>, out: &mut Vec<Finding>) {
        let first = out.len();
        self.raw(value, Some(ctx), out);
        let v = value.trim_ascii();
        let (ts, te) = (
            value.len() - value.trim_ascii_start().len(),
            value.trim_ascii_end().len(),
        );
        if !v.is_empty() {
            let family = match (ctx.key, ctx.family) {
                (Some(_), Some(known)) => known,
                _ => ctx.effective_key().and_then(keys::family_of_key),
            };
            {
                if let Some(c) = family.and_then(|f| keys::validate(f, v)) {
                    if self.is_enabled(c) {
                        out.push(Finding {
                            category: c,
                            start: ts,
                            end: te,
                        });
                    }
                }
            }
            for r in &self.inner.key_rules {
                if ctx.matches_key(&r.key_or_path) {
                    out.push(Finding {
                        category: r.category,
                        start: ts,
                        end: te,
                    });
                }
            }
        }
        settle(out, first);
    }

    /// Scans a buffer with no known structure (plain text, or a first pass over a body).
    /// `key: value` / `key=value` / `"key": "value"` forms inside the text provide key context.
    ///
    /// Findings that start after the first structural delimiter of `buf` (`"` `'` `,` `{` `}`
    /// `[` `]` `<` `>` `;` `&` CR LF TAB) do not depend on where `buf` starts, so callers scanning
    /// overlapping windows can deduplicate by absolute offset (see `raw::scan` for the one
    /// exception, a window starting inside a PEM body).
    pub fn scan_raw(&self, buf: &[u8], out: &mut Vec<Finding>) {
        let first = out.len();
        self.raw(buf, None, out);
        settle(out, first);
    }

    /// Attack detection on one request part (path, query value, header value, body value).
    /// Percent-encoding (also double), `+`, HTML entities, `\uXXXX` escapes and SQL comments are
    /// decoded first; offsets map back to `value`.
    pub fn scan_attack(&self, value: &[u8], _ctx: &FieldContext<'_>, out: &mut Vec<Finding>) {
        let first = out.len();
        attack::scan(value, |c| self.is_enabled(c), out);
        settle(out, first);
    }

    fn raw(&self, buf: &[u8], ctx: Option<&FieldContext<'_>>, out: &mut Vec<Finding>) {
        raw::scan(buf, &|c| self.is_enabled(c), out);
        if let Some(custom) = &self.inner.custom {
            custom.scan(buf, ctx, out);
        }
    }
}

/// Categories that name a specific credential; a `generic_api_key` finding overlapping one of
/// them adds nothing and is dropped.
fn specific_secret(c: CategoryId) -> bool {
    c.is_builtin()
        && c.kind() == CategoryKind::Sensitive
        && !matches!(
            c,
            CategoryId::GENERIC_API_KEY | CategoryId::PASSWORD_FIELD | CategoryId::BEARER_TOKEN
        )
        && c.index() >= CategoryId::AWS_ACCESS_KEY_ID.index()
}

/// Sorts and deduplicates the findings appended since `first`, and drops redundant generic ones.
fn settle(out: &mut Vec<Finding>, first: usize) {
    let new = &mut out[first..];
    if new.len() < 2 {
        return;
    }
    new.sort_unstable_by_key(|f| (f.start, f.end, f.category));
    let mut kept: Vec<Finding> = Vec::with_capacity(new.len());
    for f in new.iter() {
        if kept.last() == Some(f) {
            continue;
        }
        kept.push(*f);
    }
    let specific: Vec<(usize, usize)> = kept
        .iter()
        .filter(|f| specific_secret(f.category))
        .map(|f| (f.start, f.end))
        .collect();
    kept.retain(|f| {
        f.category != CategoryId::GENERIC_API_KEY
            || !specific.iter().any(|&(s, e)| s < f.end && f.start < e)
    });
    out.truncate(first);
    out.extend(kept);
}
