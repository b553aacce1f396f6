//! The engine compiled to wasm finds exactly what the native engine finds, on the whole
//! detection corpus (`filters/engine/corpus`), through the same inspection pipeline the filter
//! uses, in every scan mode (sensitive data, attacks, both). The wasm side is
//! `filters/engine-probe` (the engine behind a minimal ABI, built for `wasm32-unknown-unknown`
//! so it needs no imports).

use std::path::PathBuf;

use microwaf_engine::formats::ContentInfo;
use microwaf_engine::inspect::{Inspector, ScanMode};
use microwaf_tests::fixtures::{self, Target};
use wasmtime::{Engine, Instance, Module, Store, TypedFunc};

fn probe_path() -> PathBuf {
    let filter = fixtures::wasm("microwaf_filter", Target::Unknown);
    filter.with_file_name("microwaf_engine_probe.wasm")
}

/// Every corpus case as (content type, body): the text as plain text, and, when the case has
/// a key, as a JSON member under that key.
fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../filters/engine/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            if line.trim().is_empty() {
                continue;
            }
            let case: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = case["text"].as_str().unwrap().to_owned();
            if let Some(key) = case["key"].as_str() {
                let json = serde_json::json!({ key: text }).to_string();
                out.push(("application/json", json.into_bytes()));
            }
            out.push(("text/plain", text.into_bytes()));
        }
    }
    out
}

/// The scan modes with the probe's numbering.
const MODES: [(ScanMode, u32); 3] = [
    (ScanMode::Sensitive, 0),
    (ScanMode::Attacks, 1),
    (ScanMode::Both, 2),
];

fn native(mode: ScanMode, ct: &str, body: &[u8], inspector: &std::sync::Arc<Inspector>) -> String {
    let info = ContentInfo {
        content_type: Some(ct),
        ..ContentInfo::default()
    };
    let mut scan = inspector.body(&info, mode).unwrap();
    scan.push(body);
    scan.finish();
    let mut out = String::new();
    for m in scan.take_matches() {
        let line = serde_json::json!({
            "category": m.category, "start": m.range.start, "end": m.range.end, "path": m.path,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

struct Probe {
    store: Store<()>,
    memory: wasmtime::Memory,
    alloc: TypedFunc<u32, u32>,
    scan: TypedFunc<(u32, u32, u32, u32, u32), u64>,
}

impl Probe {
    fn new() -> Probe {
        let engine = Engine::default();
        let module = Module::from_file(&engine, probe_path()).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let alloc = instance.get_typed_func(&mut store, "probe_alloc").unwrap();
        let scan = instance
            .get_typed_func(&mut store, "probe_scan_mode")
            .unwrap();
        Probe {
            store,
            memory,
            alloc,
            scan,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> u32 {
        let ptr = self
            .alloc
            .call(&mut self.store, bytes.len() as u32)
            .unwrap();
        self.memory
            .write(&mut self.store, ptr as usize, bytes)
            .unwrap();
        ptr
    }

    fn scan(&mut self, mode: u32, ct: &str, body: &[u8]) -> String {
        let c = self.put(ct.as_bytes());
        let b = self.put(body);
        let args = (mode, c, ct.len() as u32, b, body.len() as u32);
        let packed = self.scan.call(&mut self.store, args).unwrap();
        let (ptr, len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
        let mut out = vec![0u8; len];
        self.memory.read(&self.store, ptr, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }
}

#[test]
fn wasm_and_native_engines_report_identical_findings_on_the_corpus() {
    let inspector = Inspector::from_config(b"").unwrap();
    let mut probe = Probe::new();
    let cases = cases();
    assert!(cases.len() > 400, "corpus too small: {}", cases.len());
    for (mode, id) in MODES {
        let mut findings = 0;
        let mut attacks = 0;
        for (ct, body) in &cases {
            let want = native(mode, ct, body, &inspector);
            let got = probe.scan(id, ct, body);
            assert_eq!(
                got,
                want,
                "{mode:?} {ct}: {}",
                String::from_utf8_lossy(body)
            );
            findings += want.lines().count();
            attacks += want.lines().filter(|l| is_attack(l)).count();
        }
        // Each mode must actually find what it is for, or the comparison proves nothing.
        match mode {
            ScanMode::Sensitive => assert!(findings > 300 && attacks == 0, "{findings}/{attacks}"),
            ScanMode::Attacks => {
                assert!(attacks > 40 && attacks == findings, "{findings}/{attacks}")
            }
            ScanMode::Both => assert!(attacks > 40 && findings > 340, "{findings}/{attacks}"),
        }
    }
}

fn is_attack(line: &str) -> bool {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let c = v["category"].as_str().unwrap();
    [
        "sql_injection",
        "xss",
        "path_traversal",
        "command_injection",
        "ssrf",
        "jndi_injection",
    ]
    .contains(&c)
}

/// The real filter (`wasm32-wasip1`, proxy-wasm SDK, in the runtime) reports, per corpus case,
/// the same (category, path, value) findings as the native engine: its finding events carry
/// raw values under `report: {values: raw}`.
#[test]
fn the_real_wasip1_filter_reports_what_the_native_engine_finds() {
    use microwaf_runtime::{NoEvents, NoProperties, PluginConfig, Runtime, RuntimeConfig};
    use std::sync::Arc;

    let policy = "report:\n  values: raw\nvisibility:\n  finding_events: true\n";
    let inspector = Inspector::from_config(policy.as_bytes()).unwrap();
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let wasm = fixtures::wasm("microwaf_filter", Target::Wasip1);
    let mut cfg = PluginConfig::new("microwaf", microwaf_runtime::WasmSource::Path(wasm.clone()));
    cfg.plugin_config = bytes::Bytes::from_static(policy.as_bytes());
    cfg.vm_count = Some(1);
    let logs = Arc::new(super::events::Logs::default());
    let plugin = rt.load_plugin(cfg, logs.clone()).expect("filter loads");
    let (props, events) = (Arc::new(NoProperties), Arc::new(NoEvents));
    let mut compared = 0;
    for (ct, body) in cases() {
        let info = ContentInfo {
            content_type: Some(ct),
            ..ContentInfo::default()
        };
        let mut scan = inspector.body(&info, ScanMode::Sensitive).unwrap();
        scan.push(&body);
        scan.finish();
        let mut want: Vec<(String, String, String)> = scan
            .take_matches()
            .into_iter()
            .map(|m| (m.category, m.path, m.value))
            .collect();
        want.sort();

        logs.0.lock().clear();
        let mut s = plugin.http_stream(props.clone(), events.clone());
        let mut req = super::events::pairs(&[
            (":method", "GET"),
            (":path", "/corpus"),
            (":authority", "svc"),
        ]);
        s.on_request_headers(&mut req, true);
        let len = body.len().to_string();
        let mut resp = super::events::pairs(&[
            (":status", "200"),
            ("content-type", ct),
            ("content-length", &len),
        ]);
        s.on_response_headers(&mut resp, false);
        let mut chunk = bytes::BytesMut::from(&body[..]);
        s.on_response_body(&mut chunk, true);
        s.on_log();
        drop(s);
        let mut got: Vec<(String, String, String)> = logs
            .0
            .lock()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["event"] == "microwaf_finding")
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                (s("category"), s("path"), s("value"))
            })
            .collect();
        got.sort();
        assert_eq!(got, want, "{ct}: {}", String::from_utf8_lossy(&body));
        compared += want.len();
    }
    assert!(compared > 300, "only {compared} findings compared");
}
