//! The raw gate's promise: a value it calls quiet has no raw finding. Checked on every value of
//! JSON bodies built from the whole corpus and from API-like records, pushed in chunks of
//! several sizes, so a gate that skipped a value with a finding fails here.

use std::{fs, path::Path};

use microwaf_engine::detect::{Detector, RawGate};
use microwaf_engine::formats::{JsonParser, Limits, PushParser, Value, ValueSink};

struct Check<'a> {
    detector: &'a Detector,
    gate: RawGate,
    quiet: usize,
    values: usize,
}

impl ValueSink for Check<'_> {
    fn input(&mut self, offset: u64, bytes: &[u8]) {
        self.gate.walk(offset, bytes);
    }

    fn value(&mut self, v: &Value<'_>) {
        self.values += 1;
        let Some(span) = &v.span else { return };
        if !self.gate.quiet(span) {
            return;
        }
        self.quiet += 1;
        let mut out = Vec::new();
        self.detector.scan_raw(v.text, &mut out);
        assert!(
            out.is_empty(),
            "gate called {:?} at {span:?} quiet, raw scan finds {out:?}",
            String::from_utf8_lossy(v.text)
        );
    }
}

/// Every corpus text, as values under their keys, as keys, and inside longer strings.
fn corpus_body() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut items = Vec::new();
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
    {
        for line in fs::read_to_string(path).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = v["text"].as_str().unwrap();
            let key = v["key"].as_str().unwrap_or("note");
            let s = serde_json::to_string(text).unwrap();
            let k = serde_json::to_string(key).unwrap();
            items.push(format!(
                "{{{k}:{s},{s}:1,\"msg\":{}}}",
                serde_json::to_string(&format!("x {text} y")).unwrap()
            ));
            // Bare numbers as JSON numbers where the text is one.
            if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
                items.push(format!("{{{k}:{text}}}"));
            }
        }
    }
    format!("[{}]", items.join(",\n "))
}

fn api_body() -> String {
    let mut s = String::from("[");
    for i in 0..200 {
        s.push_str(&format!(
            r#"{{"id":"ord_{i:08}","at":"2024-06-{:02}T12:00:07Z","card":"4111 1111 1111 1111","ssn":"536-22-5314","iban":"DE89 3704 0044 0532 0130 00","n":{i}4111111111111111,"phone":"+1 (415) 555-0132","mail":"jane{i}@example.org","tok":"ghp_{i:036}","aws":"AKIAZ7Q3J5K2M4N6P8R1","q":[1,2,3,12345678,"a b"],"password":"hunter2","text":"Leave at the front door"}},"#,
            i % 28 + 1
        ));
    }
    s.push_str("{}]");
    s
}

fn check(body: &str, chunk: usize) -> (usize, usize) {
    let detector = Detector::builtin();
    let mut sink = Check {
        detector: &detector,
        gate: RawGate::new(),
        quiet: 0,
        values: 0,
    };
    let mut parser = JsonParser::new(&Limits::default());
    for piece in body.as_bytes().chunks(chunk) {
        parser.push(piece, &mut sink).unwrap();
    }
    parser.finish(&mut sink).unwrap();
    (sink.quiet, sink.values)
}

#[test]
fn quiet_values_have_no_raw_findings() {
    for body in [corpus_body(), api_body()] {
        for chunk in [1, 7, 64, 4096, usize::MAX] {
            let (quiet, values) = check(&body, chunk);
            // The gate must also be worth having: most values of these bodies are plain.
            assert!(
                quiet * 4 > values,
                "only {quiet} of {values} values quiet (chunk {chunk})"
            );
        }
    }
}

#[test]
fn hostile_bodies_turn_the_gate_off_not_the_scan() {
    // More events than the gate keeps, in one chunk: it turns off, so even the plain values
    // after them are scanned (none quiet), and the scan of the rest still runs.
    let body = format!("[{}\"plain\",\"text\"]", "\"a@b\",".repeat(5000));
    let (quiet, values) = check(&body, usize::MAX);
    assert_eq!((quiet, values), (0, 5002));
    // The same values spread over small chunks stay within the bound: the plain ones are quiet.
    let (quiet, _) = check(&body, 4096);
    assert!(quiet >= 2);
}
