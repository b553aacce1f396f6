use std::io::Write;

use crate::formats::testutil::{run, split_invariant};
use crate::formats::{BodyParser, ContentInfo, Format, FormatError, Limits, ValueKind};

fn info<'a>(ct: &'a str, ce: Option<&'a str>) -> ContentInfo<'a> {
    ContentInfo {
        content_type: Some(ct),
        content_encoding: ce,
        grpc_encoding: None,
    }
}

#[test]
fn maps_content_types() {
    let l = Limits::default();
    let f = |ct| Format::from_content_type(Some(ct), &l);
    assert_eq!(f("application/json; charset=utf-8"), Format::Json);
    assert_eq!(f("application/problem+json"), Format::Json);
    assert_eq!(f("application/x-ndjson"), Format::Json);
    assert_eq!(f("application/grpc+proto"), Format::Grpc);
    assert_eq!(f("application/grpc-web+proto"), Format::Grpc);
    assert_eq!(f("application/grpc-web-text"), Format::Text);
    assert_eq!(f("application/x-protobuf"), Format::Protobuf);
    assert_eq!(f("text/html;charset=UTF-8"), Format::Html);
    assert_eq!(f("application/x-www-form-urlencoded"), Format::Form);
    assert_eq!(
        f("multipart/form-data; boundary=\"abc\""),
        Format::Multipart("abc".into())
    );
    assert_eq!(f("text/plain"), Format::Text);
    assert_eq!(f("application/xml"), Format::Text);
    assert_eq!(f("image/png"), Format::Skip);
    assert_eq!(Format::from_content_type(None, &l), Format::Text);
    let text = Limits {
        unknown_as_text: true,
        ..Limits::default()
    };
    assert_eq!(
        Format::from_content_type(Some("image/png"), &text),
        Format::Text
    );
}

#[test]
fn gzip_json_body_is_decoded_then_parsed_in_any_split() {
    let json = br#"{"user":{"ssn":"078-05-1120"},"n":[1,2]}"#;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(json).unwrap();
    let body = e.finish().unwrap();
    let r = split_invariant(
        &|| {
            Box::new(
                BodyParser::new(&info("application/json", Some("gzip")), &Limits::default())
                    .unwrap(),
            )
        },
        &body,
    );
    assert_eq!(r.result, Ok(()));
    let ssn = r.values.iter().find(|v| v.path == "$.user.ssn").unwrap();
    let span = ssn.span.clone().unwrap();
    assert_eq!(
        &json[span.start as usize..span.end as usize],
        b"078-05-1120"
    );
    assert_eq!(
        r.values
            .iter()
            .filter(|v| v.kind == ValueKind::JsonNumber)
            .count(),
        2
    );
}

#[test]
fn errors_are_sticky_and_encodings_checked() {
    let stacked = BodyParser::new(
        &info("application/json", Some("gzip, br")),
        &Limits::default(),
    );
    assert!(matches!(stacked, Err(FormatError::UnsupportedEncoding(_))));
    let zstd = BodyParser::new(&info("application/json", Some("zstd")), &Limits::default());
    assert!(matches!(zstd, Err(FormatError::UnsupportedEncoding(_))));
    let mut p =
        BodyParser::new(&info("application/json", Some("gzip")), &Limits::default()).unwrap();
    let r = run(&mut p, [&b"not gzip"[..], b"more"]);
    assert!(matches!(r.result, Err(FormatError::Corrupt { .. })));
    let mut sink = |_: &crate::formats::Value<'_>| {};
    use crate::formats::PushParser;
    assert!(p.push(b"x", &mut sink).is_err());
    assert!(p.finish(&mut sink).is_err());
}

#[test]
fn binary_bodies_are_skipped_and_flagged() {
    let mut p = BodyParser::new(&info("image/png", None), &Limits::default()).unwrap();
    let r = run(&mut p, [&b"\x89PNG 078-05-1120"[..]]);
    assert!(r.values.is_empty());
    assert!(r.flags.skipped);
}

#[test]
fn keeps_the_decoded_body_for_redaction_within_a_limit() {
    use crate::formats::{PushParser, Value};
    use crate::redact::{redact, Mask, RedactFormat};
    let json = br#"{"ssn":"078-05-1120","n":4111111111111111}"#;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(json).unwrap();
    let gz = e.finish().unwrap();
    let mut p =
        BodyParser::new(&info("application/json", Some("gzip")), &Limits::default()).unwrap();
    p.keep_decoded(1024);
    let mut masks = Vec::new();
    let mut sink = |v: &Value<'_>| {
        if v.kind != ValueKind::JsonKey {
            masks.push(Mask::for_finding(v, 0, v.text.len()));
        }
    };
    for c in gz.chunks(7) {
        p.push(c, &mut sink).unwrap();
    }
    p.finish(&mut sink).unwrap();
    let decoded = p.decoded_body().expect("kept");
    assert_eq!(decoded, json);
    let out = redact(decoded, RedactFormat::from(p.format()), &masks);
    assert_eq!(out, br#"{"ssn":"***********","n":"****************"}"#);

    let mut small =
        BodyParser::new(&info("application/json", Some("gzip")), &Limits::default()).unwrap();
    small.keep_decoded(10);
    let r = run(&mut small, [&gz[..]]);
    assert_eq!(r.result, Ok(()), "scanning goes on past the keep limit");
    assert_eq!(r.values.len(), 4);
    assert!(small.decoded_body().is_none());
}
