//! The policy document as written: plain serde structs mirroring the YAML/JSON and the JSON
//! Schema one to one. Every struct denies unknown fields so a typo (`treshold`) is an error, not
//! a silently ignored setting. Semantic checks (known categories, valid regexes, ranges) happen
//! after deserialization, in `validate`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::action::{ActionRule, AttackAction};
use super::content::ContentKind;
use super::keyword::keyword_enum;
use super::units::{ByteSize, Span};

/// The whole plugin configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyDoc {
    /// Schema version; only 1 exists.
    pub version: Option<u32>,
    pub categories: CategoriesDoc,
    /// Settings every endpoint inherits; also what applies when no endpoint matches.
    pub defaults: EndpointDoc,
    /// Checked in order; the first whose host, path and method match applies.
    pub endpoints: Vec<EndpointDoc>,
    pub tokens: TokensDoc,
    pub report: ReportDoc,
    pub limits: LimitsDoc,
    pub block_response: BlockResponseDoc,
    pub visibility: VisibilityDoc,
}

/// Built-in selection, custom categories and key rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CategoriesDoc {
    /// If set, only these built-ins are on (default: all).
    pub enable: Option<Vec<String>>,
    /// Built-ins turned off.
    pub disable: Vec<String>,
    /// Per category, exact values never reported (documentation examples, test cards).
    pub allow: BTreeMap<String, Vec<String>>,
    pub custom: Vec<CustomCategoryDoc>,
    /// JSON keys and key paths whose values belong to a category whatever they look like.
    pub keys: Vec<KeyRuleDoc>,
}

/// A category defined by the operator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CustomCategoryDoc {
    pub id: String,
    pub description: Option<String>,
    /// A regular expression (Rust `regex` syntax) for the values.
    pub regex: Option<String>,
    /// Exact strings to find (a deny list of known secrets, internal hostnames…).
    pub literals: Vec<String>,
    /// Literals and regex match case-insensitively.
    pub case_insensitive: bool,
    /// Exact values never reported.
    pub allow: Vec<String>,
    /// Regexes: a match that fully matches one of these is dropped.
    pub except: Vec<String>,
    /// A check run on each candidate after the pattern matched.
    pub validator: Option<Validator>,
    /// Trigger keys: if set, only values under these JSON/form keys are considered; with no
    /// regex and no literals, every non-empty value under them is a finding.
    pub keys: Vec<String>,
}

/// Post-match validators the engine implements (deserialized in `tagged`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Validator {
    Luhn,
    Ssn,
    Iban,
    Aba,
    Jwt,
    Entropy { min_bits_per_char: f64 },
}

/// Values under `key` (any depth, case-insensitive) or at `path` (`$.user.ssn`, `[*]` for any
/// array element) belong to `category`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyRuleDoc {
    pub key: Option<String>,
    pub path: Option<String>,
    pub category: String,
}

/// An endpoint: where it applies (host, path, methods) and what it does. In `defaults` the
/// matchers are not allowed; elsewhere unset settings are inherited from `defaults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EndpointDoc {
    /// Label used in metrics and logs; defaults to the path glob.
    pub name: Option<String>,
    pub host: Option<String>,
    pub path: Option<String>,
    pub methods: Option<Vec<String>>,
    /// If set, only these categories are looked for here.
    pub categories: Option<Vec<String>>,
    /// Per-category actions, merged over those of `defaults`.
    pub actions: BTreeMap<String, ActionRule>,
    /// For enabled categories without an entry in `actions`.
    pub default_action: Option<ActionRule>,
    pub content_types: Option<Vec<ContentKind>>,
    /// Also scan request bodies for sensitive data (responses are always scanned).
    pub scan_requests: Option<bool>,
    pub attacks: Option<AttacksDoc>,
}

keyword_enum! {
    /// Parts of a request inspected for attacks.
    pub enum AttackLocation as "attack location" {
        Path = "path",
        Query = "query",
        Headers = "headers",
        Body = "body",
    }
}

/// Request-side attack detection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttacksDoc {
    pub enabled: Option<bool>,
    pub action: Option<AttackAction>,
    pub inspect: Option<Vec<AttackLocation>>,
    /// Attack categories to look for (default: all).
    pub categories: Option<Vec<String>>,
}

/// Where a request's token comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// The credential of `Authorization: Bearer …`.
    Bearer,
    /// The `sub` claim of a JWT bearer token, decoded but not verified.
    JwtSub,
    /// The value of a request header.
    Header(String),
    /// The value of a cookie.
    Cookie(String),
}

