use super::*;

fn parse(yaml: &str) -> Policy {
    Policy::parse(yaml.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_errors(cases: &[(&str, &str)]) {
    for (yaml, want) in cases {
        let got = error(yaml);
        assert!(
            got.starts_with(want),
            "for {yaml:?}\n got: {got}\nwant: {want}"
        );
    }
}

fn error(yaml: &str) -> String {
    match Policy::parse(yaml.as_bytes()) {
        Ok(_) => panic!("accepted: {yaml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn default_policy_alerts_on_every_builtin() {
    let p = Policy::default();
    let e = p.endpoint_for("svc", "/anything", "GET");
    assert_eq!(e.name(), "default");
    for b in BUILTIN_CATEGORIES
        .iter()
        .filter(|b| b.kind == CategoryKind::Sensitive)
    {
        assert_eq!(e.action_for(b.id, 1), Action::Alert, "{}", b.id);
    }
    assert_eq!(e.action_for("us_ssn", 0), Action::Ignore);
    assert_eq!(e.attacks().action_for("sql_injection"), Action::Alert);
    assert!(e.attacks().inspects(AttackLocation::Body));
    assert_eq!(e.inspect(Some("application/json")), Some(ContentKind::Json));
    assert_eq!(e.inspect(Some("image/png")), None);
    assert_eq!(e.strongest_action(), Action::Alert);
}

#[test]
fn first_matching_endpoint_wins_and_inherits_defaults() {
    let p = parse(
        r#"
defaults:
  default_action: alert
  actions:
    email: ignore
endpoints:
  - name: users
    host: "*.internal"
    path: /api/*/users/**
    methods: [get]
    actions:
      us_ssn: {action: block, threshold: 2}
  - path: /api/**
    default_action: redact
"#,
    );
    let users = p.endpoint_for("users.internal:8080", "/api/v1/users/7?x=1", "GET");
    assert_eq!(users.name(), "users");
    assert_eq!(users.action_for("us_ssn", 1), Action::Alert);
    assert_eq!(users.action_for("us_ssn", 2), Action::Block);
    assert_eq!(users.action_for("email", 5), Action::Ignore);
    assert_eq!(users.action_for("credit_card", 1), Action::Alert);
    assert_eq!(users.strongest_action(), Action::Block);

    // Wrong method or host: the second endpoint.
    let other = p.endpoint_for("users.internal", "/api/v1/users/7", "POST");
    assert_eq!(other.name(), "/api/**");
    assert_eq!(other.action_for("credit_card", 1), Action::Redact);
    assert_eq!(other.action_for("email", 1), Action::Ignore);
    // Encodings and dot segments do not route around an endpoint.
    for disguised in [
        "/api/v1/%75sers/7",
        "/api//v1/users/7",
        "/api/v1/x/../users/7",
    ] {
        assert_eq!(
            p.endpoint_for("USERS.internal.", disguised, "get").name(),
            "users"
        );
    }
    let none = p.endpoint_for("users.internal", "/health", "GET");
    assert_eq!(none.name(), "default");

    // Whole-message decisions take the strongest action.
    assert_eq!(
        users.action_for_counts([("email", 3), ("us_ssn", 2)]),
        Action::Block
    );
    assert_eq!(users.action_for_counts([("email", 3)]), Action::Ignore);
    assert_eq!(users.action_for_counts([]), Action::Ignore);

    // Metric labels: configured names stay, otherwise the normalised request path.
    assert_eq!(users.metric_label("/api/v1/users/7", true), "users");
    assert_eq!(
        other.metric_label("/api/v1/orders/123", true),
        "/api/v1/orders/{id}"
    );
    assert_eq!(other.metric_label("/api/v1/orders/123", false), "/api/**");
    assert_eq!(none.metric_label("/health/42", false), "default");
}

#[test]
fn categories_enable_disable_and_select() {
    let p = parse(
        r#"
categories:
  disable: [phone_number, sql_injection]
  custom:
    - id: employee_id
      regex: 'EMP-\d{6}'
endpoints:
  - path: /hr/**
    categories: [employee_id, us_ssn, phone_number]
"#,
    );
    assert!(!p.is_enabled("phone_number"));
    assert!(p.is_enabled("employee_id"));
    let hr = p.endpoint_for("h", "/hr/x", "GET");
    let cats: Vec<&str> = hr.categories().collect();
    assert_eq!(cats, ["employee_id", "us_ssn"]);
    assert_eq!(hr.action_for("email", 1), Action::Ignore);
    assert_eq!(hr.action_for("phone_number", 1), Action::Ignore);
    assert_eq!(hr.attacks().action_for("sql_injection"), Action::Ignore);
    assert_eq!(hr.attacks().action_for("xss"), Action::Alert);
    let only = parse("categories:\n  enable: [credit_card]\n");
    assert!(only.is_enabled("credit_card") && !only.is_enabled("email"));
}

#[test]
fn attacks_merge_endpoint_over_defaults() {
    let p = parse(
        r#"
defaults:
  attacks: {action: block, inspect: [query, body]}
endpoints:
  - path: /public/**
    attacks: {enabled: false}
  - path: /search
    attacks: {categories: [sql_injection]}
"#,
    );
    let d = p.endpoint_for("h", "/x", "GET").attacks();
    assert_eq!(d.action_for("xss"), Action::Block);
    assert!(d.inspects(AttackLocation::Query) && !d.inspects(AttackLocation::Headers));
    let public = p.endpoint_for("h", "/public/a", "GET").attacks();
    assert_eq!(public.action_for("xss"), Action::Ignore);
    assert!(!public.inspects(AttackLocation::Body));
    let search = p.endpoint_for("h", "/search", "GET").attacks();
    assert_eq!(search.action_for("sql_injection"), Action::Block);
    assert_eq!(search.action_for("xss"), Action::Ignore);
}

#[test]
fn key_rules_and_allow_lists() {
    let p = parse(
        r#"
categories:
  allow:
    credit_card: ["4111111111111111"]
  keys:
    - {key: tax_id, category: us_ssn}
    - {path: "$.customer.secret", category: generic_api_key}
"#,
    );
    assert_eq!(
        p.key_rule_category(Some("taxId"), "$.a.taxId"),
        Some("us_ssn")
    );
    assert_eq!(
        p.key_rule_category(Some("secret"), "$.customer.secret"),
        Some("generic_api_key")
    );
    assert_eq!(p.key_rule_category(Some("secret"), "$.other.secret"), None);
    assert!(p.is_allowed("credit_card", "4111111111111111"));
    assert!(!p.is_allowed("credit_card", "4012888888881881"));
}

#[test]
fn semantic_errors_name_the_field() {
    let cases = [
        (
            "endpoints:\n  - path: /a\n    actions: {ssn: block}\n",
            "endpoints[0].actions.ssn: unknown category \"ssn\"",
        ),
        (
            "endpoints:\n  - path: api\n",
            "endpoints[0].path: path glob \"api\" must start with / or *",
        ),
        (
            "categories:\n  disable: [credit_crd]\n",
            "categories.disable[0]: unknown built-in category \"credit_crd\"",
        ),
        (
            "categories:\n  custom:\n    - {id: x, regex: '(a'}\n",
            "categories.custom[0].regex: invalid regex",
        ),
        (
            "categories:\n  custom:\n    - {id: email, regex: a}\n",
            "categories.custom[0].id: \"email\" is a built-in category",
        ),
        (
            "categories:\n  custom:\n    - {id: Bad-Id, regex: a}\n",
            "categories.custom[0].id: invalid id",
        ),
        (
            "categories:\n  custom:\n    - {id: x}\n",
            "categories.custom[0]: set regex, literals or keys",
        ),
        (
            "categories:\n  keys:\n    - {key: a, path: $.a, category: email}\n",
            "categories.keys[0]: set exactly one of key or path",
        ),
        (
            "tokens:\n  rate_limits:\n    - {category: us_ssn, max: 1, per: 0}\n",
            "tokens.rate_limits[0].per: window must be at least 1s",
        ),
        (
            "tokens:\n  rate_limits:\n    - {category: nope, max: 1, per: 1m}\n",
            "tokens.rate_limits[0].category: unknown category \"nope\"",
        ),
        (
            "block_response: {status: 200}\n",
            "block_response.status: 200 is outside 400..=599",
        ),
        (
            "block_response: {grpc_status: 0}\n",
            "block_response.grpc_status: 0 is outside 1..=16",
        ),
        (
            "limits: {max_body_bytes: 10}\n",
            "limits.max_body_bytes: 10 is outside",
        ),
        (
            "defaults: {path: /x}\n",
            "defaults.path: defaults apply to every endpoint",
        ),
        (
            "endpoints:\n  - attacks: {categories: [email]}\n",
            "endpoints[0].attacks.categories[0]: \"email\" is not an attack category",
        ),
        (
            "endpoints:\n  - categories: [xss]\n",
            "endpoints[0].categories[0]: \"xss\" is an attack category",
        ),
        ("version: 2\n", "version: unsupported version 2"),
        (
            "tokens: {sources: [{header: 'bad name'}]}\n",
            "tokens.sources[0].header: invalid header name",
        ),
        (
            "visibility: {top_tokens: 0}\n",
            "visibility.top_tokens: 0 is outside 1..=10000",
        ),
    ];
    assert_errors(&cases);
}

#[test]
fn structural_errors_name_the_field() {
    let cases = [
        (
            "limits: {fallback: maybe}\n",
            "limits.fallback: unknown fallback \"maybe\" (expected pass_with_alert|fail_closed)",
        ),
        (
            "report: {values: plain}\n",
            "report.values: unknown report style \"plain\" (expected none|hash|mask|raw)",
        ),
        (
            "endpoints:\n  - content_types: [json, pdf]\n",
            "endpoints[0].content_types[1]: unknown content type \"pdf\"",
        ),
        (
            "tokens:\n  rate_limits:\n    - {category: us_ssn, max: 1, per: 1fortnight}\n",
            "tokens.rate_limits[0].per: unknown duration unit",
        ),
        (
            "defaults:\n  attacks: {action: redact}\n",
            "defaults.attacks.action: unknown attack action \"redact\" (expected alert|block)",
        ),
        (
            "endpoints:\n  - path: /a\n    treshold: 3\n",
            "endpoints[0].treshold: unknown field `treshold`",
        ),
    ];
    assert_errors(&cases);
}

#[test]
fn report_and_block_settings_are_exposed() {
    let p = parse("report: {values: hash}\nblock_response: {status: 451, body: no}\n");
    assert_eq!(p.report().values, ReportStyle::Hash);
    assert!(p
        .value_reporter()
        .render("123-45-6789")
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(p.block_response().status, 451);
    assert_eq!(p.block_response().grpc_status, 7);
    assert_eq!(p.limits().fallback, Fallback::PassWithAlert);
}

#[test]
fn damaged_policies_are_errors_not_panics() {
    let complete = include_str!("../../../microwaf/examples/complete.yaml");
    assert!(Policy::parse(complete.as_bytes()).is_ok());
    // Truncations and byte flips all through the text: each must parse or fail cleanly.
    for cut in (0..complete.len()).step_by(3) {
        let _ = Policy::parse(&complete.as_bytes()[..cut]);
    }
    let mut bytes = complete.as_bytes().to_vec();
    for i in (1..bytes.len()).step_by(3) {
        let orig = bytes[i];
        bytes[i] = orig ^ 0x20;
        let _ = Policy::parse(&bytes);
        bytes[i] = orig;
    }
}

#[test]
fn deep_nesting_is_rejected() {
    // Parsing is linear in depth; serde's recursion limits turn the nesting into an error.
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    assert!(Policy::parse(deep.as_bytes()).is_err());
    let deep_json = format!(
        "{{\"categories\":{}{}}}",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    assert!(Policy::parse(deep_json.as_bytes()).is_err());
}
