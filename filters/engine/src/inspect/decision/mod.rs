//! What to do with a body: whether to hold it, when to stop holding it, and — once its
//! findings are known — pass, redact or block, with the policy's fallback for every case the
//! verdict alone cannot settle (too large to hold, scan incomplete, too many matches to mask,
//! a body that cannot be rewritten).
//!
//! Pure functions of the policy and of facts the caller observed, so the filter (which only
//! moves bytes) and `microwaf scan` take the same decision for the same body, and every branch
//! is tested natively.

#[cfg(test)]
mod tests;

use super::{ScanMode, Verdict};
use crate::formats::FormatError;
use crate::policy::{Action, AttackLocation, Endpoint, Fallback, LimitsDoc};

/// Why a body was handled by `limits.fallback` (or, in alert mode, passed with an alert)
/// instead of by its verdict alone. Counted as `microwaf_fallbacks{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackReason {
    /// The body grew past `limits.max_body_bytes` while held.
    BodyLimit,
    /// The body could not be decoded: unknown `content-encoding`, corrupt compressed data, or
    /// more decoded bytes than the decompression bound (a bomb). The rest passes undecoded.
    Encoding,
    /// The scan did not finish within the per-callback time budget (the VM deadline must never
    /// be reached: a trap would cut the stream).
    ScanTime,
    /// The body's structure could not be followed (a protobuf message or gRPC frame over the
    /// message bound, a body ending inside a frame, malformed protobuf or multipart): what
    /// follows the error was not scanned.
    Malformed,
    /// The verdict says redact but the held body cannot be rewritten (Brotli, compressed gRPC
    /// frames, a coding that fails to decode).
    Redact,
    /// More matches to mask than the scan keeps masks for.
    MatchLimit,
}

impl FallbackReason {
    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackReason::BodyLimit => "body_limit",
            FallbackReason::Encoding => "encoding",
            FallbackReason::ScanTime => "scan_time",
            FallbackReason::Malformed => "malformed",
            FallbackReason::Redact => "redact",
            FallbackReason::MatchLimit => "match_limit",
        }
    }
}

impl FallbackReason {
    /// Why a scan that failed with `e` is incomplete.
    pub fn for_error(e: &FormatError) -> Self {
        match e {
            FormatError::DecodedTooLarge { .. }
            | FormatError::Corrupt { .. }
            | FormatError::UnsupportedEncoding(_) => FallbackReason::Encoding,
            FormatError::MessageTooLarge { .. }
            | FormatError::Truncated(_)
            | FormatError::Malformed { .. } => FallbackReason::Malformed,
        }
    }
}

/// How a body is inspected, decided when its headers arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPlan {
    pub mode: ScanMode,
    /// The body is held (paused) until a decision point, because a verdict may redact or block
    /// it. Alert-only plans never hold: chunks flow on as they are scanned.
    pub hold: bool,
    /// Redaction may change the body's length: `content-length` must be dropped.
    pub may_resize: bool,
}

/// The plan for a request body, or `None` when it is not inspected.
pub fn plan_request(ep: &Endpoint) -> Option<BodyPlan> {
    let attacks = ep.attacks();
    let body_attacks = attacks.enabled && attacks.inspects(AttackLocation::Body);
    let mode = match (ep.scan_requests(), body_attacks) {
        (true, true) => ScanMode::Both,
        (true, false) => ScanMode::Sensitive,
        (false, true) => ScanMode::Attacks,
        (false, false) => return None,
    };
    let blocks_attacks = attacks
        .categories()
        .any(|c| attacks.action_for(c) == Action::Block);
    let redacts = ep.scan_requests() && ep.strongest_action() >= Action::Redact;
    Some(BodyPlan {
        mode,
        hold: (body_attacks && blocks_attacks) || redacts,
        may_resize: redacts,
    })
}

