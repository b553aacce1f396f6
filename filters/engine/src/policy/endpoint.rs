//! A resolved endpoint: its matchers and its settings with `defaults` already merged in, so the
//! per-request lookups are plain reads.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::action::{Action, ActionRule, AttackAction};
use super::canon::{canonical_host, canonical_path};
use super::content::ContentKind;
use super::doc::AttackLocation;
use super::glob::Glob;
use crate::cardinality::normalize_path;

/// What one endpoint looks for and does.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub(crate) name: String,
    /// Whether `name` was configured (not derived from the path glob).
    pub(crate) named: bool,
    pub(crate) host: Option<Glob>,
    pub(crate) path: Option<Glob>,
    /// Upper-case method names; `None` for any.
    pub(crate) methods: Option<Vec<String>>,
    /// Sensitive-data categories looked for here.
    pub(crate) categories: BTreeSet<String>,
    pub(crate) actions: BTreeMap<String, ActionRule>,
    pub(crate) default_action: ActionRule,
    pub(crate) content_types: Vec<ContentKind>,
    pub(crate) scan_requests: bool,
    pub(crate) attacks: Attacks,
}

impl Endpoint {
    /// The endpoint's label: its `name`, else its path glob, else `default`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The endpoint label for metrics: the configured `name`; else, when `normalize_paths` is on,
    /// the route-like form of the request path (`/users/{id}`); else the path glob or
    /// `default`. Feed it through a [`crate::cardinality::TopN`] before use as a label.
    pub fn metric_label(&self, request_path: &str, normalize_paths: bool) -> Cow<'_, str> {
        if !self.named && normalize_paths {
            Cow::Owned(normalize_path(&canonical_path(request_path)))
        } else {
            Cow::Borrowed(&self.name)
        }
    }

    /// Whether a request for `host` (port ignored), `path` (query ignored) and `method` is
    /// handled by this endpoint. Both are canonicalised first (see [`super::canonical_path`]).
    pub fn matches(&self, host: &str, path: &str, method: &str) -> bool {
        self.matches_canonical(&canonical_host(host), &canonical_path(path), method)
    }

    pub(crate) fn matches_canonical(&self, host: &str, path: &str, method: &str) -> bool {
        self.host.as_ref().is_none_or(|g| g.matches(host))
            && self.path.as_ref().is_none_or(|g| g.matches(path))
            && self
                .methods
                .as_ref()
                .is_none_or(|ms| ms.iter().any(|m| m.eq_ignore_ascii_case(method)))
    }

    /// The action for a message with `count` matches of `category`. Categories not looked for
    /// here (disabled, or not selected by the endpoint) give [`Action::Ignore`].
    pub fn action_for(&self, category: &str, count: u32) -> Action {
        if !self.categories.contains(category) {
            return Action::Ignore;
        }
        self.actions
            .get(category)
            .unwrap_or(&self.default_action)
            .for_count(count)
    }

    /// The action for a whole message: the strongest over its per-category match counts.
    pub fn action_for_counts<'a>(
        &self,
        counts: impl IntoIterator<Item = (&'a str, u32)>,
    ) -> Action {
        counts
            .into_iter()
            .map(|(category, n)| self.action_for(category, n))
            .max()
            .unwrap_or(Action::Ignore)
    }

    /// The rule configured for `category` (merged with defaults), if the category is on here.
    pub fn rule_for(&self, category: &str) -> Option<&ActionRule> {
        self.categories
            .contains(category)
            .then(|| self.actions.get(category).unwrap_or(&self.default_action))
    }

    /// The sensitive-data categories looked for here, so the detector can skip the rest.
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.categories.iter().map(String::as_str)
    }

    /// The strongest action any rule here can reach: `alert` means bodies can stream through
    /// without being held, `redact`/`block` mean they must be buffered up to the limit.
    pub fn strongest_action(&self) -> Action {
        self.categories
            .iter()
            .filter_map(|c| self.rule_for(c))
            .map(|r| r.action)
            .max()
            .unwrap_or(Action::Ignore)
    }

    /// The kind of body to parse for this `content-type`, or `None` if it is not inspected here.
    pub fn inspect(&self, content_type: Option<&str>) -> Option<ContentKind> {
        let kind = ContentKind::classify(content_type);
        self.content_types.contains(&kind).then_some(kind)
    }

    /// Whether request bodies are scanned for sensitive data too.
    pub fn scan_requests(&self) -> bool {
        self.scan_requests
    }

    /// Request-side attack detection settings.
    pub fn attacks(&self) -> &Attacks {
        &self.attacks
    }
}

/// Resolved request-side attack detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attacks {
    pub enabled: bool,
    pub action: AttackAction,
    pub inspect: Vec<AttackLocation>,
    pub categories: BTreeSet<String>,
}

impl Attacks {
    /// Whether this part of the request is inspected at all.
    pub fn inspects(&self, location: AttackLocation) -> bool {
        self.enabled && self.inspect.contains(&location)
    }

    /// The action for a detected attack of `category`; `Ignore` when off or not selected.
    pub fn action_for(&self, category: &str) -> Action {
        if self.enabled && self.categories.contains(category) {
            self.action.into()
        } else {
            Action::Ignore
        }
    }

    /// The attack categories looked for.
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.categories.iter().map(String::as_str)
    }
}
