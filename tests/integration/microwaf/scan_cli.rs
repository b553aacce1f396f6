//! `microwaf scan` through the real binary: exit codes, files, directories, stdin, HAR
//! archives, the JSON-line shape and the policy's value report style.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::{microwaf, CARD, SSN};

/// A fresh directory for one test's inputs.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("microwaf-scan-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn scan(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(microwaf())
        .arg("scan")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn microwaf scan");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// The JSON lines of stdout, each checked for the documented shape.
fn lines(o: &Output) -> Vec<serde_json::Value> {
    let out = String::from_utf8_lossy(&o.stdout);
    out.lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let obj = v.as_object().expect("an object per line");
            for k in obj.keys() {
                assert!(
                    ["source", "category", "start", "end", "path", "value"].contains(&k.as_str()),
                    "unexpected field {k} in {l}"
                );
            }
            assert!(v["source"].is_string() && v["category"].is_string(), "{l}");
            let (s, e) = (v["start"].as_u64().unwrap(), v["end"].as_u64().unwrap());
            assert!(s < e, "{l}");
            v
        })
        .collect()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

#[test]
fn exit_codes_say_clean_findings_or_error() {
    let d = dir("codes");
    let clean = write(&d.join("clean.json"), r#"{"order":"ord_8c1d2e","qty":2}"#);
    let o = scan(&[&clean], None);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty());

    let leak = write(
        &d.join("leak.json"),
        &format!(r#"{{"user":{{"ssn":"{SSN}"}}}}"#),
    );
    let o = scan(&[&leak], None);
    assert_eq!(code(&o), 1);
    let found = lines(&o);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["source"], leak.as_str());
    assert_eq!(found[0]["category"], "us_ssn");
    assert_eq!(found[0]["path"], "$.user.ssn");
    // start/end locate the value in the file.
    let text = std::fs::read_to_string(&leak).unwrap();
    let (s, e) = (
        found[0]["start"].as_u64().unwrap() as usize,
        found[0]["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[s..e], SSN);

    let missing = d.join("nope.json");
    let o = scan(&[missing.to_str().unwrap()], None);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope.json"));

    let bad_policy = write(&d.join("p.yaml"), "defaults:\n  default_action: redcat\n");
    let o = scan(&["--policy", &bad_policy, &clean], None);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("default_action"));
}

#[test]
fn stdin_is_scanned_as_text_and_values_are_masked_by_default() {
    let o = scan(&["-"], Some(&format!("card on file: {CARD}\n")));
    assert_eq!(code(&o), 1);
    let found = lines(&o);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["source"], "-");
    assert_eq!(found[0]["category"], "credit_card");
    // Plain text has no path; the value is masked, keeping the last 4.
    assert!(found[0].get("path").is_none(), "{found:?}");
    let v = found[0]["value"].as_str().unwrap();
    assert!(
        v.ends_with("1486") && v.starts_with('*') && !v.contains(CARD),
        "{v}"
    );
}

#[test]
fn the_policy_chooses_the_report_style() {
    let d = dir("style");
    let input = format!("ssn {SSN}\n");
    let mut seen = Vec::new();
    for style in ["none", "hash", "raw"] {
        let p = write(
            &d.join(format!("{style}.yaml")),
            &format!("report:\n  values: {style}\n"),
        );
        let o = scan(&["--policy", &p, "-"], Some(&input));
        assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
        let found = lines(&o);
        assert_eq!(found.len(), 1);
        seen.push(found[0].get("value").cloned());
    }
    assert_eq!(seen[0], None, "none: no value field");
    let hash = seen[1].as_ref().unwrap().as_str().unwrap();
    assert!(hash.starts_with("sha256:") && !hash.contains(SSN), "{hash}");
    assert_eq!(seen[2].as_ref().unwrap(), SSN);
}

#[test]
fn directories_are_walked_and_har_entries_scanned() {
    let d = dir("tree");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    write(&d.join("a.json"), &format!(r#"{{"card":"{CARD}"}}"#));
    write(&d.join("sub/b.html"), &format!("<p>SSN {SSN}</p>"));
    write(&d.join("sub/c.txt"), "nothing to see");
    let har = serde_json::json!({"log": {"entries": [
        {"request": {"postData": {"mimeType": "application/json", "text": format!(r#"{{"ssn":"{SSN}"}}"#)}},
         "response": {"content": {"mimeType": "text/plain", "text": "fine"}}},
        {"request": {},
         "response": {"content": {"mimeType": "application/json", "encoding": "base64",
            "text": base64_of(&format!(r#"{{"pay":{{"card":"{CARD}"}}}}"#))}}}
    ]}});
    let har_path = write(&d.join("sub/trace.har"), &har.to_string());
    let o = scan(&[d.to_str().unwrap()], None);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let found: Vec<(String, String)> = lines(&o)
        .iter()
        .map(|v| {
            (
                v["source"].as_str().unwrap().to_owned(),
                v["category"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let a = d.join("a.json").display().to_string();
    let b = d.join("sub/b.html").display().to_string();
    assert_eq!(
        found,
        [
            (a, "credit_card".to_owned()),
            (b, "us_ssn".to_owned()),
            (
                format!("{har_path}#entries[0].request"),
                "us_ssn".to_owned()
            ),
            (
                format!("{har_path}#entries[1].response"),
                "credit_card".to_owned()
            ),
        ]
    );
    let o = scan(&[&har_path], None);
    let paths: Vec<_> = lines(&o).iter().map(|v| v["path"].clone()).collect();
    assert_eq!(paths, ["$.ssn", "$.pay.card"]);
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn decide_prints_the_filters_decision_per_document() {
    let d = dir("decide");
    let policy = write(
        &d.join("p.yaml"),
        "defaults:\n  actions:\n    credit_card: block\n    email: redact\nlimits:\n  max_body_bytes: 1KiB\n  fallback: fail_closed\n",
    );
    let card = write(&d.join("card.json"), &format!(r#"{{"card":"{CARD}"}}"#));
    let mail = write(&d.join("mail.json"), r#"{"m":"ann@example.org"}"#);
    let clean = write(&d.join("clean.json"), r#"{"order":"ord_8c1d2e"}"#);
    let filler: Vec<String> = (0..200).map(|i| format!(r#"{{"n":{i}}}"#)).collect();
    let big = write(&d.join("big.json"), &format!("[{}]", filler.join(",")));
    let o = scan(
        &["--policy", &policy, "--decide", &card, &mail, &clean, &big],
        None,
    );
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let decisions: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v.get("decision").is_some())
        .collect();
    let got: Vec<(String, String, String, Option<String>)> = decisions
        .iter()
        .map(|v| {
            (
                v["source"].as_str().unwrap().to_owned(),
                v["decision"].as_str().unwrap().to_owned(),
                v["action"].as_str().unwrap().to_owned(),
                v.get("fallback").map(|f| f.as_str().unwrap().to_owned()),
            )
        })
        .collect();
    let row = |s: &str, d: &str, a: &str, f: Option<&str>| {
        (
            s.to_owned(),
            d.to_owned(),
            a.to_owned(),
            f.map(str::to_owned),
        )
    };
    assert_eq!(
        got,
        [
            row(&card, "block", "block", None),
            row(&mail, "redact", "redact", None),
            row(&clean, "pass", "ignore", None),
            // Over the hold limit with fail_closed: refused although clean.
            row(&big, "block", "ignore", Some("body_limit")),
        ]
    );
}
