//! The per-request decisions the filter makes, driven through the public API with the example
//! policies: endpoint choice, token attribution, per-token rate limits, labels and reporting.

use std::fs;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use microwaf_engine::cardinality::{Labels, OTHER};
use microwaf_engine::identity::source_identity;
use microwaf_engine::policy::{Action, ContentKind, Fallback, Policy};
use microwaf_engine::ratelimit::TokenRateLimits;
use microwaf_engine::token::TokenExtractor;

fn example(name: &str) -> Policy {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../microwaf/examples")
        .join(name);
    Policy::parse(&fs::read(path).unwrap()).unwrap()
}

fn bearer_jwt(sub: &str) -> String {
    let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
    let p = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{sub}","scope":"read"}}"#));
    format!("Bearer {h}.{p}.c2lnbmF0dXJl")
}

const SEC: u64 = 1_000_000_000;

/// One response with `ssns` SSN matches for the caller of `auth`: the final action.
fn respond(
    policy: &Policy,
    limits: &mut TokenRateLimits,
    auth: &str,
    ssns: u32,
    now: u64,
) -> Action {
    let headers = [("authorization", auth), (":path", "/api/v1/people")];
    let token = TokenExtractor::new(policy.tokens())
        .extract(&headers)
        .unwrap();
    let endpoint = policy.endpoint_for("people.svc", "/api/v1/people", "GET");
    let by_endpoint = endpoint.action_for_counts([("us_ssn", ssns)]);
    let by_limit = limits
        .check(&token.hash, "us_ssn", ssns, now)
        .map_or(Action::Ignore, |e| e.action);
    by_endpoint.max(by_limit)
}

#[test]
fn a_token_reading_too_many_ssns_is_blocked_and_others_are_not() {
    let policy = example("token-rate-limit.yaml");
    let mut limits = TokenRateLimits::new(policy.tokens());
    let alice = bearer_jwt("alice");
    let bob = bearer_jwt("bob");
    for i in 0..10 {
        assert_eq!(
            respond(&policy, &mut limits, &alice, 10, i * SEC),
            Action::Alert
        );
    }
    assert_eq!(
        respond(&policy, &mut limits, &alice, 10, 11 * SEC),
        Action::Block
    );
    // A re-signed token for the same subject is the same caller.
    let alice_again = format!("{alice}AA");
    assert_eq!(
        respond(&policy, &mut limits, &alice_again, 1, 12 * SEC),
        Action::Block
    );
    assert_eq!(
        respond(&policy, &mut limits, &bob, 10, 12 * SEC),
        Action::Alert
    );
    // Responses without SSNs are never limited.
    assert_eq!(
        respond(&policy, &mut limits, &alice, 0, 13 * SEC),
        Action::Ignore
    );
    // Two minutes on, alice's window has emptied.
    assert_eq!(
        respond(&policy, &mut limits, &alice, 10, 140 * SEC),
        Action::Alert
    );
}

#[test]
fn redact_policy_holds_customer_responses_and_streams_the_rest() {
    let policy = example("redact-pii.yaml");
    let customers = policy.endpoint_for(
        "crm.svc.cluster.local:8080",
        "/api/v2/customers/42?full=1",
        "GET",
    );
    assert_eq!(customers.name(), "customers");
    assert_eq!(customers.strongest_action(), Action::Redact);
    assert_eq!(customers.action_for("email", 1), Action::Alert);
    assert_eq!(customers.action_for("email", 5), Action::Redact);
    assert_eq!(
        customers.inspect(Some("application/json")),
        Some(ContentKind::Json)
    );
    assert!(policy.is_allowed("credit_card", "4111111111111111"));
    assert_eq!(
        policy.key_rule_category(Some("tax_id"), "$.tax_id"),
        Some("us_ssn")
    );
    assert_eq!(policy.limits().max_body_bytes.0, 2 << 20);

    let elsewhere = policy.endpoint_for("crm.svc.cluster.local", "/api/v2/customers/42", "DELETE");
    assert_eq!(elsewhere.name(), "default");
    assert_eq!(elsewhere.strongest_action(), Action::Alert);
}

#[test]
fn block_policy_blocks_secrets_and_attacks_and_fails_closed() {
    let policy = example("block-secrets.yaml");
    let any = policy.endpoint_for("svc", "/v1/config", "GET");
    assert_eq!(any.action_for("aws_access_key_id", 1), Action::Block);
    assert_eq!(any.action_for("email", 1), Action::Alert);
    assert_eq!(any.attacks().action_for("sql_injection"), Action::Block);
    let oauth = policy.endpoint_for("svc", "/oauth2/token", "POST");
    assert_eq!(oauth.action_for("jwt", 1), Action::Ignore);
    assert_eq!(oauth.action_for("private_key", 1), Action::Block);
    assert_eq!(policy.limits().fallback, Fallback::FailClosed);
    let block = policy.block_response();
    assert_eq!((block.status, block.grpc_status), (403, 7));
    let shown = policy
        .value_reporter()
        .render("AKIAIOSFODNN7EXAMPLE")
        .unwrap();
    assert!(shown.starts_with("sha256:") && !shown.contains("AKIA"));
}

#[test]
fn labels_and_identity_for_metrics() {
    let policy = example("complete.yaml");
    let mut labels = Labels::new(policy.visibility());
    let headers = [("x-service-name", "billing")];
    let source = source_identity(&policy.visibility().source_identity, None, &headers).unwrap();
    assert_eq!(source, "billing");
    let ep = policy.endpoint_for("h", "/orders/123/items/456", "GET");
    let route = ep.metric_label("/orders/123/items/456", policy.visibility().normalize_paths);
    assert_eq!(route, "/orders/{id}/items/{id}");
    assert_eq!(labels.endpoints.label(&route), OTHER);
    assert_eq!(labels.endpoints.label(&route), "/orders/{id}/items/{id}");
}
