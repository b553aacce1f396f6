//! `microwaf scan --decide`: what the filter would do with each document as a response of the
//! policy's default endpoint, through the engine's own plan and decision functions (the filter
//! calls the same ones), so a policy can be tried on captured bodies before it is deployed.

use microwaf_engine::formats::FormatError;
use microwaf_engine::inspect::{
    decide_attacks_counted, decide_body, decide_counted, over_hold_limit, plan_response, BodyFacts,
    FallbackReason, Match, Outcome, ScanMode,
};
use microwaf_engine::policy::Policy;

use super::Doc;

/// One document's scan outcome, as the decision needs it.
pub struct Scanned<'a> {
    pub matches: &'a [Match],
    pub dropped: &'a [(String, u32)],
    pub error: Option<&'a FormatError>,
}

/// The decision line for a document: `{"source","decision","action"[,"fallback"]}`.
pub fn decision_line(policy: &Policy, doc: &Doc, mode: ScanMode, s: &Scanned<'_>) -> String {
    let ep = policy.default_endpoint();
    let Some(plan) = plan_response(ep, doc.content_type.as_deref(), false) else {
        return serde_json::json!({
            "source": doc.source,
            "decision": "pass",
            "action": "ignore",
            "inspected": false,
        })
        .to_string();
    };
    let mut verdict = decide_counted(ep, s.matches, s.dropped);
    if mode != ScanMode::Sensitive {
        let attacks = decide_attacks_counted(ep, s.matches, s.dropped);
        verdict.raise(attacks.action);
        verdict.categories.extend(attacks.categories);
    }
    // A held body larger than the hold limit is released before its end is seen.
    let too_large = plan.hold && over_hold_limit(policy.limits(), doc.body.len() as u64, 0);
    let incomplete = if too_large {
        Some(FallbackReason::BodyLimit)
    } else {
        s.error.map(FallbackReason::for_error)
    };
    let facts = BodyFacts {
        verdict: &verdict,
        dropped: s.dropped,
        incomplete,
        held: plan.hold,
        // The filter cannot re-encode Brotli; every other supported coding it can.
        rewritable: !doc
            .content_encoding
            .as_deref()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case("br")),
    };
    let d = decide_body(&facts, policy.limits().fallback);
    let mut line = serde_json::json!({
        "source": doc.source,
        "decision": match d.outcome {
            Outcome::Pass => "pass",
            Outcome::Redact => "redact",
            Outcome::Block => "block",
        },
        "action": verdict.action.to_string(),
    });
    if let Some(r) = d.fallback {
        line["fallback"] = r.as_str().into();
    }
    line.to_string()
}
