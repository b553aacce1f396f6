//! Body buffering and rewriting.
//!
//! Each direction pauses every body chunk until end of stream, so the host must accumulate
//! (docs/abi.md: the last callback gets the whole size and `get_buffer_bytes(0, size)` returns the
//! whole body), then rewrites the buffer with one of Envoy's three `set_buffer_bytes` forms.
//! Plugin configuration (JSON): `{"request": OP, "response": OP, "value": TEXT}` where OP is
//! `none` (default), `prepend`, `replace` or `append`, and TEXT defaults to `[fixture]`.

use fixture_support::{info, Config};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { config: Settings::default() })
    });
}}

#[derive(Debug, Clone, Default)]
struct Settings {
    request: String,
    response: String,
    value: String,
}

struct Root {
    config: Settings,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = Config::parse(self.get_plugin_configuration().as_deref());
        self.config = Settings {
            request: config.str("request", "none"),
            response: config.str("response", "none"),
            value: config.str("value", "[fixture]"),
        };
        info(&format!(
            "body: configured request={} response={} value={}",
            self.config.request, self.config.response, self.config.value
        ));
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Body {
            context_id,
            config: self.config.clone(),
        }))
    }
}

struct Body {
    context_id: u32,
    config: Settings,
}

/// The (start, size) of Envoy's `set_buffer_bytes` form for `op` on a buffer of `len` bytes.
fn range(op: &str, len: usize) -> Option<(usize, usize)> {
    match op {
        "prepend" => Some((0, 0)),
        "replace" => Some((0, len)),
        "append" => Some((len, 0)),
        _ => None,
    }
}

impl Body {
    /// Logs the chunk, pauses until end of stream, then rewrites the accumulated body.
    fn on_body(&self, direction: &str, body_size: usize, end_of_stream: bool) -> Action {
        info(&format!(
            "body: {direction} #{} size={body_size} end_of_stream={end_of_stream}",
            self.context_id
        ));
        if !end_of_stream {
            return Action::Pause;
        }
        let (body, op) = if direction == "request" {
            (
                self.get_http_request_body(0, body_size),
                &self.config.request,
            )
        } else {
            (
                self.get_http_response_body(0, body_size),
                &self.config.response,
            )
        };
        let body = body.unwrap_or_default();
        info(&format!(
            "body: {direction} #{} complete read={} text={}",
            self.context_id,
            body.len(),
            String::from_utf8_lossy(&body)
        ));
        if let Some((start, size)) = range(op, body.len()) {
            let value = self.config.value.as_bytes();
            if direction == "request" {
                self.set_http_request_body(start, size, value);
            } else {
                self.set_http_response_body(start, size, value);
            }
            info(&format!(
                "body: {direction} #{} {op} applied",
                self.context_id
            ));
        }
        Action::Continue
    }
}

impl Context for Body {}

impl HttpContext for Body {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if self.config.request != "none" {
            self.set_http_request_header("content-length", None);
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.on_body("request", body_size, end_of_stream)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if self.config.response != "none" {
            self.set_http_response_header("content-length", None);
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.on_body("response", body_size, end_of_stream)
    }
}
