//! `visibility.finding_events`: one JSON log line per finding through `proxy_log`, values
//! rendered per the report style, never raw by default. The real filter (`wasm32-wasip1`) runs
//! in the runtime in-process with an embedder that keeps its log lines.

use std::sync::Arc;

use microwaf_runtime::{NoEvents, NoProperties, PluginConfig, Runtime, RuntimeConfig, WasmSource};
use microwaf_tests::fixtures::{self, Target};

use super::upstream::leak_json;
use super::{CARD, SSN};

/// Collects the filter's log lines (finding events among them).
#[derive(Default)]
pub struct Logs(pub parking_lot::Mutex<Vec<String>>);

impl microwaf_runtime::Embedder for Logs {
    fn http_call(
        &self,
        _: microwaf_runtime::HttpCalloutRequest,
        _: microwaf_runtime::CalloutReply,
    ) -> Result<(), microwaf_runtime::Status> {
        Err(microwaf_runtime::Status::BadArgument)
    }
    fn log(&self, _: &str, _: u32, _: microwaf_runtime::LogLevel, message: &str) {
        self.0.lock().push(message.to_owned());
    }
}

pub fn pairs(list: &[(&str, &str)]) -> microwaf_runtime::Headers {
    list.iter()
        .map(|(k, v)| {
            (
                bytes::Bytes::copy_from_slice(k.as_bytes()),
                bytes::Bytes::copy_from_slice(v.as_bytes()),
            )
        })
        .collect()
}

/// Runs one exchange (the leaking JSON as the response) and returns the finding events.
fn events(policy: &'static str) -> Vec<serde_json::Value> {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let wasm = fixtures::wasm("microwaf_filter", Target::Wasip1);
    let mut cfg = PluginConfig::new("microwaf", WasmSource::Path(wasm));
    cfg.plugin_config = bytes::Bytes::from_static(policy.as_bytes());
    cfg.vm_count = Some(1);
    let logs = Arc::new(Logs::default());
    let plugin = rt.load_plugin(cfg, logs.clone()).expect("filter loads");
    let mut s = plugin.http_stream(Arc::new(NoProperties), Arc::new(NoEvents));
    let mut req = pairs(&[
        (":method", "GET"),
        (":path", "/api/v1/users/42"),
        (":authority", "users.svc"),
        ("authorization", "Bearer tok-7"),
    ]);
    s.on_request_headers(&mut req, true);
    let body = leak_json();
    let len = body.len().to_string();
    let mut resp = pairs(&[
        (":status", "200"),
        ("content-type", "application/json"),
        ("content-length", &len),
    ]);
    s.on_response_headers(&mut resp, false);
    let mut chunk = bytes::BytesMut::from(body.as_bytes());
    s.on_response_body(&mut chunk, true);
    s.on_log();
    drop(s);
    let lines = logs.0.lock().clone();
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "microwaf_finding")
        .collect()
}

#[test]
fn finding_events_are_json_lines_with_masked_values() {
    let found = events("visibility:\n  finding_events: true\n");
    let mut cats: Vec<&str> = found
        .iter()
        .map(|e| e["category"].as_str().unwrap())
        .collect();
    cats.sort();
    assert_eq!(cats, ["credit_card", "email", "us_ssn"], "{found:?}");
    for e in &found {
        assert_eq!(e["direction"], "response");
        assert_eq!(e["action"], "alert");
        // Label values are admitted on their second sighting: the first is `other`.
        assert!(["users.svc", "other"].contains(&e["destination"].as_str().unwrap()));
        let v = e["value"].as_str().unwrap();
        assert!(v.starts_with('*'), "masked by default: {v}");
        assert!(!v.contains(CARD) && !v.contains(SSN));
        assert!(e["token"].is_string() && e["token"] != "tok-7");
    }
    let ssn = found.iter().find(|e| e["category"] == "us_ssn").unwrap();
    assert_eq!(ssn["path"], "$.user.ssn");
    assert!(ssn["value"].as_str().unwrap().ends_with("4399"));
}

#[test]
fn finding_events_are_off_by_default_and_follow_the_report_style() {
    assert!(events("{}").is_empty());
    let found = events("visibility:\n  finding_events: true\nreport:\n  values: hash\n");
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found
        .iter()
        .all(|e| e["value"].as_str().unwrap().starts_with("sha256:")));
}
