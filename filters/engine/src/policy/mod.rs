//! The MicroWAF policy: the plugin configuration that says what to look for, where, and what to
//! do about it.
//!
//! [`Policy::parse`] takes the configuration text (YAML or JSON, one schema, published as
//! `filters/microwaf/policy.schema.json`), checks it completely, and resolves it into the
//! read-only structure the filter consults per request:
//! [`Policy::endpoint_for`] → [`Endpoint::action_for`] / [`Endpoint::inspect`] /
//! [`Endpoint::attacks`]. Errors name the offending field
//! (`endpoints[2].actions.us_ssn: unknown action "redcat" (expected ignore|alert|redact|block)`)
//! because `on_configure` logs are all the operator gets.
//!
//! # Using it in a filter
//! - `on_configure`: [`Policy::parse`]; on error log `err.to_string()` and return false.
//!   Build per-VM state once: [`crate::token::TokenExtractor::new`]`(policy.tokens())`,
//!   [`crate::ratelimit::TokenRateLimits::new`]`(policy.tokens())`,
//!   [`crate::cardinality::Labels::new`]`(policy.visibility())`, [`Policy::value_reporter`].
//! - Request headers: `policy.endpoint_for(authority, path, method)`; the token from the
//!   headers; the source from [`crate::identity::source_identity`]; attacks in the parts that
//!   [`Attacks::inspects`], acted on with [`Attacks::action_for`].
//! - Response headers: [`Endpoint::inspect`] with the `content-type` (None: pass untouched);
//!   [`Endpoint::strongest_action`] `== Alert` means stream, else hold up to
//!   `limits().max_body_bytes` and apply `limits().fallback` beyond it.
//! - Findings: drop [`Policy::is_allowed`] values; per category
//!   [`Endpoint::action_for`] (or [`Endpoint::action_for_counts`] for the message) and
//!   `TokenRateLimits::check(token_hash, category, count, now_ns)`; the strongest wins.
//!   `block` answers with [`Policy::block_response`] (`grpc_status` for gRPC).

mod action;
mod builtin;
mod canon;
mod compile;
mod content;
mod doc;
mod endpoint;
mod error;
mod glob;
mod keypath;
mod keyword;
mod parse;
mod report;
mod resolve;
mod rules;
mod settings;
mod tagged;
mod units;

use std::collections::{BTreeMap, BTreeSet};

pub use action::{Action, ActionRule, AttackAction};
pub use builtin::{builtin, builtin_ids, is_valid_id, Builtin, CategoryKind, BUILTIN_CATEGORIES};
pub use canon::{canonical_host, canonical_path};
pub use content::{ContentKind, DEFAULT_CONTENT_KINDS};
pub use doc::{
    AttackLocation, AttacksDoc, BlockResponseDoc, CategoriesDoc, CustomCategoryDoc, EndpointDoc,
    Fallback, IdentitySource, KeyRuleDoc, LimitsDoc, PolicyDoc, RateLimitDoc, ReportDoc,
    ReportStyle, TokenSource, TokensDoc, Validator, VisibilityDoc,
};
pub use endpoint::{Attacks, Endpoint};
pub use error::{Format, PolicyError};
pub use glob::Glob;
pub use keypath::{normalize_key, KeyPath};
pub use parse::MAX_POLICY_BYTES;
pub use report::ValueReporter;
pub use rules::{check_regex, CustomCategory, KeyRule, KeyRuleTarget};
pub use units::{ByteSize, Span};

/// A validated, resolved policy.
#[derive(Debug, Clone)]
pub struct Policy {
    doc: PolicyDoc,
    /// Categories on anywhere (built-ins after enable/disable, plus custom ones).
    enabled: BTreeSet<String>,
    allow: BTreeMap<String, BTreeSet<String>>,
    custom: Vec<CustomCategory>,
    key_rules: Vec<KeyRule>,
    endpoints: Vec<Endpoint>,
    default_endpoint: Endpoint,
}

impl Default for Policy {
    /// The policy of an empty configuration: every built-in on, every finding an alert.
    fn default() -> Self {
        Policy::from_doc(PolicyDoc::default()).expect("the default policy is valid")
    }
}

impl Policy {
    /// Parses and validates configuration text: JSON if it starts with `{`, else YAML. Empty
    /// text gives the default policy.
    pub fn parse(text: &[u8]) -> Result<Policy, PolicyError> {
        Policy::from_doc(parse::parse_doc(text)?)
    }

    /// Validates an already deserialized document.
    pub fn from_doc(doc: PolicyDoc) -> Result<Policy, PolicyError> {
        compile::compile(doc)
    }

    /// The document as written (with defaults filled in), e.g. for a config dump.
    pub fn doc(&self) -> &PolicyDoc {
        &self.doc
    }

    /// The endpoint handling a request: the first configured endpoint that matches, else the
    /// defaults. `host` is the `:authority` (port ignored), `path` the `:path` (query ignored;
    /// percent-encoded unreserved characters, `//` and dot segments are canonicalised so an
    /// encoding cannot route around an endpoint).
    pub fn endpoint_for(&self, host: &str, path: &str, method: &str) -> &Endpoint {
        let (host, path) = (canonical_host(host), canonical_path(path));
        self.endpoints
            .iter()
            .find(|e| e.matches_canonical(&host, &path, method))
            .unwrap_or(&self.default_endpoint)
    }

    /// The configured endpoints in match order (without the defaults).
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The endpoint used when none matches.
    pub fn default_endpoint(&self) -> &Endpoint {
        &self.default_endpoint
    }

    /// Whether a category is on at all (some endpoint may still leave it out).
    pub fn is_enabled(&self, category: &str) -> bool {
        self.enabled.contains(category)
    }

    /// All categories on, sensitive and attack, built-in and custom.
    pub fn enabled_categories(&self) -> impl Iterator<Item = &str> {
        self.enabled.iter().map(String::as_str)
    }

    /// Whether `value` is on the allow list of `category` (never reported).
    pub fn is_allowed(&self, category: &str, value: &str) -> bool {
        self.allow.get(category).is_some_and(|s| s.contains(value))
    }

    /// The operator's categories, for the detector to compile.
    pub fn custom_categories(&self) -> &[CustomCategory] {
        &self.custom
    }

    /// Key and key-path rules, in configuration order.
    pub fn key_rules(&self) -> &[KeyRule] {
        &self.key_rules
    }

    /// The category a key rule assigns to the value at `path` under `key`, if any.
    pub fn key_rule_category(&self, key: Option<&str>, path: &str) -> Option<&str> {
        self.key_rules
            .iter()
            .find(|r| r.matches(key, path))
            .map(|r| r.category.as_str())
    }

    pub fn tokens(&self) -> &TokensDoc {
        &self.doc.tokens
    }

    pub fn report(&self) -> &ReportDoc {
        &self.doc.report
    }

    /// Renders matched values for metrics, logs and scan output per the `report` section.
    pub fn value_reporter(&self) -> ValueReporter {
        ValueReporter::new(&self.doc.report, &self.doc.tokens.salt)
    }

    pub fn limits(&self) -> &LimitsDoc {
        &self.doc.limits
    }

    pub fn block_response(&self) -> &BlockResponseDoc {
        &self.doc.block_response
    }

    pub fn visibility(&self) -> &VisibilityDoc {
        &self.doc.visibility
    }
}

#[cfg(test)]
mod tests;
