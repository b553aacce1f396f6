//! What to do about a message's findings: per-category counts against the endpoint's rules.

use super::{config, Match};
use crate::policy::{Action, Endpoint};

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
}

fn counts<'a>(matches: impl Iterator<Item = &'a Match>) -> Vec<(String, u32)> {
    let mut counts: Vec<(String, u32)> = Vec::new();
    for m in matches {
        match counts.iter_mut().find(|(c, _)| *c == m.category) {
            Some((_, n)) => *n += 1,
            None => counts.push((m.category.clone(), 1)),
        }
    }
    counts.sort();
    counts
}

/// Sensitive-data verdict: each category's count against the endpoint's action rules
/// (thresholds included). Attack matches are ignored here.
pub fn decide(endpoint: &Endpoint, matches: &[Match]) -> Verdict {
    let mut verdict = Verdict::clean();
    for (category, n) in counts(matches.iter().filter(|m| !config::is_attack(&m.category))) {
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
    let mut verdict = Verdict::clean();
    for (category, n) in counts(matches.iter().filter(|m| config::is_attack(&m.category))) {
        let action = endpoint.attacks().action_for(&category);
        if action > Action::Ignore {
            verdict.raise(action);
            verdict.categories.push((category, n, action));
        }
    }
    verdict
}
