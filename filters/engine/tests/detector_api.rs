//! The detector's public contract: configuration errors, custom categories, key rules,
//! enable/disable, and window-independent raw findings.

use microwaf_engine::detect::{
    CategoryId, CustomCategory, CustomPattern, DetectError, Detector, DetectorConfig, FieldContext,
    Finding, KeyRule, Validator,
};

fn found(det: &Detector, text: &str, key: Option<&str>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    det.scan_value(
        text.as_bytes(),
        &FieldContext {
            key,
            path: None,
            family: None,
        },
        &mut out,
    );
    out.iter()
        .map(|f| {
            (
                f.category.as_str().to_owned(),
                text[f.start..f.end].to_owned(),
            )
        })
        .collect()
}

fn custom(id: &str, pattern: CustomPattern) -> CustomCategory {
    CustomCategory {
        id: id.into(),
        pattern,
        validator: None,
        allow: vec![],
        except: vec![],
        keys: vec![],
    }
}

#[test]
fn unknown_ids_are_named() {
    let cfg = DetectorConfig {
        disabled: vec!["credit_cards".into()],
        ..Default::default()
    };
    assert_eq!(
        Detector::new(&cfg).err(),
        Some(DetectError::UnknownCategory("credit_cards".into()))
    );
    let cfg = DetectorConfig {
        enabled: Some(vec!["email".into(), "nope".into()]),
        ..Default::default()
    };
    assert_eq!(
        Detector::new(&cfg).err(),
        Some(DetectError::UnknownCategory("nope".into()))
    );
    let cfg = DetectorConfig {
        key_rules: vec![KeyRule {
            key_or_path: "x".into(),
            category: "mystery".into(),
        }],
        ..Default::default()
    };
    assert_eq!(
        Detector::new(&cfg).err(),
        Some(DetectError::UnknownCategory("mystery".into()))
    );
}

#[test]
fn bad_custom_categories_are_rejected() {
    let cfg = DetectorConfig {
        custom: vec![custom("email", CustomPattern::Regex("x".into()))],
        ..Default::default()
    };
    assert_eq!(
        Detector::new(&cfg).err(),
        Some(DetectError::DuplicateCategory("email".into()))
    );
    let cfg = DetectorConfig {
        custom: vec![custom("emp_id", CustomPattern::Regex("EMP(".into()))],
        ..Default::default()
    };
    assert!(matches!(Detector::new(&cfg), Err(DetectError::Pattern { id, .. }) if id == "emp_id"));
    let cfg = DetectorConfig {
        custom: vec![custom("Bad Id", CustomPattern::Literals(vec!["a".into()]))],
        ..Default::default()
    };
    assert_eq!(
        Detector::new(&cfg).err(),
        Some(DetectError::InvalidId("Bad Id".into()))
    );
}

#[test]
fn enabled_and_disabled_filter_categories() {
    let cfg = DetectorConfig {
        enabled: Some(vec!["email".into()]),
        ..Default::default()
    };
    let det = Detector::new(&cfg).unwrap();
    let got = found(&det, "bob@corp.io 4111111111111111", None);
    assert_eq!(got, [("email".to_owned(), "bob@corp.io".to_owned())]);
    let cfg = DetectorConfig {
        disabled: vec!["email".into()],
        ..Default::default()
    };
    let det = Detector::new(&cfg).unwrap();
    let got = found(&det, "bob@corp.io 4111111111111111", None);
    assert_eq!(
        got,
        [("credit_card".to_owned(), "4111111111111111".to_owned())]
    );
}

