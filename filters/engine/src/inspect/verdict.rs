//! What to do about a message's findings: per-category counts against the endpoint's rules.

use super::{config, Match};
use crate::policy::{Action, Endpoint};
use crate::redact::Mask;

/// The decision for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The strongest action over all categories.
    pub action: Action,
    /// (category, matches, action for that category), sorted by category; categories the
    /// endpoint ignores are left out.
    pub categories: Vec<(String, u32, Action)>,
}

impl Verdict {
    /// A verdict with nothing found.
    pub fn clean() -> Self {
        Verdict {
            action: Action::Ignore,
            categories: Vec::new(),
        }
    }

    /// Raises the action (e.g. after a per-token rate limit was exceeded).
    pub fn raise(&mut self, action: Action) {
        self.action = self.action.max(action);
    }

    /// Raises one category's action (a per-token rate limit on it was exceeded) and the
    /// message's with it, so redaction knows the category must now be masked.
    pub fn raise_category(&mut self, category: &str, action: Action) {
        if let Some(entry) = self.categories.iter_mut().find(|(c, _, _)| c == category) {
            entry.2 = entry.2.max(action);
        }
        self.raise(action);
    }

    /// Whether matches of `category` must be masked under this verdict: its own effective
    /// action (threshold applied, e.g. a `block` rule below its threshold that falls back to
    /// `redact`) is at least `redact`. Categories that only alert stay readable even when
    /// another category in the same message is redacted.
    pub fn masks(&self, category: &str) -> bool {
        self.categories
            .iter()
            .any(|(c, _, a)| c == category && *a >= Action::Redact)
    }

    /// Whether some match that must be masked was dropped at the keep cap, so redaction of the
    /// kept masks alone would leak: the caller applies its fallback instead.
    pub fn masks_dropped(&self, dropped: &[(String, u32)]) -> bool {
        dropped.iter().any(|(c, n)| *n > 0 && self.masks(c))
    }

    /// The masks redaction must apply: those of matches whose category [`Verdict::masks`].
    pub fn masks_for(&self, matches: &[Match]) -> Vec<Mask> {
        matches
            .iter()
            .filter(|m| self.masks(&m.category))
            .map(|m| m.mask.clone())
            .collect()
    }
}

/// Per-category counts of `matches` plus `dropped` (matches counted past the keep cap), for
/// attack or for sensitive-data categories.
fn counts(matches: &[Match], dropped: &[(String, u32)], attacks: bool) -> Vec<(String, u32)> {
    let mut counts: Vec<(String, u32)> = Vec::new();
    let wanted = |c: &str| config::is_attack(c) == attacks;
    let found = matches
        .iter()
        .filter(|m| wanted(&m.category))
        .map(|m| (m.category.as_str(), 1));
    let extra = dropped
        .iter()
        .filter(|(c, _)| wanted(c))
        .map(|(c, n)| (c.as_str(), *n));
    for (category, k) in found.chain(extra) {
        match counts.iter_mut().find(|(c, _)| c == category) {
            Some((_, n)) => *n = n.saturating_add(k),
            None => counts.push((category.to_owned(), k)),
        }
    }
    counts.sort();
    counts
}

/// Sensitive-data verdict: each category's count against the endpoint's action rules
/// (thresholds included). Attack matches are ignored here.
pub fn decide(endpoint: &Endpoint, matches: &[Match]) -> Verdict {
    decide_counted(endpoint, matches, &[])
}

/// [`decide`] with the matches a scan counted but did not keep
/// ([`super::BodyScan::take_dropped`]), so thresholds see the true count.
pub fn decide_counted(
    endpoint: &Endpoint,
    matches: &[Match],
    dropped: &[(String, u32)],
) -> Verdict {
    let mut verdict = Verdict::clean();
    for (category, n) in counts(matches, dropped, false) {
        let action = endpoint.action_for(&category, n);
        if action > Action::Ignore {
            verdict.raise(action);
            verdict.categories.push((category, n, action));
        }
    }
    verdict
}

/// Attack verdict: the endpoint's attack action for each attack category found.
pub fn decide_attacks(endpoint: &Endpoint, matches: &[Match]) -> Verdict {
    decide_attacks_counted(endpoint, matches, &[])
}

/// [`decide_attacks`] with dropped counts (see [`decide_counted`]).
pub fn decide_attacks_counted(
    endpoint: &Endpoint,
    matches: &[Match],
    dropped: &[(String, u32)],
) -> Verdict {
    let mut verdict = Verdict::clean();
    for (category, n) in counts(matches, dropped, true) {
        let action = endpoint.attacks().action_for(&category);
        if action > Action::Ignore {
            verdict.raise(action);
            verdict.categories.push((category, n, action));
        }
    }
    verdict
}
