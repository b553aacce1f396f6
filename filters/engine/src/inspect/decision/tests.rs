use super::*;
use crate::policy::{ByteSize, Policy};

fn verdict(action: Action, categories: &[(&str, u32, Action)]) -> Verdict {
    Verdict {
        action,
        categories: categories
            .iter()
            .map(|(c, n, a)| ((*c).to_owned(), *n, *a))
            .collect(),
    }
}

fn facts<'a>(v: &'a Verdict, dropped: &'a [(String, u32)]) -> BodyFacts<'a> {
    BodyFacts {
        verdict: v,
        dropped,
        incomplete: None,
        held: true,
        rewritable: true,
    }
}

const BOTH: [Fallback; 2] = [Fallback::PassWithAlert, Fallback::FailClosed];

fn fallback_outcome(policy: Fallback) -> Outcome {
    match policy {
        Fallback::PassWithAlert => Outcome::Pass,
        Fallback::FailClosed => Outcome::Block,
    }
}

#[test]
fn complete_scans_follow_the_verdict() {
    for (action, outcome) in [
        (Action::Ignore, Outcome::Pass),
        (Action::Alert, Outcome::Pass),
        (Action::Redact, Outcome::Redact),
        (Action::Block, Outcome::Block),
    ] {
        let v = verdict(action, &[("credit_card", 1, action)]);
        for policy in BOTH {
            let d = decide_body(&facts(&v, &[]), policy);
            assert_eq!(d.outcome, outcome, "{action:?}");
            assert_eq!(d.fallback, None);
        }
    }
}

#[test]
fn a_body_no_longer_held_passes_and_keeps_its_reason() {
    let v = verdict(Action::Block, &[("credit_card", 1, Action::Block)]);
    for incomplete in [None, Some(FallbackReason::BodyLimit)] {
        let f = BodyFacts {
            held: false,
            incomplete,
            ..facts(&v, &[])
        };
        for policy in BOTH {
            let d = decide_body(&f, policy);
            assert_eq!(d.outcome, Outcome::Pass);
            assert_eq!(d.fallback, incomplete);
        }
    }
}

#[test]
fn a_partial_scan_blocks_on_a_block_finding_else_follows_the_fallback() {
    let block = verdict(Action::Block, &[("aws_access_key_id", 1, Action::Block)]);
    let redact = verdict(Action::Redact, &[("email", 1, Action::Redact)]);
    let clean = Verdict::clean();
    for reason in [
        FallbackReason::BodyLimit,
        FallbackReason::ScanTime,
        FallbackReason::Encoding,
    ] {
        for policy in BOTH {
            let partial = |v| BodyFacts {
                incomplete: Some(reason),
                ..facts(v, &[])
            };
            let d = decide_body(&partial(&block), policy);
            assert_eq!(d, Decision::by_verdict(Outcome::Block), "{reason:?}");
            for v in [&redact, &clean] {
                let d = decide_body(&partial(v), policy);
                assert_eq!(d.outcome, fallback_outcome(policy), "{reason:?} {policy:?}");
                assert_eq!(d.fallback, Some(reason));
            }
        }
    }
}

#[test]
fn a_redaction_that_would_leak_follows_the_fallback() {
    let v = verdict(
        Action::Redact,
        &[
            ("email", 5000, Action::Redact),
            ("phone_number", 1, Action::Alert),
        ],
    );
    let masked_dropped = [("email".to_owned(), 904)];
    let alert_dropped = [("phone_number".to_owned(), 3)];
    for policy in BOTH {
        let d = decide_body(&facts(&v, &masked_dropped), policy);
        assert_eq!(d.outcome, fallback_outcome(policy));
        assert_eq!(d.fallback, Some(FallbackReason::MatchLimit));
        // Dropped alert-only matches need no mask: the redaction is complete.
        let d = decide_body(&facts(&v, &alert_dropped), policy);
        assert_eq!(d, Decision::by_verdict(Outcome::Redact));
        let fixed = BodyFacts {
            rewritable: false,
            ..facts(&v, &[])
        };
        let d = decide_body(&fixed, policy);
        assert_eq!(d.outcome, fallback_outcome(policy));
        assert_eq!(d.fallback, Some(FallbackReason::Redact));
    }
}

