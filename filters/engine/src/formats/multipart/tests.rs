use crate::formats::testutil::{run, split_invariant};
use crate::formats::{FormatError, Limits, MultipartParser, ValueKind};

const BODY: &[u8] = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"ssn\"\r\n\r\n\
078-05-1120\r\n--XyZ\r\ncontent-disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n\
{\"card\":\"4111111111111111\"}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\
Content-Type: application/octet-stream\r\n\r\n\x00\x01binary\r\n--XyZ--\r\nepilogue --XyZ";

fn parser() -> Box<MultipartParser> {
    Box::new(MultipartParser::new("XyZ", &Limits::default()).unwrap())
}

#[test]
fn parts_dispatch_on_their_content_type_with_name_as_key() {
    let r = split_invariant(&|| parser(), BODY);
    assert_eq!(r.result, Ok(()));
    let got: Vec<_> = r
        .values
        .iter()
        .map(|v| (v.kind, v.key.as_deref(), v.path.as_str(), v.text.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (ValueKind::FormValue, Some("ssn"), "$.ssn", "078-05-1120"),
            (ValueKind::JsonKey, Some("meta"), "$.meta", "card"),
            (
                ValueKind::JsonString,
                Some("card"),
                "$.meta.card",
                "4111111111111111"
            ),
        ]
    );
    for v in &r.values {
        let span = v.span.clone().unwrap();
        assert_eq!(
            &BODY[span.start as usize..span.end as usize],
            v.text.as_bytes()
        );
    }
    assert!(r.flags.skipped, "octet-stream part is reported as skipped");
    assert!(!r.flags.truncated);
}

#[test]
fn body_starting_with_the_delimiter_and_truncated_bodies() {
    let body = b"--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nvalue without end";
    let r = split_invariant(
        &|| Box::new(MultipartParser::new("b", &Limits::default()).unwrap()),
        body,
    );
    assert!(r.flags.truncated);
    assert_eq!(r.values.len(), 1);
    assert_eq!(r.values[0].text, "value without end");
    assert_eq!(r.values[0].span, Some(49..66));
}

#[test]
fn oversized_headers_and_deep_nesting_are_errors() {
    let mut body = b"--b\r\nX-Junk: ".to_vec();
    body.extend(std::iter::repeat_n(b'a', 10_000));
    let r = run(&mut *parser_for("b"), [&body[..]]);
    assert!(matches!(r.result, Err(FormatError::Malformed { .. })));
    let limits = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    let nested = b"--a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\nx";
    let r = run(
        &mut MultipartParser::new("a", &limits).unwrap(),
        [&nested[..]],
    );
    assert!(
        matches!(r.result, Err(FormatError::Malformed { .. })),
        "{r:?}"
    );
}

fn parser_for(b: &str) -> Box<MultipartParser> {
    Box::new(MultipartParser::new(b, &Limits::default()).unwrap())
}
