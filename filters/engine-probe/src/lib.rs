//! The MicroWAF engine behind a minimal wasm ABI (no proxy-wasm, no WASI needed), so tests can
//! prove the wasm build finds exactly what the native build finds, and benches can measure the
//! engine inside Wasmtime without the filter's host calls.
//!
//! Exports: `probe_alloc(len) -> ptr`, `probe_configure(ptr, len) -> 0 | 1`,
//! `probe_scan(ct_ptr, ct_len, body_ptr, body_len) -> u64` (`ptr << 32 | len` of JSON lines,
//! one per finding: `{"category","start","end","path"}`), `probe_scan_mode(mode, ct_ptr,
//! ct_len, body_ptr, body_len) -> u64` (the same for a [`ScanMode`]: 0 sensitive, 1 attacks,
//! 2 both), `probe_count(ct_ptr, ct_len, body_ptr, body_len) -> u32` (findings only, for
//! benchmarks).

use std::sync::{Arc, Mutex};

use microwaf_engine::formats::ContentInfo;
use microwaf_engine::inspect::{Inspector, Match, ScanMode};

static INSPECTOR: Mutex<Option<Arc<Inspector>>> = Mutex::new(None);
static OUTPUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Allocates `len` bytes the host writes inputs into (leaked: the probe lives for one test).
#[no_mangle]
pub extern "C" fn probe_alloc(len: u32) -> *mut u8 {
    let mut v = vec![0u8; len as usize];
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// # Safety
/// `ptr..ptr+len` must be memory the host wrote through `probe_alloc`.
unsafe fn bytes<'a>(ptr: *const u8, len: u32) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the caller guarantees the range is initialised guest memory.
    unsafe { std::slice::from_raw_parts(ptr, len as usize) }
}

/// Loads a policy; 0 on success.
///
/// # Safety
/// See [`bytes`].
#[no_mangle]
pub unsafe extern "C" fn probe_configure(ptr: *const u8, len: u32) -> u32 {
    // SAFETY: forwarded from the caller.
    let text = unsafe { bytes(ptr, len) };
    match Inspector::from_config(text) {
        Ok(i) => {
            *INSPECTOR.lock().unwrap_or_else(|e| e.into_inner()) = Some(i);
            0
        }
        Err(_) => 1,
    }
}

fn run(ct: &[u8], body: &[u8]) -> Vec<Match> {
    run_in(ScanMode::Sensitive, ct, body)
}

fn run_in(mode: ScanMode, ct: &[u8], body: &[u8]) -> Vec<Match> {
    // Built once: the default policy's detector is what a benchmark must not re-measure.
    let inspector = INSPECTOR
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(|| Inspector::from_config(b"").expect("default policy"))
        .clone();
    let ct = std::str::from_utf8(ct).ok().filter(|s| !s.is_empty());
    let info = ContentInfo {
        content_type: ct,
        ..ContentInfo::default()
    };
    match inspector.body(&info, mode) {
        Ok(mut scan) => {
            scan.push(body);
            scan.finish();
            scan.take_matches()
        }
        Err(_) => Vec::new(),
    }
}

/// Scans a body; returns the findings as JSON lines (`ptr << 32 | len`).
///
/// # Safety
/// See [`bytes`].
#[no_mangle]
pub unsafe extern "C" fn probe_scan(ct: *const u8, ct_len: u32, body: *const u8, len: u32) -> u64 {
    // SAFETY: forwarded from the caller.
    unsafe { probe_scan_mode(0, ct, ct_len, body, len) }
}

/// Scans a body in `mode` (0 sensitive, 1 attacks, 2 both; anything else = sensitive);
/// returns the findings as JSON lines (`ptr << 32 | len`).
///
/// # Safety
/// See [`bytes`].
#[no_mangle]
pub unsafe extern "C" fn probe_scan_mode(
    mode: u32,
    ct: *const u8,
    ct_len: u32,
    body: *const u8,
    len: u32,
) -> u64 {
    // SAFETY: forwarded from the caller.
    let (ct, body) = unsafe { (bytes(ct, ct_len), bytes(body, len)) };
    let mode = match mode {
        1 => ScanMode::Attacks,
        2 => ScanMode::Both,
        _ => ScanMode::Sensitive,
    };
    let mut out = OUTPUT.lock().unwrap_or_else(|e| e.into_inner());
    out.clear();
    for m in run_in(mode, ct, body) {
        let line = serde_json::json!({
            "category": m.category, "start": m.range.start, "end": m.range.end, "path": m.path,
        });
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
    ((out.as_ptr() as u64) << 32) | out.len() as u64
}

/// Scans a body; returns only the number of findings.
///
/// # Safety
/// See [`bytes`].
#[no_mangle]
pub unsafe extern "C" fn probe_count(ct: *const u8, ct_len: u32, body: *const u8, len: u32) -> u32 {
    // SAFETY: forwarded from the caller.
    let (ct, body) = unsafe { (bytes(ct, ct_len), bytes(body, len)) };
    run(ct, body).len() as u32
}