#[test]
fn rewritability_only_matters_for_redaction() {
    let v = verdict(Action::Alert, &[("email", 1, Action::Alert)]);
    let f = BodyFacts {
        rewritable: false,
        ..facts(&v, &[])
    };
    assert_eq!(
        decide_body(&f, Fallback::FailClosed),
        Decision::by_verdict(Outcome::Pass)
    );
}

#[test]
fn holding_stops_before_one_more_piece_could_cross_the_limit() {
    let limits = LimitsDoc {
        max_body_bytes: ByteSize(1024 * 1024),
        fallback: Fallback::PassWithAlert,
    };
    assert!(!over_hold_limit(&limits, 0, 16 * 1024));
    assert!(!over_hold_limit(
        &limits,
        1024 * 1024 - 32 * 1024,
        16 * 1024
    ));
    assert!(over_hold_limit(
        &limits,
        1024 * 1024 - 32 * 1024 + 1,
        16 * 1024
    ));
    assert!(over_hold_limit(&limits, 1024 * 1024 + 1, 0));
    assert!(!over_hold_limit(&limits, 1024 * 1024, 0));
    assert!(over_hold_limit(&limits, u64::MAX, u64::MAX), "no overflow");
}

fn policy(yaml: &str) -> Policy {
    Policy::parse(yaml.as_bytes()).unwrap()
}

#[test]
fn alert_only_policies_never_hold() {
    let p = policy("");
    let ep = p.default_endpoint();
    let plan = plan_response(ep, Some("application/json"), false).unwrap();
    assert_eq!(plan.mode, ScanMode::Sensitive);
    assert!(!plan.hold && !plan.may_resize);
    // Attacks are alerted on by default: request bodies are scanned for them, not held.
    let plan = plan_request(ep).unwrap();
    assert_eq!(plan.mode, ScanMode::Attacks);
    assert!(!plan.hold);
    let p = policy("defaults:\n  scan_requests: true");
    let plan = plan_request(p.default_endpoint()).unwrap();
    assert_eq!(plan.mode, ScanMode::Both);
    assert!(!plan.hold);
}

#[test]
fn redact_and_block_rules_hold() {
    let p = policy("defaults:\n  actions:\n    email: redact\n  scan_requests: true");
    let ep = p.default_endpoint();
    let plan = plan_response(ep, Some("application/json"), false).unwrap();
    assert!(plan.hold && plan.may_resize);
    let plan = plan_request(ep).unwrap();
    assert!(plan.hold && plan.may_resize);
    // Blocking attacks holds the request, but never resizes it.
    let p = policy("defaults:\n  attacks:\n    action: block");
    let plan = plan_request(p.default_endpoint()).unwrap();
    assert_eq!(plan.mode, ScanMode::Attacks);
    assert!(plan.hold && !plan.may_resize);
    // A rate limit that may redact holds an otherwise alert-only response.
    let p = policy("");
    let plan = plan_response(p.default_endpoint(), Some("text/html"), true).unwrap();
    assert!(plan.hold);
}

#[test]
fn uninspected_bodies_get_no_plan() {
    let p = policy("defaults:\n  attacks:\n    enabled: false");
    assert_eq!(plan_request(p.default_endpoint()), None);
    let p = policy("defaults:\n  content_types: [json]");
    assert_eq!(
        plan_response(p.default_endpoint(), Some("text/html"), false),
        None
    );
    assert!(plan_response(p.default_endpoint(), Some("application/json"), false).is_some());
}

#[test]
fn scan_errors_name_their_fallback() {
    let bomb = FormatError::DecodedTooLarge { limit: 1 };
    assert_eq!(FallbackReason::for_error(&bomb), FallbackReason::Encoding);
    let zstd = FormatError::UnsupportedEncoding("zstd".into());
    assert_eq!(FallbackReason::for_error(&zstd).as_str(), "encoding");
    let cut = FormatError::Truncated("grpc frame");
    assert_eq!(FallbackReason::for_error(&cut).as_str(), "malformed");
}
