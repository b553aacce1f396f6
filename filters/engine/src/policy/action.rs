//! What to do with findings: the action words and per-category rules with thresholds.

use core::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::keyword::keyword_enum;

keyword_enum! {
    /// The action taken on a response (or request) with findings. Ordered by severity, so the
    /// strongest of several applicable actions is their `max`.
    pub enum Action as "action" {
        /// Not counted, not reported.
        Ignore = "ignore",
        /// Counted in metrics (and logged when finding events are on); traffic unchanged.
        Alert = "alert",
        /// Matches masked in the body before it is forwarded.
        Redact = "redact",
        /// The whole message replaced by the configured block response.
        Block = "block",
    }
}

keyword_enum! {
    /// The action for request-side attack detection: attacks are never redacted.
    pub enum AttackAction as "attack action" {
        Alert = "alert",
        Block = "block",
    }
}

impl From<AttackAction> for Action {
    fn from(a: AttackAction) -> Action {
        match a {
            AttackAction::Alert => Action::Alert,
            AttackAction::Block => Action::Block,
        }
    }
}

/// An action that applies from `threshold` matches per message on; below it, `below` applies.
///
/// Written either as a bare word (`block`, threshold 1) or as a map
/// `{action: block, threshold: 10, below: alert}`: a profile page with one email address is
/// normal, a response with hundreds is a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ActionRule {
    pub action: Action,
    pub threshold: u32,
    pub below: Action,
}

impl ActionRule {
    /// The rule for a bare action word: applies from the first match.
    pub const fn always(action: Action) -> Self {
        ActionRule {
            action,
            threshold: 1,
            below: default_below(action),
        }
    }

    /// The action for a message with `count` matches of the category.
    pub fn for_count(&self, count: u32) -> Action {
        if count == 0 {
            Action::Ignore
        } else if count >= self.threshold {
            self.action
        } else {
            self.below
        }
    }
}

/// Below the threshold of a `redact` or `block` rule findings are still worth seeing in
/// metrics; below an `alert` threshold they are noise by the operator's own statement.
const fn default_below(action: Action) -> Action {
    match action {
        Action::Ignore | Action::Alert => Action::Ignore,
        Action::Redact | Action::Block => Action::Alert,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleMap {
    action: Action,
    #[serde(default)]
    threshold: Option<u32>,
    #[serde(default)]
    below: Option<Action>,
}

impl<'de> Deserialize<'de> for ActionRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ActionRule;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an action (ignore|alert|redact|block) or {action, threshold, below}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ActionRule, E> {
                v.parse().map(ActionRule::always).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ActionRule, A::Error> {
                let m = RuleMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let threshold = m.threshold.unwrap_or(1);
                if threshold == 0 {
                    return Err(de::Error::custom("threshold must be at least 1"));
                }
                let below = m.below.unwrap_or(default_below(m.action));
                if below > m.action {
                    return Err(de::Error::custom(format!(
                        "below ({below}) must not be stronger than action ({})",
                        m.action
                    )));
                }
                Ok(ActionRule {
                    action: m.action,
                    threshold,
                    below,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_word_applies_from_first_match() {
        let r: ActionRule = serde_json::from_str("\"block\"").unwrap();
        assert_eq!(r, ActionRule::always(Action::Block));
        assert_eq!(r.for_count(0), Action::Ignore);
        assert_eq!(r.for_count(1), Action::Block);
    }

    #[test]
    fn threshold_switches_action_at_count() {
        let r: ActionRule = serde_json::from_str(r#"{"action":"block","threshold":10}"#).unwrap();
        assert_eq!(r.for_count(9), Action::Alert);
        assert_eq!(r.for_count(10), Action::Block);
        let r: ActionRule =
            serde_json::from_str(r#"{"action":"alert","threshold":3,"below":"ignore"}"#).unwrap();
        assert_eq!(r.for_count(2), Action::Ignore);
        assert_eq!(r.for_count(3), Action::Alert);
    }

    #[test]
    fn bad_rules_are_rejected_with_reasons() {
        let e = serde_json::from_str::<ActionRule>("\"redcat\"").unwrap_err();
        assert!(
            e.to_string()
                .contains(r#"unknown action "redcat" (expected ignore|alert|redact|block)"#),
            "{e}"
        );
        let e = serde_json::from_str::<ActionRule>(r#"{"action":"alert","threshold":0}"#);
        assert!(e.unwrap_err().to_string().contains("at least 1"));
        let e = serde_json::from_str::<ActionRule>(r#"{"action":"alert","below":"block"}"#);
        assert!(e.unwrap_err().to_string().contains("must not be stronger"));
        let e = serde_json::from_str::<ActionRule>(r#"{"action":"alert","limit":3}"#);
        assert!(e.unwrap_err().to_string().contains("unknown field"));
    }

    #[test]
    fn actions_order_by_severity() {
        assert!(Action::Block > Action::Redact && Action::Redact > Action::Alert);
        assert_eq!(Action::from(AttackAction::Block), Action::Block);
    }
}
