//! The engine compiled to wasm finds exactly what the native engine finds, on the whole
//! detection corpus (`filters/engine/corpus`), through the same inspection pipeline the filter
//! uses. The wasm side is `filters/engine-probe` (the engine behind a minimal ABI, built for
//! `wasm32-unknown-unknown` so it needs no imports).

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

fn native(ct: &str, body: &[u8], inspector: &std::sync::Arc<Inspector>) -> String {
    let info = ContentInfo {
        content_type: Some(ct),
        ..ContentInfo::default()
    };
    let mut scan = inspector.body(&info, ScanMode::Sensitive).unwrap();
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
    scan: TypedFunc<(u32, u32, u32, u32), u64>,
}

impl Probe {
    fn new() -> Probe {
        let engine = Engine::default();
        let module = Module::from_file(&engine, probe_path()).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let alloc = instance.get_typed_func(&mut store, "probe_alloc").unwrap();
        let scan = instance.get_typed_func(&mut store, "probe_scan").unwrap();
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

    fn scan(&mut self, ct: &str, body: &[u8]) -> String {
        let c = self.put(ct.as_bytes());
        let b = self.put(body);
        let packed = self
            .scan
            .call(&mut self.store, (c, ct.len() as u32, b, body.len() as u32))
            .unwrap();
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
    let mut findings = 0;
    for (ct, body) in &cases {
        let want = native(ct, body, &inspector);
        let got = probe.scan(ct, body);
        assert_eq!(got, want, "{ct}: {}", String::from_utf8_lossy(body));
        findings += want.lines().count();
    }
    assert!(
        findings > 300,
        "only {findings} findings: is the corpus scanned at all?"
    );
}
