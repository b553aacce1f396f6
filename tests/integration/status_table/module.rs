//! Generates the probe module's WAT from the status table's rows.

use std::fmt::Write;

use super::row::{Phase, Row, DATA, PHASES};

/// The bump allocator hands out memory from here up (beyond the static data).
const HEAP: u32 = 65536;

/// Every `env` import a probe may call (ABI 0.2.1 plus the 0.1.0 additions), wasm32 signatures.
const IMPORTS: &[(&str, &str)] = &[
    ("proxy_log", "i32 i32 i32"),
    ("proxy_get_log_level", "i32"),
    ("proxy_get_current_time_nanoseconds", "i32"),
    ("proxy_set_tick_period_milliseconds", "i32"),
    ("proxy_set_effective_context", "i32"),
    ("proxy_done", ""),
    ("proxy_get_buffer_bytes", "i32 i32 i32 i32 i32"),
    ("proxy_set_buffer_bytes", "i32 i32 i32 i32 i32"),
    ("proxy_get_buffer_status", "i32 i32 i32"),
    ("proxy_get_header_map_pairs", "i32 i32 i32"),
    ("proxy_set_header_map_pairs", "i32 i32 i32"),
    ("proxy_get_header_map_size", "i32 i32"),
    ("proxy_get_header_map_value", "i32 i32 i32 i32 i32"),
    ("proxy_add_header_map_value", "i32 i32 i32 i32 i32"),
    ("proxy_replace_header_map_value", "i32 i32 i32 i32 i32"),
    ("proxy_remove_header_map_value", "i32 i32 i32"),
    ("proxy_continue_stream", "i32"),
    ("proxy_close_stream", "i32"),
    (
        "proxy_send_local_response",
        "i32 i32 i32 i32 i32 i32 i32 i32",
    ),
    ("proxy_http_call", "i32 i32 i32 i32 i32 i32 i32 i32 i32 i32"),
    (
        "proxy_grpc_call",
        "i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32",
    ),
    ("proxy_grpc_stream", "i32 i32 i32 i32 i32 i32 i32 i32 i32"),
    ("proxy_grpc_send", "i32 i32 i32 i32"),
    ("proxy_grpc_cancel", "i32"),
    ("proxy_grpc_close", "i32"),
    ("proxy_get_status", "i32 i32 i32"),
    ("proxy_set_shared_data", "i32 i32 i32 i32 i32"),
    ("proxy_get_shared_data", "i32 i32 i32 i32 i32"),
    ("proxy_register_shared_queue", "i32 i32 i32"),
    ("proxy_resolve_shared_queue", "i32 i32 i32 i32 i32"),
    ("proxy_enqueue_shared_queue", "i32 i32 i32"),
    ("proxy_dequeue_shared_queue", "i32 i32 i32"),
    ("proxy_define_metric", "i32 i32 i32 i32"),
    ("proxy_increment_metric", "i32 i64"),
    ("proxy_record_metric", "i32 i64"),
    ("proxy_get_metric", "i32 i32"),
    ("proxy_get_property", "i32 i32 i32 i32"),
    ("proxy_set_property", "i32 i32 i32 i32"),
    ("proxy_call_foreign_function", "i32 i32 i32 i32 i32 i32"),
    ("proxy_get_configuration", "i32 i32"),
    ("proxy_clear_route_cache", ""),
    ("proxy_continue_request", ""),
    ("proxy_continue_response", ""),
];

/// `"..."` with every byte escaped, for a data segment.
fn escaped(bytes: &[u8]) -> String {
    bytes.iter().fold(String::from("\""), |mut s, b| {
        let _ = write!(s, "\\{b:02x}");
        s
    }) + "\""
}

