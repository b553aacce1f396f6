use super::*;
use crate::policy::Action;

const CARD: &str = "4539578763621486";

fn json() -> ContentInfo<'static> {
    ContentInfo {
        content_type: Some("application/json"),
        ..ContentInfo::default()
    }
}

fn scan(inspector: &Arc<Inspector>, body: &[u8], chunk: usize) -> Vec<Match> {
    let mut s = inspector.body(&json(), ScanMode::Sensitive).unwrap();
    for c in body.chunks(chunk.max(1)) {
        s.push(c);
    }
    s.finish();
    assert!(s.error().is_none(), "{:?}", s.error());
    s.take_matches()
}

#[test]
fn a_card_in_json_is_located_in_the_body() {
    let inspector = Inspector::from_config(b"").unwrap();
    let body = format!(r#"{{"user":{{"name":"Ann","card":"{CARD}"}}}}"#);
    let found = scan(&inspector, body.as_bytes(), 4096);
    let card: Vec<_> = found
        .iter()
        .filter(|m| m.category == "credit_card")
        .collect();
    assert_eq!(card.len(), 1, "{found:?}");
    let r = card[0].range.start as usize..card[0].range.end as usize;
    assert_eq!(&body[r], CARD);
    assert_eq!(card[0].path, "$.user.card");
}

#[test]
fn findings_do_not_depend_on_chunking() {
    let inspector = Inspector::from_config(b"").unwrap();
    let body = format!(
        r#"[{{"ssn":"536-90-4399","card":"{CARD}","note":"mail ann@example.org"}},{{"n":{CARD}}}]"#
    );
    let whole = scan(&inspector, body.as_bytes(), body.len());
    assert!(whole.len() >= 3, "{whole:?}");
    for chunk in [1, 2, 3, 7, 16] {
        assert_eq!(
            scan(&inspector, body.as_bytes(), chunk),
            whole,
            "chunk {chunk}"
        );
    }
}

#[test]
fn allow_lists_and_excepts_suppress_matches() {
    let policy = format!(
        "categories:\n  allow:\n    credit_card: [\"{CARD}\"]\n  custom:\n    - id: employee_id\n      regex: 'EMP-[0-9]{{6}}'\n      except: ['EMP-000000']\n"
    );
    let inspector = Inspector::from_config(policy.as_bytes()).unwrap();
    let body = format!(r#"{{"card":"{CARD}","a":"EMP-000000","b":"EMP-123456"}}"#);
    let found = scan(&inspector, body.as_bytes(), 5);
    let cats: Vec<&str> = found.iter().map(|m| m.category.as_str()).collect();
    assert_eq!(cats, ["employee_id"], "{found:?}");
    assert_eq!(found[0].value, "EMP-123456");
}

#[test]
fn key_rules_and_key_only_categories_claim_whole_values() {
    let policy = "categories:\n  keys:\n    - {key: tax_id, category: us_ssn}\n  custom:\n    - id: loyalty_ref\n      keys: [loyalty_ref]\n";
    let inspector = Inspector::from_config(policy.as_bytes()).unwrap();
    let body = br#"{"tax_id":"anything","loyalty_ref":"LR-42","other":"plain"}"#;
    let found = scan(&inspector, body, 3);
    let mut cats: Vec<(&str, &str)> = found
        .iter()
        .map(|m| (m.category.as_str(), m.value.as_str()))
        .collect();
    cats.sort();
    assert_eq!(
        cats,
        [("loyalty_ref", "LR-42"), ("us_ssn", "anything")],
        "{found:?}"
    );
}

#[test]
fn thresholds_decide_the_action() {
    let policy =
        "defaults:\n  actions:\n    credit_card: {action: block, threshold: 2, below: alert}\n";
    let inspector = Inspector::from_config(policy.as_bytes()).unwrap();
    let ep = inspector.policy().endpoint_for("svc", "/", "GET");
    let one = scan(&inspector, format!(r#"{{"c":"{CARD}"}}"#).as_bytes(), 64);
    assert_eq!(decide(ep, &one).action, Action::Alert);
    let two = scan(
        &inspector,
        format!(r#"{{"c":"{CARD}","d":"4556737586899855"}}"#).as_bytes(),
        64,
    );
    assert_eq!(decide(ep, &two).action, Action::Block);
}

#[test]
fn an_injection_in_the_query_is_an_attack() {
    let inspector = Inspector::from_config(b"").unwrap();
    let ep = inspector.policy().endpoint_for("svc", "/search", "GET");
    let headers = [("user-agent", "curl/8.0")];
    let req = RequestLine {
        path: "/search?q=1%27%20OR%20%271%27%3D%271&page=2",
        headers: &headers,
    };
    let found = scan_request_line(&inspector, ep, &req);
    assert!(
        found.iter().any(|m| m.category == "sql_injection"),
        "{found:?}"
    );
    let clean = RequestLine {
        path: "/search?q=blue+shoes&page=2",
        headers: &headers,
    };
    assert!(scan_request_line(&inspector, ep, &clean).is_empty());
}

#[test]
fn a_bad_except_pattern_names_its_field() {
    let policy =
        "categories:\n  custom:\n    - id: x\n      regex: 'X-[0-9]+'\n      except: ['(']\n";
    let err = Inspector::from_config(policy.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("categories.custom[0].except"),
        "{err}"
    );
}

#[test]
fn redaction_masks_only_categories_whose_own_action_redacts() {
    // Cards redact, e-mail only alerts, SSN blocks from 3 matches and redacts below.
    let policy = "defaults:\n  actions:\n    credit_card: redact\n    email: alert\n    us_ssn: {action: block, threshold: 3, below: redact}\n";
    let inspector = Inspector::from_config(policy.as_bytes()).unwrap();
    let ep = inspector.policy().endpoint_for("svc", "/", "GET");
    let body = format!(r#"{{"card":"{CARD}","mail":"ann@example.org","ssn":"536-90-4399"}}"#);
    let found = scan(&inspector, body.as_bytes(), 64);
    let verdict = decide(ep, &found);
    assert_eq!(verdict.action, Action::Redact);
    assert!(verdict.masks("credit_card") && verdict.masks("us_ssn"));
    assert!(!verdict.masks("email"));
    let masks = verdict.masks_for(&found);
    let masked: Vec<&str> = found
        .iter()
        .filter(|m| masks.contains(&m.mask))
        .map(|m| m.category.as_str())
        .collect();
    assert_eq!(masks.len(), 2, "{found:?}");
    assert!(!masked.contains(&"email"), "{masked:?}");
}

#[test]
fn a_rate_limit_raise_makes_its_category_masked() {
    let policy = "defaults:\n  actions:\n    us_ssn: alert\n";
    let inspector = Inspector::from_config(policy.as_bytes()).unwrap();
    let ep = inspector.policy().endpoint_for("svc", "/", "GET");
    let found = scan(&inspector, br#"{"ssn":"536-90-4399"}"#, 64);
    let mut verdict = decide(ep, &found);
    assert!(!verdict.masks("us_ssn"));
    verdict.raise_category("us_ssn", Action::Redact);
    assert_eq!(verdict.action, Action::Redact);
    assert_eq!(verdict.masks_for(&found).len(), 1);
}

/// A body with more matches than [`MAX_MATCHES`]: the rest are counted, not silently lost.
#[test]
fn matches_past_the_keep_cap_are_counted_and_flagged_for_redaction() {
    let n = MAX_MATCHES + 300;
    let items: Vec<String> = (0..n).map(|i| format!(r#""u{i}@example.org""#)).collect();
    let body = format!("[{}]", items.join(","));
    let policy = format!(
        "defaults:\n  actions:\n    email: {{action: block, threshold: {}, below: redact}}\n",
        MAX_MATCHES + 200
    );
    let inspector = Inspector::from_config(policy.as_bytes()).unwrap();
    let ep = inspector.policy().endpoint_for("svc", "/", "GET");
    let mut s = inspector.body(&json(), ScanMode::Sensitive).unwrap();
    s.push(body.as_bytes());
    s.finish();
    assert_eq!(s.counts(), [("email".to_owned(), n as u32)]);
    let dropped = s.take_dropped();
    let matches = s.take_matches();
    assert_eq!(matches.len(), MAX_MATCHES);
    assert_eq!(dropped, [("email".to_owned(), 300)]);
    // Only the true count reaches the block threshold.
    assert_eq!(decide(ep, &matches).action, Action::Redact);
    let verdict = decide_counted(ep, &matches, &dropped);
    assert_eq!(verdict.action, Action::Block);
    assert_eq!(verdict.categories[0].1, n as u32);
    // Under a redact verdict the dropped masks are reported, so the filter can fall back.
    let redact = decide_counted(ep, &matches[..10], &dropped);
    assert!(redact.masks_dropped(&dropped));
    assert!(!redact.masks_dropped(&[]));
}
