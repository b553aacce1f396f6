//! Properties every parser shares: split invariance, the window-overlap guarantee, and
//! no panics on hostile input.

use memchr::memmem;

use super::testutil::{run, split_invariant, Rng};
use super::{
    BodyParser, ContentInfo, Encoding, FormParser, GrpcParser, HtmlParser, JsonParser, Limits,
    MultipartParser, ProtoParser, PushParser, TextParser, ValueKind,
};

const NEEDLE: &[u8] = b"4111111111111111";

fn small_windows() -> Limits {
    Limits {
        max_value_len: 64,
        window_overlap: 16,
        ..Limits::default()
    }
}

/// Whether some reported window holds the needle whole, at the right body offset.
fn found_whole(body: &[u8], values: &[super::testutil::Owned]) -> bool {
    values.iter().any(|v| {
        memmem::find(v.text.as_bytes(), NEEDLE).is_some_and(|at| {
            v.span.as_ref().is_none_or(|s| {
                &body[s.start as usize + at..s.start as usize + at + NEEDLE.len()] == NEEDLE
            })
        })
    })
}

#[test]
fn text_windows_see_every_straddling_match_whole() {
    let limits = small_windows();
    for at in 0..200 {
        let mut body = vec![b'x'; 300];
        body[at..at + NEEDLE.len()].copy_from_slice(NEEDLE);
        let l = limits.clone();
        let r = split_invariant(&move || Box::new(TextParser::new(&l)), &body);
        assert!(
            found_whole(&body, &r.values),
            "needle at {at} not seen whole"
        );
        assert!(r
            .values
            .iter()
            .all(|v| v.text.len() <= 64 && v.kind == ValueKind::Text));
        let covered: usize = r.values.iter().map(|v| v.text.len() - v.overlap).sum();
        assert_eq!(covered, body.len(), "windows minus overlaps tile the body");
    }
}

#[test]
fn long_json_strings_see_every_straddling_match_whole() {
    let limits = small_windows();
    for at in (0..200).step_by(7) {
        let mut s = vec![b'y'; 260];
        s[at..at + NEEDLE.len()].copy_from_slice(NEEDLE);
        let mut body = b"{\"k\":\"".to_vec();
        body.extend_from_slice(&s);
        body.extend_from_slice(b"\\n\"}");
        let l = limits.clone();
        let r = split_invariant(&move || Box::new(JsonParser::new(&l)), &body);
        assert!(
            found_whole(&body, &r.values),
            "needle at {at} not seen whole"
        );
    }
}

/// Builds a fresh parser for each run.
type Factory = Box<dyn Fn() -> Box<dyn PushParser>>;

fn parsers(limits: &Limits) -> Vec<(&'static str, Factory)> {
    let l = limits.clone();
    let mk = move |f: fn(&Limits) -> Box<dyn PushParser>| {
        let l = l.clone();
        Box::new(move || f(&l)) as Factory
    };
    vec![
        ("json", mk(|l| Box::new(JsonParser::new(l)))),
        ("text", mk(|l| Box::new(TextParser::new(l)))),
        ("form", mk(|l| Box::new(FormParser::new(l)))),
        ("html", mk(|l| Box::new(HtmlParser::new(l)))),
        ("proto", mk(|l| Box::new(ProtoParser::new(l)))),
        ("grpc", mk(|l| Box::new(GrpcParser::new(l, Encoding::Gzip)))),
        (
            "multipart",
            mk(|l| Box::new(MultipartParser::new("b", l).unwrap())),
        ),
        (
            "gzip-json",
            mk(|l| {
                let info = ContentInfo {
                    content_type: Some("application/json"),
                    content_encoding: Some("gzip"),
                    grpc_encoding: None,
                };
                Box::new(BodyParser::new(&info, l).unwrap())
            }),
        ),
    ]
}

#[test]
fn hostile_bytes_never_panic_and_stay_split_invariant() {
    let limits = Limits {
        max_value_len: 32,
        window_overlap: 8,
        max_depth: 8,
        max_message_len: 4096,
        max_decoded_bytes: 1 << 16,
        unknown_as_text: false,
    };
    let alphabet: &[u8] =
        b"{}[]\":,\\u0a1-e.&=%+<>/!-'\r\n\x00\x01\x02\x05\x0a\x12\x1f\x8b\x80\xff\xc3 bscript";
    let mut rng = Rng(99);
    for (name, make) in parsers(&limits) {
        for round in 0..40 {
            let len = rng.below(160);
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let r = split_invariant(&*make, &body);
            assert!(
                r.values.iter().all(|v| v.len <= 32),
                "{name} round {round}: window limit exceeded"
            );
        }
    }
}

#[test]
fn pathological_sizes_stay_bounded() {
    let limits = small_windows();
    let nested = b"{\"a\":".repeat(10_000);
    let r = run(&mut JsonParser::new(&limits), [&nested[..]]);
    assert!(r.flags.fell_back_to_text);
    assert!(r.values.iter().all(|v| v.text.len() <= 64));

    let huge = vec![b'a'; 1 << 20];
    let mut max = 0;
    let mut html = HtmlParser::new(&limits);
    let mut sink = |v: &super::Value<'_>| max = max.max(v.text.len());
    html.push(b"<p title=\"", &mut sink).unwrap();
    html.push(&huge, &mut sink).unwrap();
    html.finish(&mut sink).unwrap();
    let mut form = FormParser::new(&limits);
    form.push(&huge, &mut sink).unwrap();
    form.finish(&mut sink).unwrap();
    assert!(max <= 64);
}
