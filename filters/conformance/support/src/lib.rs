//! Helpers shared by the conformance fixtures.
//!
//! Fixtures make their behaviour observable through log lines with a stable `<fixture>: ` prefix
//! and through headers; keeping the formatting here means every fixture reports the same way,
//! which is what `FIXTURES.md` documents and the host tests assert.

use proxy_wasm::hostcalls;
use proxy_wasm::types::{LogLevel, Status};
use serde_json::Map;

/// A JSON value, re-exported so fixtures read structured knobs without depending on serde_json.
pub use serde_json::Value;

/// Logs `message` at info level. A failing `proxy_log` is ignored: a fixture must never trap
/// because of its own diagnostics (the SDK's `log` crate bridge would unwrap).
pub fn info(message: &str) {
    let _ = hostcalls::log(LogLevel::Info, message);
}

/// The name of a status as the SDK spells it (`Ok`, `NotFound`, `BadArgument`, ...), used in
/// headers and logs so assertions read like the ABI.
pub fn status_name(status: Status) -> String {
    format!("{status:?}")
}

/// The name of a `Result`'s status: `Ok` or the error's name.
pub fn result_name<T>(result: &Result<T, Status>) -> String {
    match result {
        Ok(_) => "Ok".to_string(),
        Err(status) => status_name(*status),
    }
}

/// A fixture's JSON configuration (plugin or VM). Missing, empty or invalid text yields an empty
/// object, so every knob falls back to its documented default.
#[derive(Debug, Clone, Default)]
pub struct Config {
    fields: Map<String, Value>,
}

impl Config {
    /// Parses `bytes` as a JSON object; anything else is treated as "no configuration".
    pub fn parse(bytes: Option<&[u8]>) -> Self {
        let fields = bytes
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .and_then(|v| match v {
                Value::Object(map) => Some(map),
                _ => None,
            })
            .unwrap_or_default();
        Config { fields }
    }

    /// A string knob, or `default` when absent or not a string.
    pub fn str(&self, key: &str, default: &str) -> String {
        self.fields
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_string()
    }

    /// An unsigned integer knob, or `default` when absent or not an unsigned integer.
    pub fn u64(&self, key: &str, default: u64) -> u64 {
        self.fields
            .get(key)
            .and_then(Value::as_u64)
            .unwrap_or(default)
    }

    /// A boolean knob, or `default` when absent or not a boolean.
    pub fn bool(&self, key: &str, default: bool) -> bool {
        self.fields
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }

    /// The raw JSON value of a knob, for structured knobs (lists).
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }
}

/// Renders bytes for a header value or log line: printable ASCII as is, anything else as
/// `hex:<lowercase hex>` so binary values (8-byte integers, protobufs) stay assertable.
pub fn render(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        let mut out = String::from("hex:");
        for b in bytes {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_on_missing_or_invalid_text() {
        let empty = Config::parse(None);
        assert_eq!(empty.str("mode", "x"), "x");
        let invalid = Config::parse(Some(b"not json"));
        assert_eq!(invalid.u64("n", 7), 7);
        let array = Config::parse(Some(b"[1,2]"));
        assert!(!array.bool("b", false));
    }

    #[test]
    fn config_reads_typed_knobs() {
        let c = Config::parse(Some(br#"{"mode":"append","n":3,"b":true}"#));
        assert_eq!(c.str("mode", "none"), "append");
        assert_eq!(c.u64("n", 0), 3);
        assert!(c.bool("b", false));
        assert_eq!(c.str("n", "dflt"), "dflt");
    }

    #[test]
    fn render_keeps_text_and_hexes_binary() {
        assert_eq!(render(b"10.0.0.1:80"), "10.0.0.1:80");
        assert_eq!(render(&[1, 0, 0xff]), "hex:0100ff");
        assert_eq!(render(b""), "");
    }

    #[test]
    fn status_names_match_the_sdk() {
        assert_eq!(status_name(Status::CasMismatch), "CasMismatch");
        assert_eq!(result_name::<()>(&Ok(())), "Ok");
        assert_eq!(result_name::<()>(&Err(Status::NotFound)), "NotFound");
    }
}
