use crate::formats::testutil::{run, split_invariant, Owned, Run};
use crate::formats::{JsonParser, Limits, PushParser, ValueKind};

fn parse(input: &[u8]) -> Run {
    parse_with(input, &Limits::default())
}

fn parse_with(input: &[u8], limits: &Limits) -> Run {
    let limits = limits.clone();
    split_invariant(&move || Box::new(JsonParser::new(&limits)), input)
}

fn find<'a>(r: &'a Run, text: &str) -> &'a Owned {
    r.values
        .iter()
        .find(|v| v.text == text)
        .unwrap_or_else(|| panic!("no value {text:?} in {:#?}", r.values))
}

#[test]
fn reports_strings_numbers_and_keys_with_paths() {
    let body = br#"{"user": {"name": "Ann", "ssn": "078-05-1120", "age": 42},
        "items": [{"card": "4111111111111111"}, 4012888888881881, true, null],
        "empty": ""}"#;
    let r = parse(body);
    assert_eq!(r.result, Ok(()));
    assert_eq!(r.flags, Default::default());
    let ssn = find(&r, "078-05-1120");
    assert_eq!(ssn.kind, ValueKind::JsonString);
    assert_eq!(ssn.key.as_deref(), Some("ssn"));
    assert_eq!(ssn.path, "$.user.ssn");
    let span = ssn.span.clone().expect("verbatim");
    assert_eq!(
        &body[span.start as usize..span.end as usize],
        b"078-05-1120"
    );
    assert_eq!(body[ssn.raw_start as usize], b'"');

    let age = find(&r, "42");
    assert_eq!(
        (age.kind, age.path.as_str()),
        (ValueKind::JsonNumber, "$.user.age")
    );
    let card = find(&r, "4111111111111111");
    assert_eq!(
        (card.key.as_deref(), card.path.as_str()),
        (Some("card"), "$.items[0].card")
    );
    let num = find(&r, "4012888888881881");
    assert_eq!(
        (num.key.as_deref(), num.path.as_str()),
        (Some("items"), "$.items[1]")
    );
    let key = find(&r, "ssn");
    assert_eq!(
        (key.kind, key.path.as_str()),
        (ValueKind::JsonKey, "$.user")
    );
    assert_eq!(key.key.as_deref(), Some("user"));
    assert!(r.values.iter().all(|v| !v.text.is_empty()));
}

#[test]
fn decodes_escapes_and_surrogate_pairs_without_span() {
    let body = br#"["a\"b\\c\/d\n", "\u0041\u00e9\u20ac\ud83d\ude00", "\ud800x", "\u12"]"#;
    let r = parse(body);
    assert_eq!(r.result, Ok(()));
    let v = find(&r, "a\"b\\c/d\n");
    assert_eq!(v.span, None);
    assert_eq!(v.raw_start, 1);
    find(&r, "A\u{e9}\u{20ac}\u{1F600}");
    find(&r, "\u{FFFD}x");
    assert_eq!(r.values.len(), 4, "{:#?}", r.values);
}

