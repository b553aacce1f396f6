use crate::formats::testutil::split_invariant;
use crate::formats::{HtmlParser, Limits, ValueKind};

fn parse(body: &[u8]) -> Vec<(ValueKind, Option<String>, String, String)> {
    let r = split_invariant(&|| Box::new(HtmlParser::new(&Limits::default())), body);
    assert_eq!(r.result, Ok(()));
    r.values
        .into_iter()
        .map(|v| (v.kind, v.key, v.path, v.text))
        .collect()
}

#[test]
fn text_attributes_entities_scripts_and_comments() {
    let body = br#"<!DOCTYPE html><html><head><style>.a{}</style>
<script type="text/javascript">var k = "AKIA&amp;" < 3; // </b></script></head>
<body class=main><p>SSN: 078&#45;05&#x2D;1120 &amp; card&nbsp;4111</p>
<!-- debug: token ghp_abc --->
<input type="text" name="ssn" value='078-05-1120' disabled>
<a href="mailto:a@b.example" title=x&lt;y>mail</a> 5 < 6 &bogus; &amp</body></html>"#;
    use ValueKind::{HtmlAttr as A, HtmlText as T};
    let s = |x: &str| x.to_owned();
    let k = |x: &str| Some(x.to_owned());
    assert_eq!(
        parse(body),
        [
            (T, None, s("$"), s(".a{}")),
            (A, k("type"), s("$.script.type"), s("text/javascript")),
            (T, None, s("$"), s("var k = \"AKIA&amp;\" < 3; // </b>")),
            (A, k("class"), s("$.body.class"), s("main")),
            (T, None, s("$"), s("SSN: 078-05-1120 & card\u{a0}4111")),
            (T, None, s("$"), s(" debug: token ghp_abc -")),
            (A, k("type"), s("$.input.type"), s("text")),
            (A, k("name"), s("$.input.name"), s("ssn")),
            (A, k("ssn"), s("$.input.value"), s("078-05-1120")),
            (A, k("href"), s("$.a.href"), s("mailto:a@b.example")),
            (A, k("title"), s("$.a.title"), s("x<y")),
            (T, None, s("$"), s("mail")),
            (T, None, s("$"), s(" 5 ")),
            (T, None, s("$"), s("< 6 &bogus; &amp")),
        ]
    );
}

#[test]
fn verbatim_text_keeps_its_span() {
    let body = b"<p>hello 078-05-1120</p>";
    let r = split_invariant(&|| Box::new(HtmlParser::new(&Limits::default())), body);
    let span = r.values[0].span.clone().unwrap();
    assert_eq!(
        &body[span.start as usize..span.end as usize],
        b"hello 078-05-1120"
    );
}

#[test]
fn unterminated_constructs_do_not_panic() {
    for body in [
        &b"<scr"[..],
        b"<script>abc</scr",
        b"<!-- x -",
        b"<a href=\"x",
        b"a &#x1F600",
        b"<",
    ] {
        split_invariant(&|| Box::new(HtmlParser::new(&Limits::default())), body);
    }
}