/// Token attribution and per-token rate limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensDoc {
    /// Tried in order; the first present gives the token.
    pub sources: Vec<TokenSource>,
    /// Mixed into every hash so hashes cannot be matched across deployments.
    pub salt: String,
    /// Hex characters of the SHA-256 kept (8..=64).
    pub hash_length: usize,
    pub rate_limits: Vec<RateLimitDoc>,
    /// Distinct tokens tracked for rate limits per VM; the least recently seen is evicted.
    pub max_tracked: usize,
}

impl Default for TokensDoc {
    fn default() -> Self {
        TokensDoc {
            sources: vec![TokenSource::JwtSub, TokenSource::Bearer],
            salt: String::new(),
            hash_length: 16,
            rate_limits: Vec::new(),
            max_tracked: 10_000,
        }
    }
}

/// At most `max` matches of `category` per token within `per`; beyond it, `action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitDoc {
    pub category: String,
    pub max: u64,
    pub per: Span,
    #[serde(default = "default_rate_action")]
    pub action: super::action::Action,
}

fn default_rate_action() -> super::action::Action {
    super::action::Action::Block
}

keyword_enum! {
    /// How a matched value appears in metrics, logs and scan output.
    pub enum ReportStyle as "report style" {
        /// Not at all: category and position only.
        None = "none",
        /// A salted SHA-256 prefix, for correlating repeats without revealing the value.
        Hash = "hash",
        /// Masked except the last few characters.
        Mask = "mask",
        /// The value itself. Only when explicitly configured.
        Raw = "raw",
    }
}

/// Reporting of matched values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportDoc {
    pub values: ReportStyle,
    /// Characters left visible by `mask` (at most half the value).
    pub mask_keep: usize,
}

impl Default for ReportDoc {
    fn default() -> Self {
        ReportDoc {
            values: ReportStyle::Mask,
            mask_keep: 4,
        }
    }
}

keyword_enum! {
    /// What redact and block modes do with a body larger than they may hold.
    pub enum Fallback as "fallback" {
        /// Forward it unmodified and count an alert (availability first).
        PassWithAlert = "pass_with_alert",
        /// Answer with the block response (confidentiality first).
        FailClosed = "fail_closed",
    }
}

/// Memory bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsDoc {
    /// Bytes of a body held while deciding in redact/block modes.
    pub max_body_bytes: ByteSize,
    pub fallback: Fallback,
}

impl Default for LimitsDoc {
    fn default() -> Self {
        LimitsDoc {
            max_body_bytes: ByteSize(1 << 20),
            fallback: Fallback::PassWithAlert,
        }
    }
}

/// The reply sent instead of a blocked message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlockResponseDoc {
    /// HTTP status for non-gRPC traffic (400..=599).
    pub status: u16,
    pub body: String,
    pub content_type: String,
    /// gRPC status for gRPC traffic (1..=16; 7 is PERMISSION_DENIED).
    pub grpc_status: u32,
    pub grpc_message: String,
}

impl Default for BlockResponseDoc {
    fn default() -> Self {
        BlockResponseDoc {
            status: 403,
            body: "{\"error\":\"blocked by policy\"}".into(),
            content_type: "application/json".into(),
            grpc_status: 7,
            grpc_message: "blocked by policy".into(),
        }
    }
}

/// Where the calling service's identity comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentitySource {
    /// The URI SAN of the peer certificate (`connection.uri_san_peer_certificate`).
    Spiffe,
    /// The `URI=` of the last element of `x-forwarded-client-cert`.
    Xfcc,
    /// A request header set by a trusted hop.
    Header(String),
}

/// Metrics labels and finding events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VisibilityDoc {
    pub source_identity: Vec<IdentitySource>,
    /// Distinct token hashes kept as metric labels; the rest are `other`.
    pub top_tokens: usize,
    /// Distinct endpoint labels kept; the rest are `other`.
    pub top_endpoints: usize,
    /// Distinct source services kept; the rest are `other`.
    pub top_sources: usize,
    /// Replace ids in paths (`/users/123` → `/users/{id}`) for unnamed endpoints.
    pub normalize_paths: bool,
    /// Log one JSON event per finding.
    pub finding_events: bool,
}

impl Default for VisibilityDoc {
    fn default() -> Self {
        VisibilityDoc {
            source_identity: vec![IdentitySource::Spiffe, IdentitySource::Xfcc],
            top_tokens: 100,
            top_endpoints: 100,
            top_sources: 100,
            normalize_paths: true,
            finding_events: false,
        }
    }
}
