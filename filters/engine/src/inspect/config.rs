//! From a validated [`Policy`] to what the detector and the inspector compile.

use std::sync::Mutex;

use regex_automata::hybrid::regex::{Cache, Regex};
use regex_automata::util::syntax;

use super::InspectError;
use crate::detect::{CustomCategory, CustomPattern, DetectorConfig, Validator};
use crate::policy::{self, CategoryKind, Policy};

/// The detector's configuration: the built-ins the policy leaves on, and its pattern-based
/// custom categories. Key rules and key-only custom categories are applied by the inspector
/// (they need the value's key path, not a pattern), so the detector never sees them.
pub(super) fn detector_config(p: &Policy) -> DetectorConfig {
    let enabled = p
        .enabled_categories()
        .filter(|id| policy::builtin(id).is_some())
        .map(str::to_owned)
        .collect();
    let custom = p
        .custom_categories()
        .iter()
        .filter(|c| !c.is_key_only())
        .map(|c| CustomCategory {
            id: c.id.clone(),
            pattern: pattern(&c.spec),
            validator: c.spec.validator.map(validator),
            allow: c.spec.allow.clone(),
            except: Vec::new(),
            keys: c.keys.clone(),
        })
        .collect();
    DetectorConfig {
        enabled: Some(enabled),
        disabled: Vec::new(),
        custom,
        key_rules: Vec::new(),
    }
}

/// One regex for a custom category: its `regex` and its escaped `literals` as alternatives, so a
/// category with both is still one detector pattern (ids must be unique there).
fn pattern(spec: &policy::CustomCategoryDoc) -> CustomPattern {
    let mut alts: Vec<String> = spec.regex.iter().map(|r| format!("(?:{r})")).collect();
    alts.extend(spec.literals.iter().map(|l| regex_syntax::escape(l)));
    let flags = if spec.case_insensitive { "(?i)" } else { "" };
    if spec.regex.is_none() && !spec.case_insensitive {
        return CustomPattern::Literals(spec.literals.clone());
    }
    CustomPattern::Regex(format!("{flags}(?:{})", alts.join("|")))
}

fn validator(v: policy::Validator) -> Validator {
    match v {
        policy::Validator::Luhn => Validator::Luhn,
        policy::Validator::Ssn => Validator::Ssn,
        policy::Validator::Iban => Validator::Iban,
        policy::Validator::Aba => Validator::Aba,
        policy::Validator::Jwt => Validator::Jwt,
        policy::Validator::Entropy { min_bits_per_char } => Validator::Entropy {
            min_bits_per_char: min_bits_per_char as f32,
        },
    }
}

/// The custom categories' `except` patterns: a match that fully matches one is dropped.
///
/// Lazy DFAs (the engine's runtime regex flavour for policy patterns) need a mutable cache; a
/// mutex keeps the inspector shareable, and it is only taken for custom-category matches.
#[derive(Debug, Default)]
pub(super) struct Excepts {
    by_category: Vec<(String, Regex, Mutex<Cache>)>,
}

impl Excepts {
    pub(super) fn compile(p: &Policy) -> Result<Self, InspectError> {
        let mut by_category = Vec::new();
        for (index, c) in p.custom_categories().iter().enumerate() {
            for (pattern, re) in c.spec.except.iter().enumerate() {
                let compiled = Regex::builder()
                    .syntax(syntax::Config::new().case_insensitive(c.spec.case_insensitive))
                    .build(&format!("^(?:{re})$"))
                    .map_err(|e| InspectError::Except {
                        index,
                        pattern,
                        message: e.to_string(),
                    })?;
                let cache = Mutex::new(compiled.create_cache());
                by_category.push((c.id.clone(), compiled, cache));
            }
        }
        Ok(Excepts { by_category })
    }

    pub(super) fn excepted(&self, category: &str, value: &[u8]) -> bool {
        self.by_category.iter().any(|(c, re, cache)| {
            c == category
                && re.is_match(&mut cache.lock().unwrap_or_else(|e| e.into_inner()), value)
        })
    }
}

/// Whether a category id is an attack category (scanned on requests with the attack scanner).
pub(super) fn is_attack(id: &str) -> bool {
    policy::builtin(id).is_some_and(|b| b.kind == CategoryKind::Attack)
}