#[test]
fn escaped_key_sets_path() {
    let r = parse(br#"{"s\u0073n": "123-45-6789"}"#);
    let v = find(&r, "123-45-6789");
    assert_eq!((v.key.as_deref(), v.path.as_str()), (Some("ssn"), "$.ssn"));
}

#[test]
fn accepts_ndjson_and_concatenated_documents() {
    let r = parse(b"{\"a\":\"x\"}\n{\"b\":[\"y\"]}\n7 \"z\"{\"c\":1}");
    assert_eq!(r.flags, Default::default());
    let got: Vec<_> = r
        .values
        .iter()
        .filter(|v| v.kind != ValueKind::JsonKey)
        .map(|v| (v.text.as_str(), v.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("x", "$.a"),
            ("y", "$.b[0]"),
            ("7", "$"),
            ("z", "$"),
            ("1", "$.c")
        ]
    );
}

#[test]
fn top_level_number_at_end_of_body_is_reported() {
    let r = parse(b"4111111111111111");
    assert_eq!(r.values.len(), 1);
    assert_eq!(r.values[0].span, Some(0..16));
}

#[test]
fn malformed_json_falls_back_to_text_for_the_rest() {
    let body = b"{\"a\": \"one\", oops 4111111111111111 }";
    let r = parse(body);
    assert!(r.flags.fell_back_to_text);
    find(&r, "one");
    let text = r
        .values
        .iter()
        .find(|v| v.kind == ValueKind::Text)
        .expect("text");
    assert_eq!(text.text, "oops 4111111111111111 }");
    assert_eq!(text.span, Some(13..body.len() as u64));
}

#[test]
fn deep_nesting_is_bounded() {
    let mut body = vec![b'['; 100_000];
    body.extend_from_slice(b"\"deep\"");
    let limits = Limits {
        max_depth: 32,
        ..Limits::default()
    };
    let r = run(&mut JsonParser::new(&limits), [&body[..]]);
    assert!(r.flags.fell_back_to_text);
    assert!(r
        .values
        .iter()
        .all(|v| v.text.len() <= limits.max_value_len));
}

#[test]
fn truncated_document_is_flagged_and_pending_string_reported() {
    let r = parse(br#"{"k": "unterminated 078-05"#);
    assert!(r.flags.truncated);
    find(&r, "unterminated 078-05");
}

#[test]
fn long_strings_are_windowed_with_overlap_covering_straddling_matches() {
    let limits = Limits {
        max_value_len: 64,
        window_overlap: 16,
        ..Limits::default()
    };
    let mut s = "x".repeat(50);
    s.push_str("4111111111111111");
    s.push_str(&"y".repeat(200));
    let body = format!("{{\"k\":\"{s}\"}}");
    let r = parse_with(body.as_bytes(), &limits);
    let windows: Vec<_> = r
        .values
        .iter()
        .filter(|v| v.kind == ValueKind::JsonString)
        .collect();
    assert!(windows.len() > 3);
    assert!(windows
        .iter()
        .all(|w| w.text.len() <= 64 && w.path == "$.k"));
    assert!(windows.iter().any(|w| w.text.contains("4111111111111111")));
    for w in &windows {
        let span = w.span.clone().expect("verbatim windows keep spans");
        assert_eq!(
            &body.as_bytes()[span.start as usize..span.end as usize],
            w.text.as_bytes()
        );
    }
    assert_eq!(windows[0].overlap, 0);
    assert!(windows[1..].iter().all(|w| w.overlap == 16));
}

#[test]
fn huge_escaped_string_stays_within_window() {
    let limits = Limits {
        max_value_len: 128,
        window_overlap: 8,
        ..Limits::default()
    };
    let body = format!("[\"{}\"]", "\\n".repeat(10_000));
    let mut max = 0;
    let mut total = 0;
    let mut sink = |v: &crate::formats::Value<'_>| {
        max = max.max(v.text.len());
        total += v.text.len() - v.overlap;
    };
    let mut p = JsonParser::new(&limits);
    p.push(body.as_bytes(), &mut sink).unwrap();
    p.finish(&mut sink).unwrap();
    assert!(max <= 128);
    assert_eq!(total, 10_000);
}

#[test]
fn invalid_utf8_and_garbage_never_panic() {
    let alphabet = b"{}[]\":,\\u0a1-e. tfn\xff\xc3";
    let mut rng = crate::formats::testutil::Rng(7);
    for _ in 0..300 {
        let len = rng.below(200);
        let body: Vec<u8> = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        parse_with(&body, &Limits::default());
    }
}

#[test]
fn swar_search_matches_a_naive_search() {
    let mut rng = crate::formats::testutil::Rng(5);
    for _ in 0..2000 {
        let len = rng.below(150);
        let s: Vec<u8> = (0..len)
            .map(|_| match rng.below(40) {
                0 => b'"',
                1 => b'\\',
                2 => 0x80 | rng.below(128) as u8,
                _ => b'a' + rng.below(26) as u8,
            })
            .collect();
        let naive = s.iter().position(|&c| c == b'"' || c == b'\\');
        assert_eq!(super::lex::find_quote_or_backslash(&s), naive, "{s:?}");
    }
}

#[test]
fn colliding_and_non_utf8_keys_get_the_right_paths() {
    let body = b"[{\"name\":\"a\",\"note\":\"b\"},{\"name\":\"c\",\"note\":\"d\",\"n\\u00e9\":\"e\",\"k\xff\":\"f\"}]";
    let r = parse(body);
    let paths: Vec<_> = r
        .values
        .iter()
        .filter(|v| v.kind == ValueKind::JsonString)
        .map(|v| (v.text.as_str(), v.path.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("a", "$[0].name"),
            ("b", "$[0].note"),
            ("c", "$[1].name"),
            ("d", "$[1].note"),
            ("e", "$[1].n\u{e9}"),
            ("f", "$[1].k\u{FFFD}"),
        ]
    );
}

#[test]
fn leading_byte_order_mark_is_skipped() {
    let r = parse(b"\xEF\xBB\xBF{\"k\":\"v\"}");
    assert_eq!(r.flags, Default::default());
    assert_eq!(find(&r, "v").span, Some(9..10));
    let r = parse(b"{\"k\":1}\xEF\xBB\xBF");
    assert!(r.flags.fell_back_to_text, "a BOM elsewhere is malformed");
}

#[test]
fn reset_parser_gives_the_same_values_as_a_new_one() {
    let first = br#"{"a":[1,{"b":"x\n"}], "c": "unterminated"#;
    let second = br#"{"user":{"ssn":"078-05-1120"}}"#;
    let mut p = JsonParser::new(&Limits::default());
    run(&mut p, [&first[..]]);
    p.reset();
    let reused = run(&mut p, [&second[..]]);
    let fresh = run(&mut JsonParser::new(&Limits::default()), [&second[..]]);
    assert_eq!(reused, fresh);
}
