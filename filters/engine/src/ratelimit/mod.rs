//! Per-token rate limits on sensitive data: "a token that reads more than 100 SSNs a minute is
//! blocked".
//!
//! Counts are kept per (token hash, limit) in [`SlidingWindows`]. A message whose matches would
//! take a token over a limit gets that limit's action; matches are only counted when they were
//! actually delivered (the action was `alert`), so a blocked or redacted response does not use
//! up the token's allowance. State is per VM: with N worker VMs a token spread over all of them
//! may read up to N × max before every VM blocks it (the filter may share counts through
//! proxy-wasm shared data to tighten this).

mod window;

pub use window::SlidingWindows;

use crate::policy::{Action, RateLimitDoc, TokensDoc};

/// A limit that a message would exceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    pub category: String,
    /// Matches in the window before this message.
    pub seen: u64,
    pub max: u64,
    pub action: Action,
}

/// The per-token limits of a policy with their counters.
#[derive(Debug, Clone)]
pub struct TokenRateLimits {
    limits: Vec<RateLimitDoc>,
    windows: SlidingWindows<(String, usize)>,
}

impl TokenRateLimits {
    pub fn new(tokens: &TokensDoc) -> Self {
        TokenRateLimits {
            limits: tokens.rate_limits.clone(),
            windows: SlidingWindows::new(
                tokens
                    .max_tracked
                    .saturating_mul(tokens.rate_limits.len().max(1)),
            ),
        }
    }

    /// Whether any limit is configured (if not, the filter need not extract tokens for limits).
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty()
    }

    /// Checks a message in which `token` has `count` matches of `category`, at `now_ns`.
    /// Returns the strongest exceeded limit, if any; records the matches under every limit on
    /// the category when the resulting action lets them through (none, or `alert`).
    pub fn check(
        &mut self,
        token: &str,
        category: &str,
        count: u32,
        now_ns: u64,
    ) -> Option<Exceeded> {
        if count == 0 {
            return None;
        }
        let count = u64::from(count);
        let mut worst: Option<Exceeded> = None;
        let mut applicable = Vec::new();
        for (i, limit) in self.limits.iter().enumerate() {
            if limit.category != category {
                continue;
            }
            let key = (token.to_string(), i);
            let window = limit.per.as_nanos();
            let seen = self.windows.count(&key, now_ns, window);
            if seen.saturating_add(count) > limit.max
                && worst.as_ref().is_none_or(|w| limit.action > w.action)
            {
                worst = Some(Exceeded {
                    category: category.to_string(),
                    seen,
                    max: limit.max,
                    action: limit.action,
                });
            }
            applicable.push((key, window));
        }
        let delivered = worst.as_ref().is_none_or(|w| w.action <= Action::Alert);
        if delivered {
            for (key, window) in &applicable {
                self.windows.add(key, count, now_ns, *window);
            }
        }
        worst
    }

    /// Distinct (token, limit) pairs currently tracked.
    pub fn tracked(&self) -> usize {
        self.windows.len()
    }
}

#[cfg(test)]
mod tests;
