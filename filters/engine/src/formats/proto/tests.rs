use std::io::Write;

use crate::formats::testutil::{run, split_invariant, Owned};
use crate::formats::{Encoding, FormatError, GrpcParser, Limits, ProtoParser, ValueKind};

pub(crate) fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn bytes_field(n: u32, b: &[u8], out: &mut Vec<u8>) {
    varint(u64::from(n) << 3 | 2, out);
    varint(b.len() as u64, out);
    out.extend_from_slice(b);
}

fn varint_field(n: u32, v: u64, out: &mut Vec<u8>) {
    varint(u64::from(n) << 3, out);
    varint(v, out);
}

/// `{1: email, 2: card as varint, 3: {1: ssn, 2: fixed32 7}, 4: opaque bytes, 5: fixed64}`.
pub(crate) fn sample() -> Vec<u8> {
    let mut inner = Vec::new();
    bytes_field(1, b"078-05-1120", &mut inner);
    inner.extend_from_slice(&[2 << 3 | 5, 7, 0, 0, 0]);
    let mut m = Vec::new();
    bytes_field(1, b"alice@example.com", &mut m);
    varint_field(2, 4111111111111111, &mut m);
    bytes_field(3, &inner, &mut m);
    bytes_field(4, &[0xff, 0x00, 0x01], &mut m);
    m.push(5 << 3 | 1);
    m.extend_from_slice(&42u64.to_le_bytes());
    m
}

fn summary(values: &[Owned]) -> Vec<(ValueKind, &str, Option<&str>, &str)> {
    values
        .iter()
        .map(|v| (v.kind, v.path.as_str(), v.key.as_deref(), v.text.as_str()))
        .collect()
}

#[test]
fn walks_a_message_without_schema() {
    let msg = sample();
    let r = split_invariant(&|| Box::new(ProtoParser::new(&Limits::default())), &msg);
    use ValueKind::{ProtoNumber as N, ProtoString as S};
    assert_eq!(
        summary(&r.values),
        [
            (S, "$.1", Some("1"), "alice@example.com"),
            (N, "$.2", Some("2"), "4111111111111111"),
            (S, "$.3.1", Some("1"), "078-05-1120"),
            (N, "$.3.2", Some("2"), "7"),
            (S, "$.4", Some("4"), "\u{FFFD}\0\u{1}"),
            (N, "$.5", Some("5"), "42"),
        ]
    );
    let span = r.values[2].span.clone().unwrap();
    assert_eq!(&msg[span.start as usize..span.end as usize], b"078-05-1120");
    assert_eq!(r.values[1].span, None);
    assert_eq!(r.flags, Default::default());
}

#[test]
fn non_protobuf_body_is_scanned_as_bytes() {
    let r = split_invariant(
        &|| Box::new(ProtoParser::new(&Limits::default())),
        b"\x07plain text 078-05-1120",
    );
    assert!(r.flags.fell_back_to_text);
    assert_eq!(r.values.len(), 1);
    assert!(r.values[0].text.contains("078-05-1120"));
}

#[test]
fn deep_and_oversized_messages_are_bounded() {
    let mut m = Vec::new();
    bytes_field(1, b"\x01secret", &mut m);
    for _ in 0..200 {
        let mut outer = Vec::new();
        bytes_field(2, &m, &mut outer);
        m = outer;
    }
    let limits = Limits {
        max_depth: 16,
        ..Limits::default()
    };
    let r = run(&mut ProtoParser::new(&limits), [&m[..]]);
    assert_eq!(r.result, Ok(()));
    assert!(r.values.iter().any(|v| v.text.contains("secret")));
    assert!(r.values.iter().all(|v| v.path.matches('.').count() <= 16));
    let small = Limits {
        max_message_len: 10,
        max_value_len: 64,
        window_overlap: 16,
        ..Limits::default()
    };
    let r = split_invariant(&move || Box::new(ProtoParser::new(&small)), &m);
    assert_eq!(r.result, Ok(()));
    assert!(r.flags.fell_back_to_text);
    assert!(r.values.iter().all(|v| v.kind == ValueKind::Text));
    assert!(r.values.iter().any(|v| v.text.contains("secret")));
}