#[test]
fn custom_regex_literals_allow_keys_and_validators() {
    let mut emp = custom("employee_id", CustomPattern::Regex(r"EMP-\d{6}".into()));
    emp.allow = vec!["EMP-000000".into()];
    let mut proj = custom(
        "project_codename",
        CustomPattern::Literals(vec!["BLUEBIRD".into(), "RED.FOX".into()]),
    );
    proj.except = vec!["$.public.title".into()];
    let mut acct = custom("account_no", CustomPattern::Regex(r"\d{8,12}".into()));
    acct.keys = vec!["account".into()];
    acct.validator = Some(Validator::Luhn);
    let cfg = DetectorConfig {
        custom: vec![emp, proj, acct],
        ..Default::default()
    };
    let det = Detector::new(&cfg).unwrap();
    assert_eq!(
        found(&det, "by EMP-123456 and EMP-000000", None),
        [("employee_id".into(), "EMP-123456".into())]
    );
    assert_eq!(
        found(&det, "RED.FOX and REDXFOX", None),
        [("project_codename".into(), "RED.FOX".into())]
    );
    let mut out = Vec::new();
    det.scan_value(
        b"BLUEBIRD",
        &FieldContext {
            key: Some("title"),
            path: Some("$.public.title"),
            family: None,
        },
        &mut out,
    );
    assert!(out.is_empty(), "except path suppresses the custom category");
    assert!(
        found(&det, "79927398713", None).is_empty(),
        "needs the `account` key"
    );
    assert_eq!(
        found(&det, "79927398713", Some("account")),
        [("account_no".into(), "79927398713".into())]
    );
    assert!(
        found(&det, "79927398710", Some("account")).is_empty(),
        "Luhn-invalid"
    );
    assert_eq!(CategoryId::builtin("employee_id"), None);
}

#[test]
fn key_rules_by_key_and_path() {
    let cfg = DetectorConfig {
        key_rules: vec![
            KeyRule {
                key_or_path: "member_no".into(),
                category: "passport_number".into(),
            },
            KeyRule {
                key_or_path: "$.user.tax".into(),
                category: "us_ssn".into(),
            },
        ],
        ..Default::default()
    };
    let det = Detector::new(&cfg).unwrap();
    assert_eq!(
        found(&det, " ab-12 ", Some("Member-No")),
        [("passport_number".into(), "ab-12".into())]
    );
    let mut out = Vec::new();
    det.scan_value(
        b"T-99",
        &FieldContext {
            key: Some("tax"),
            path: Some("$.user.tax"),
            family: None,
        },
        &mut out,
    );
    assert_eq!(
        out,
        [Finding {
            category: CategoryId::US_SSN,
            start: 0,
            end: 4
        }]
    );
}

#[test]
fn raw_findings_do_not_depend_on_window_start() {
    let det = Detector::builtin();
    let text = r#"{"user":{"email":"ann.lee@corp.io","card":"4111 1111 1111 1111","ssn":"536-22-5314"},"token":"ghp_R8aZ2mQ7kL1xV9tW3pN6bC4dF0gH5jS2yE8u","iban":"DE89370400440532013000","note":"call +1 415 555 0132"}"#;
    let mut full = Vec::new();
    det.scan_raw(text.as_bytes(), &mut full);
    assert!(full.len() >= 6, "{full:?}");
    for k in 1..text.len() {
        let window = &text.as_bytes()[k..];
        let Some(delim) = window
            .iter()
            .position(|b| b"\"',{}[]<>;&\n\r\t".contains(b))
        else {
            continue;
        };
        let mut part = Vec::new();
        det.scan_raw(window, &mut part);
        let shifted: Vec<Finding> = part
            .iter()
            .map(|f| Finding {
                start: f.start + k,
                end: f.end + k,
                ..*f
            })
            .collect();
        let expected: Vec<Finding> = full
            .iter()
            .copied()
            .filter(|f| f.start > k + delim)
            .collect();
        let got: Vec<Finding> = shifted
            .into_iter()
            .filter(|f| f.start > k + delim)
            .collect();
        assert_eq!(got, expected, "window starting at {k}");
    }
}

#[test]
fn attack_offsets_point_into_the_original() {
    let det = Detector::builtin();
    let q = b"q=1%27%20OR%201%3D1--";
    let mut out = Vec::new();
    det.scan_attack(q, &FieldContext::key("q"), &mut out);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].category, CategoryId::SQL_INJECTION);
    assert!(out[0].end <= q.len() && out[0].start >= 3);
}
