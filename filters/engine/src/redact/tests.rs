use memchr::memmem;
use serde_json::json;

use super::{redact, Mask, RedactFormat};
use crate::formats::testutil::Rng;
use crate::formats::{BodyParser, ContentInfo, Limits, PushParser, Value};

const NEEDLES: [&str; 3] = ["078-05-1120", "4111111111111111", "a@b.example"];

/// Parses `body` as `content_type` and masks every needle occurrence, like the filter does
/// with real findings.
fn masks_for(body: &[u8], content_type: &str) -> Vec<Mask> {
    let info = ContentInfo {
        content_type: Some(content_type),
        ..ContentInfo::default()
    };
    let mut p = BodyParser::new(&info, &Limits::default()).unwrap();
    let mut masks = Vec::new();
    let mut sink = |v: &Value<'_>| {
        for n in NEEDLES {
            for at in memmem::find_iter(v.text, n.as_bytes()) {
                masks.push(Mask::for_finding(v, at, at + n.len()));
            }
        }
    };
    p.push(body, &mut sink).unwrap();
    p.finish(&mut sink).unwrap();
    masks
}

#[test]
fn json_stays_valid_and_masks_exactly_the_findings() {
    let body = br#"{"note":"call 078-05-1120 now","esc":"ssn\u003a 078-05-1120","card":4111111111111111,
"list":["\u00e9a@b.example\u00e9", "k\u00e9 4111111111111111 \ud83d\ude00"], "a@b.example": true, "ok": 12}"#;
    let masks = masks_for(body, "application/json");
    assert_eq!(masks.len(), 6, "{masks:?}");
    let out = redact(body, RedactFormat::Json, &masks);
    let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    assert_eq!(v["note"], json!("call *********** now"));
    assert_eq!(v["esc"], json!("*".repeat(r"ssn\u003a 078-05-1120".len())));
    assert_eq!(v["card"], json!("****************"));
    assert_eq!(v["ok"], json!(12));
    assert_eq!(
        v["list"][0],
        json!("*".repeat(r"\u00e9a@b.example\u00e9".len()))
    );
    assert!(v.get("***********").is_some(), "keys are masked too: {v}");
    let s = String::from_utf8(out).unwrap();
    for n in NEEDLES {
        assert!(!s.contains(n), "{n} left in {s}");
    }
}

#[test]
fn verbatim_masks_keep_length_and_neighbours() {
    let body = "{\"t\":\"é078-05-1120é\"}".as_bytes();
    let out = redact(
        body,
        RedactFormat::Json,
        &masks_for(body, "application/json"),
    );
    assert_eq!(out.len(), body.len());
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        "{\"t\":\"é***********é\"}"
    );
}

#[test]
fn random_masks_on_random_json_always_give_valid_json() {
    let mut rng = Rng(11);
    let (mut tokens, mut bytes) = (0, 0);
    for round in 0..300 {
        let doc = random_json(&mut rng, 0);
        let body = serde_json::to_vec(&doc).unwrap();
        let mut values = Vec::new();
        let mut p = BodyParser::new(
            &ContentInfo {
                content_type: Some("application/json"),
                ..ContentInfo::default()
            },
            &Limits::default(),
        )
        .unwrap();
        let mut sink = |v: &Value<'_>| values.push((v.span.clone(), v.raw.start, v.text.len()));
        p.push(&body, &mut sink).unwrap();
        p.finish(&mut sink).unwrap();
        let mut masks = Vec::new();
        for (span, raw, len) in values {
            if len == 0 || rng.below(3) == 0 {
                continue;
            }
            let a = rng.below(len);
            let b = a + 1 + rng.below(len - a);
            masks.push(match span {
                Some(s) => Mask::Bytes(s.start + a as u64..s.start + b as u64),
                None => Mask::Token(raw),
            });
        }
        tokens += masks.iter().filter(|m| matches!(m, Mask::Token(_))).count();
        bytes += masks.iter().filter(|m| matches!(m, Mask::Bytes(_))).count();
        let out = redact(&body, RedactFormat::Json, &masks);
        if !masks.is_empty() {
            assert_ne!(out, body, "round {round}: masks changed nothing");
        }
        let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&out);
        assert!(
            parsed.is_ok(),
            "round {round}: {} -> {}",
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(&out)
        );
    }
    assert!(
        tokens > 50 && bytes > 50,
        "{tokens} token and {bytes} byte masks"
    );
}

fn random_json(rng: &mut Rng, depth: usize) -> serde_json::Value {
    let pick = if depth > 3 {
        rng.below(3)
    } else {
        rng.below(5)
    };
    match pick {
        0 => json!(rng.below(1 << 30) as i64 * if rng.below(2) == 0 { -1 } else { 1 }),
        1 => json!(rng.below(1000) as f64 / 7.0),
        2 => {
            let alphabet = ["a", "é", "😀", "\"", "\\", "\n", "\u{1}", " ", "4", "€"];
            let n = rng.below(12);
            json!((0..n)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect::<String>())
        }
        3 => json!((0..rng.below(4))
            .map(|_| random_json(rng, depth + 1))
            .collect::<Vec<_>>()),
        _ => {
            let mut m = serde_json::Map::new();
            for i in 0..rng.below(4) {
                m.insert(format!("k{i}é"), random_json(rng, depth + 1));
            }
            serde_json::Value::Object(m)
        }
    }
}

#[test]
fn text_form_and_html_are_masked_in_place() {
    let text = b"ssn 078-05-1120 card 4111111111111111".to_vec();
    let out = redact(&text, RedactFormat::Text, &masks_for(&text, "text/plain"));
    assert_eq!(out, b"ssn *********** card ****************");

    let form = b"a=078-05-1120&b=x+a%40b.example&c=ok".to_vec();
    let out = redact(
        &form,
        RedactFormat::Form,
        &masks_for(&form, "application/x-www-form-urlencoded"),
    );
    assert_eq!(out, b"a=***********&b=***************&c=ok");

    let html = b"<p>x 078-05-1120</p><input value=\"a&#64;b.example\"><i>y</i>".to_vec();
    let out = redact(&html, RedactFormat::Html, &masks_for(&html, "text/html"));
    assert_eq!(
        out,
        b"<p>x ***********</p><input value=\"***************\"><i>y</i>".to_vec()
    );
}

#[test]
fn protobuf_masks_keep_the_wire_structure() {
    let msg = crate::formats::proto_tests::sample();
    let masks = masks_for(&msg, "application/x-protobuf");
    assert_eq!(masks.len(), 2, "{masks:?}");
    let out = redact(&msg, RedactFormat::Protobuf, &masks);
    assert_eq!(out.len(), msg.len());
    let mut texts = Vec::new();
    crate::formats::scan_message(&out, &Limits::default(), &mut |v: &Value<'_>| {
        texts.push((
            v.path.to_owned(),
            String::from_utf8_lossy(v.text).into_owned(),
        ))
    })
    .unwrap();
    assert!(
        texts.contains(&("$.1".into(), "alice@example.com".into())),
        "{texts:?}"
    );
    assert!(texts.contains(&("$.2".into(), "0".into())), "{texts:?}");
    assert!(
        texts.contains(&("$.3.1".into(), "***********".into())),
        "{texts:?}"
    );
}