/// The callback export of each phase: (name, params, return value if it has one).
fn callback(phase: Phase) -> (&'static str, &'static str, Option<u32>) {
    const P1: &str = "(param i32)";
    const P2: &str = "(param i32 i32)";
    const P3: &str = "(param i32 i32 i32)";
    match phase {
        Phase::Configure => ("proxy_on_configure", P2, Some(1)),
        Phase::HttpResponse => (
            "proxy_on_http_call_response",
            "(param i32 i32 i32 i32 i32)",
            None,
        ),
        Phase::GrpcInitial => ("proxy_on_grpc_receive_initial_metadata", P3, None),
        Phase::GrpcReceive => ("proxy_on_grpc_receive", P3, None),
        Phase::GrpcTrailing => ("proxy_on_grpc_receive_trailing_metadata", P3, None),
        Phase::RequestHeaders => ("proxy_on_request_headers", P3, Some(0)),
        Phase::RequestBody => ("proxy_on_request_body", P3, Some(0)),
        Phase::RequestTrailers => ("proxy_on_request_trailers", P2, Some(0)),
        Phase::ResponseHeaders => ("proxy_on_response_headers", P3, Some(0)),
        Phase::ResponseTrailers => ("proxy_on_response_trailers", P2, Some(0)),
        Phase::Log => ("proxy_on_log", P1, None),
        Phase::Downstream => ("proxy_on_downstream_data", P3, Some(0)),
        Phase::Upstream => ("proxy_on_upstream_data", P3, Some(0)),
    }
}

/// The probe module: imports, a bump `malloc`, `$report`, and one callback per phase running
/// its rows in order.
pub fn probe_module(rows: &[Row], data: &[u8]) -> String {
    let mut wat = String::from("(module\n");
    for (name, params) in IMPORTS {
        let _ = writeln!(
            wat,
            "  (import \"env\" \"{name}\" (func ${name} (param {params}) (result i32)))"
        );
    }
    // Labels follow the data, each with 3 bytes of room for "=NN".
    let mut labels = Vec::new();
    let mut label_at = Vec::new();
    for row in rows {
        let label = &row.label;
        label_at.push((DATA as usize + data.len() + labels.len(), label.len()));
        labels.extend_from_slice(label.as_bytes());
        labels.extend_from_slice(b"=00");
    }
    let _ = write!(
        wat,
        r#"  (memory (export "memory") 4)
  (data (i32.const {DATA}) {data})
  (data (i32.const {labels_at}) {labels})
  (global $heap (mut i32) (i32.const {HEAP}))
  (func (export "malloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32))
  (func $report (param $ptr i32) (param $len i32) (param $st i32) (local $at i32)
    (local.set $at (i32.add (local.get $ptr) (local.get $len)))
    (i32.store8 offset=1 (local.get $at) (i32.add (i32.const 48) (i32.div_u (local.get $st) (i32.const 10))))
    (i32.store8 offset=2 (local.get $at) (i32.add (i32.const 48) (i32.rem_u (local.get $st) (i32.const 10))))
    (drop (call $proxy_log (i32.const 2) (local.get $ptr) (i32.add (local.get $len) (i32.const 3)))))
"#,
        data = escaped(data),
        labels_at = DATA as usize + data.len(),
        labels = escaped(&labels),
    );
    // Each phase's rows run once: a later stream reaching the same callback (the table drives
    // a second stream for response trailers) runs nothing.
    for (n, phase) in PHASES.into_iter().enumerate() {
        let (name, params, ret) = callback(phase);
        let result = if ret.is_some() { "(result i32)" } else { "" };
        let early = ret.map_or(String::new(), |r| format!("(i32.const {r}) "));
        let _ = writeln!(
            wat,
            "  (global $ran{n} (mut i32) (i32.const 0))\n  (func (export \"{name}\") {params} {result}\n    (if (global.get $ran{n}) (then {early}(return)))\n    (global.set $ran{n} (i32.const 1))"
        );
        for (row, (ptr, len)) in rows.iter().zip(&label_at) {
            if row.phase == phase {
                let call = &row.call;
                let _ = writeln!(
                    wat,
                    "    (call $report (i32.const {ptr}) (i32.const {len}) {call})"
                );
            }
        }
        match ret {
            Some(r) => {
                let _ = writeln!(wat, "    (i32.const {r}))");
            }
            None => {
                let _ = writeln!(wat, "  )");
            }
        }
    }
    wat.push(')');
    wat
}
