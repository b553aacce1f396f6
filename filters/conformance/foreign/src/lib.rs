//! Foreign functions: Envoy's zlib `compress`/`uncompress` round trip, the error statuses of
//! bad input and unknown names, and `declare_property` followed by set/get of that property.
//! Everything runs in `on_http_request_headers`; results are reported as response headers.

use fixture_support::{info, result_name};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
}}

/// Payload compressed when the request has no `x-foreign-payload` header.
const DEFAULT_PAYLOAD: &str = "hello hello hello hello hello hello hello hello";
/// The property declared through `declare_property`.
const DECLARED: &str = "fixture_declared";

/// Envoy's `DeclarePropertyArguments` protobuf (foreign.cc): name = 1 (string),
/// readonly = 2 (bool), type = 3 (WasmType, String = 1), span = 5 (LifeSpan,
/// DownstreamRequest = 1). Hand-encoded: the fixture carries no protobuf runtime.
fn declare_property_arguments(name: &str) -> Vec<u8> {
    let mut out = vec![0x0a, name.len() as u8];
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&[0x10, 0x00, 0x18, 0x01, 0x28, 0x01]);
    out
}

/// Envoy's `SetEnvoyFilterStateArguments` protobuf: path = 1, value = 2 (both strings).
fn filter_state_arguments(path: &str, value: &str) -> Vec<u8> {
    let mut out = vec![0x0a, path.len() as u8];
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(&[0x12, value.len() as u8]);
    out.extend_from_slice(value.as_bytes());
    out
}

struct Root;

impl Context for Root {}

impl RootContext for Root {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Foreign {
            headers: Vec::new(),
        }))
    }
}

struct Foreign {
    headers: Vec<(&'static str, String)>,
}

impl Foreign {
    fn round_trip(&mut self, payload: &[u8]) {
        let compressed = self.call_foreign_function("compress", Some(payload));
        let compressed = match compressed {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(status) => {
                self.headers
                    .push(("x-foreign-compress", format!("{status:?}")));
                return;
            }
        };
        self.headers.push(("x-foreign-compress", "Ok".into()));
        self.headers
            .push(("x-foreign-compressed-len", compressed.len().to_string()));
        let restored = self.call_foreign_function("uncompress", Some(&compressed));
        let verdict = match restored {
            Ok(Some(bytes)) if bytes == payload => "ok".to_string(),
            Ok(other) => format!("mismatch:{}", other.map_or(0, |b| b.len())),
            Err(status) => format!("{status:?}"),
        };
        info(&format!(
            "foreign: compressed {} -> {} bytes, round trip {verdict}",
            payload.len(),
            compressed.len()
        ));
        self.headers.push(("x-foreign-roundtrip", verdict));
    }

    fn declare(&mut self) {
        let declared = self.call_foreign_function(
            "declare_property",
            Some(&declare_property_arguments(DECLARED)),
        );
        self.headers
            .push(("x-foreign-declare", result_name(&declared)));
        let garbage = self.call_foreign_function("declare_property", Some(b"\xff\xff\xff"));
        self.headers
            .push(("x-foreign-declare-garbage", result_name(&garbage)));
        if declared.is_ok() {
            self.set_property(vec![DECLARED], Some(b"declared-value"));
            let back = self.get_property(vec![DECLARED]);
            let back = back.map_or_else(
                || "<missing>".to_string(),
                |v| String::from_utf8_lossy(&v).into_owned(),
            );
            self.headers.push(("x-foreign-declared-readback", back));
        }
    }

    /// `set_envoy_filter_state` for a key Envoy has an object factory for, an unknown key
    /// (NotFound) and undecodable arguments (BadArgument).
    fn filter_state(&mut self) {
        let calls = [
            (
                "x-foreign-filter-state",
                filter_state_arguments("envoy.tcp_proxy.cluster", "fixture_cluster"),
            ),
            (
                "x-foreign-filter-state-unknown",
                filter_state_arguments("fixture.unknown_key", "v"),
            ),
            ("x-foreign-filter-state-garbage", b"\xff\xff\xff".to_vec()),
        ];
        for (header, arguments) in calls {
            let result = self.call_foreign_function("set_envoy_filter_state", Some(&arguments));
            self.headers.push((header, result_name(&result)));
        }
    }
}

impl Context for Foreign {}

impl HttpContext for Foreign {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let payload = self
            .get_http_request_header("x-foreign-payload")
            .unwrap_or_else(|| DEFAULT_PAYLOAD.to_string());
        self.round_trip(payload.as_bytes());
        let garbage = self.call_foreign_function("uncompress", Some(b"definitely not zlib"));
        self.headers
            .push(("x-foreign-uncompress-garbage", result_name(&garbage)));
        let unknown = self.call_foreign_function("fixture_no_such_function", None);
        self.headers
            .push(("x-foreign-unknown", result_name(&unknown)));
        self.declare();
        self.filter_state();
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for (name, value) in std::mem::take(&mut self.headers) {
            self.add_http_response_header(name, &value);
        }
        Action::Continue
    }
}
