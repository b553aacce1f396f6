use super::*;
use crate::policy::Policy;

const SEC: u64 = 1_000_000_000;

fn limits(yaml: &str) -> TokenRateLimits {
    let p = Policy::parse(yaml.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    TokenRateLimits::new(p.tokens())
}

#[test]
fn token_over_its_limit_is_blocked_until_the_window_slides() {
    let mut l = limits(
        "tokens:\n  rate_limits:\n    - {category: us_ssn, max: 100, per: 1m, action: block}\n",
    );
    let mut t = 0;
    // 10 responses of 10 SSNs in the first 50 seconds: all within the limit.
    for _ in 0..10 {
        assert_eq!(l.check("tok-a", "us_ssn", 10, t), None);
        t += 5 * SEC;
    }
    // The 101st SSN in the window is one too many.
    let e = l.check("tok-a", "us_ssn", 1, t).unwrap();
    assert_eq!((e.seen, e.max, e.action), (100, 100, Action::Block));
    // Blocked matches were not delivered, so they do not count: still blocked, still at 100.
    assert_eq!(l.check("tok-a", "us_ssn", 1, t + SEC).unwrap().seen, 100);
    // Other tokens and other categories are unaffected.
    assert_eq!(l.check("tok-b", "us_ssn", 50, t), None);
    assert_eq!(l.check("tok-a", "email", 500, t), None);
    // Two minutes later the window has slid past every counted match.
    assert_eq!(l.check("tok-a", "us_ssn", 100, t + 120 * SEC), None);
}

#[test]
fn alert_limits_count_delivered_matches() {
    let mut l = limits(
        "tokens:\n  rate_limits:\n    - {category: email, max: 5, per: 10s, action: alert}\n    - {category: email, max: 8, per: 10s, action: block}\n",
    );
    assert_eq!(l.check("t", "email", 5, 0), None);
    let e = l.check("t", "email", 2, SEC).unwrap();
    assert_eq!(e.action, Action::Alert);
    // The alerted matches were delivered and count: 7 seen, 2 more crosses the block limit.
    let e = l.check("t", "email", 2, 2 * SEC).unwrap();
    assert_eq!((e.action, e.seen), (Action::Block, 7));
}

#[test]
fn memory_stays_bounded_with_many_tokens() {
    let mut l = limits(
        "tokens:\n  max_tracked: 50\n  rate_limits:\n    - {category: us_ssn, max: 3, per: 1m}\n",
    );
    for i in 0..10_000 {
        l.check(&format!("tok-{i}"), "us_ssn", 1, i * 1000);
    }
    assert_eq!(l.tracked(), 50);
    assert_eq!(
        l.check("tok-9999", "us_ssn", 3, 10_000_000).unwrap().seen,
        1
    );
}

#[test]
fn no_limits_means_nothing_tracked() {
    let mut l = limits("");
    assert!(l.is_empty());
    assert_eq!(l.check("t", "us_ssn", 1_000, 0), None);
    assert_eq!(l.tracked(), 0);
}