/// The plan for a response body of `content_type`, or `None` when that kind is not inspected
/// here. `rate_limit_acts` says a per-token rate limit of this caller may redact or block.
pub fn plan_response(
    ep: &Endpoint,
    content_type: Option<&str>,
    rate_limit_acts: bool,
) -> Option<BodyPlan> {
    ep.inspect(content_type)?;
    let hold = ep.strongest_action() >= Action::Redact || rate_limit_acts;
    Some(BodyPlan {
        mode: ScanMode::Sensitive,
        hold,
        may_resize: hold,
    })
}

/// Whether a held body must stop being held now. `held` is what the host holds,
/// `largest_chunk` the largest piece seen so far. Holding stops as soon as the next piece could
/// cross `max_body_bytes`, assuming it may be twice the largest so far (HTTP/1 reads grow by
/// doubling): the filter must decide before the host's own buffer limit answers 413/500, which
/// it does as long as that limit is at least `max_body_bytes`.
pub fn over_hold_limit(limits: &LimitsDoc, held: u64, largest_chunk: u64) -> bool {
    held.saturating_add(largest_chunk.saturating_mul(2)) > limits.max_body_bytes.0
}

/// What happens to the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Forward it as it is.
    Pass,
    /// Forward it with the masks of [`Verdict::masks_for`] applied.
    Redact,
    /// Replace the message with the block response.
    Block,
}

/// The decision for one body (or one held part of it, for gRPC message by message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    /// Set when the policy's fallback (or alert mode's pass) decided instead of the verdict.
    pub fallback: Option<FallbackReason>,
}

impl Decision {
    fn by_verdict(outcome: Outcome) -> Self {
        Decision {
            outcome,
            fallback: None,
        }
    }

    /// The policy's fallback for `reason`.
    pub fn fallback(policy: Fallback, reason: FallbackReason) -> Self {
        let outcome = match policy {
            Fallback::PassWithAlert => Outcome::Pass,
            Fallback::FailClosed => Outcome::Block,
        };
        Decision {
            outcome,
            fallback: Some(reason),
        }
    }
}

/// What the caller observed about a body when it decides.
#[derive(Debug, Clone, Copy)]
pub struct BodyFacts<'a> {
    /// The verdict over the findings so far (rate limits already applied).
    pub verdict: &'a Verdict,
    /// Matches counted past the scan's keep cap, per category.
    pub dropped: &'a [(String, u32)],
    /// Why the scan did not see the whole body, if it did not.
    pub incomplete: Option<FallbackReason>,
    /// The body is still held, so it can be redacted or blocked. An alert-only body, or one
    /// already released at the hold limit, can only pass.
    pub held: bool,
    /// The held body can be rewritten (its coding can be re-encoded, no compressed gRPC frame
    /// carries a mask, decoding it succeeded). Only consulted for a redact verdict.
    pub rewritable: bool,
}

/// The decision for a body, by precedence:
/// 1. a body that is no longer held passes (its findings are reported; an incomplete scan is
///    still reported as a fallback so operators see what was not inspected);
/// 2. a `block` verdict blocks, even on a partial scan: what was found is enough;
/// 3. a partial scan follows `limits.fallback`: what was not seen may hold anything;
/// 4. a `redact` verdict that cannot mask every match (cap reached) or cannot rewrite the
///    body follows `limits.fallback`, never a partial redaction that would leak the rest;
/// 5. otherwise the verdict: redact, or pass.
pub fn decide_body(facts: &BodyFacts<'_>, policy: Fallback) -> Decision {
    let v = facts.verdict;
    if !facts.held {
        return Decision {
            outcome: Outcome::Pass,
            fallback: facts.incomplete,
        };
    }
    if v.action == Action::Block {
        return Decision::by_verdict(Outcome::Block);
    }
    if let Some(reason) = facts.incomplete {
        return Decision::fallback(policy, reason);
    }
    if v.action == Action::Redact {
        if v.masks_dropped(facts.dropped) {
            return Decision::fallback(policy, FallbackReason::MatchLimit);
        }
        if !facts.rewritable {
            return Decision::fallback(policy, FallbackReason::Redact);
        }
        return Decision::by_verdict(Outcome::Redact);
    }
    Decision::by_verdict(Outcome::Pass)
}