#[test]
fn oversized_grpc_frames_are_scanned_as_text() {
    let limits = Limits {
        max_message_len: 64,
        max_value_len: 32,
        window_overlap: 8,
        ..Limits::default()
    };
    let mut big = Vec::new();
    bytes_field(
        1,
        format!("{} 078-05-1120 {}", "a".repeat(50), "b".repeat(50)).as_bytes(),
        &mut big,
    );
    let mut stream = frame(false, &big);
    stream.extend(frame(false, &sample()));
    let l = limits.clone();
    let r = split_invariant(
        &move || Box::new(GrpcParser::new(&l, Encoding::Identity)),
        &stream,
    );
    assert_eq!(r.result, Ok(()));
    assert!(r.flags.fell_back_to_text);
    let text = r
        .values
        .iter()
        .find(|v| v.text.contains("078-05-1120"))
        .expect("seen whole");
    assert_eq!(text.kind, ValueKind::Text);
    let span = text.span.clone().unwrap();
    assert_eq!(
        &stream[span.start as usize..span.end as usize],
        text.text.as_bytes()
    );
    assert!(
        r.values.iter().any(|v| v.path == "$.3.1"),
        "the next frame is walked again"
    );
    let r = run(
        &mut GrpcParser::new(&limits, Encoding::Gzip),
        [&frame(true, &big)[..]],
    );
    assert!(matches!(r.result, Err(FormatError::MessageTooLarge { .. })));
}

fn frame(compressed: bool, msg: &[u8]) -> Vec<u8> {
    let mut f = vec![u8::from(compressed)];
    f.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    f.extend_from_slice(msg);
    f
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn grpc_reports_every_message_including_compressed_ones() {
    let mut second = Vec::new();
    bytes_field(7, b"sk_live_0123456789abcdef", &mut second);
    let mut stream = frame(false, &sample());
    stream.extend(frame(true, &gzip(&second)));
    stream.extend(frame(false, &[]));
    stream.extend(frame(false, &second));
    // A gRPC-Web trailers frame: scanned as opaque text.
    let mut trailers = frame(
        false,
        b"grpc-status: 0\r\ngrpc-message: leaked 078-05-1120\r\n",
    );
    trailers[0] = 0x80;
    stream.extend(trailers);
    let r = split_invariant(
        &|| Box::new(GrpcParser::new(&Limits::default(), Encoding::Gzip)),
        &stream,
    );
    assert_eq!(r.result, Ok(()));
    let keys: Vec<_> = r.values.iter().filter(|v| v.path == "$.7").collect();
    assert_eq!(keys.len(), 2, "{:#?}", r.values);
    assert_eq!(keys[0].span, None, "compressed frame has no span");
    let span = keys[1].span.clone().unwrap();
    assert_eq!(
        &stream[span.start as usize..span.end as usize],
        b"sk_live_0123456789abcdef"
    );
    assert!(r
        .values
        .iter()
        .any(|v| v.text == "078-05-1120" && v.path == "$.3.1"));
}

#[test]
fn grpc_errors_on_truncation_bad_flags_and_limits() {
    let limits = Limits::default();
    let whole = frame(false, &sample());
    let r = run(
        &mut GrpcParser::new(&limits, Encoding::Identity),
        [&whole[..whole.len() - 1]],
    );
    assert_eq!(r.result, Err(FormatError::Truncated("grpc frame")));
    assert!(r.flags.truncated);
    let r = run(
        &mut GrpcParser::new(&limits, Encoding::Identity),
        [&whole[..3]],
    );
    assert_eq!(r.result, Err(FormatError::Truncated("grpc frame")));

    let r = run(
        &mut GrpcParser::new(&limits, Encoding::Identity),
        [&b"\x05\0\0\0\0"[..]],
    );
    assert!(matches!(r.result, Err(FormatError::Malformed { .. })));
    let r = run(
        &mut GrpcParser::new(&limits, Encoding::Identity),
        [&frame(true, b"xx")[..]],
    );
    assert!(matches!(r.result, Err(FormatError::Malformed { .. })));
    let r = run(
        &mut GrpcParser::new(&limits, Encoding::Gzip),
        [&b"\x01\xff\xff\xff\xff"[..]],
    );
    assert!(matches!(r.result, Err(FormatError::MessageTooLarge { .. })));
    // An uncompressed 4 GiB frame streams as text; this one ends early.
    let r = run(
        &mut GrpcParser::new(&limits, Encoding::Identity),
        [&b"\0\xff\xff\xff\xffabc"[..]],
    );
    assert_eq!(r.result, Err(FormatError::Truncated("grpc frame")));
    assert!(r.flags.fell_back_to_text && r.flags.truncated);

    let bomb = frame(true, &gzip(&vec![0u8; 4 << 20]));
    let small = Limits {
        max_message_len: 1 << 20,
        ..Limits::default()
    };
    let r = run(&mut GrpcParser::new(&small, Encoding::Gzip), [&bomb[..]]);
    assert!(matches!(r.result, Err(FormatError::DecodedTooLarge { .. })));
}
