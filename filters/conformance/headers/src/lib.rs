//! Header and trailer iteration and mutation on the four HTTP maps.
//!
//! Every mutation kind the SDK offers (add, replace, remove, whole-map set, by-bytes reads) is
//! applied to request headers, request trailers, response headers and response trailers, and
//! what the filter saw is reported back in headers, so a host test asserts both directions:
//! what the guest read and what the upstream/client received.

use fixture_support::info;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
}}

struct Root;

impl Context for Root {}

impl RootContext for Root {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Headers {
            context_id,
            echo: None,
        }))
    }
}

struct Headers {
    context_id: u32,
    /// The request's `x-echo` value, returned on the response as `x-fixture-echo`.
    echo: Option<String>,
}

impl Context for Headers {}

impl HttpContext for Headers {
    fn on_http_request_headers(&mut self, num_headers: usize, end_of_stream: bool) -> Action {
        let pairs = self.get_http_request_headers();
        info(&format!(
            "headers: request #{} num_headers={} pairs={} end_of_stream={}",
            self.context_id,
            num_headers,
            pairs.len(),
            end_of_stream
        ));
        for (name, value) in &pairs {
            info(&format!("headers: request {name}={value}"));
        }
        self.echo = self.get_http_request_header("x-echo");
        let path = self.get_http_request_header(":path").unwrap_or_default();
        let missing = self.get_http_request_header("x-fixture-missing").is_none();
        let bytes_len = self
            .get_http_request_header_bytes("x-bytes")
            .map_or(0, |v| v.len());

        // Whole-map set: drop every `x-drop-*` header, keep the rest in order.
        let kept: Vec<(&str, &str)> = pairs
            .iter()
            .filter(|(n, _)| !n.starts_with("x-drop-"))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        self.set_http_request_headers(kept);

        self.add_http_request_header("x-fixture-added", "1");
        self.add_http_request_header("x-fixture-multi", "a");
        self.add_http_request_header("x-fixture-multi", "b");
        self.set_http_request_header("x-replace", Some("replaced"));
        self.set_http_request_header("x-remove", None);
        self.remove_http_request_header("x-fixture-never-present");
        self.add_http_request_header("x-fixture-num-headers", &num_headers.to_string());
        self.add_http_request_header("x-fixture-pairs", &pairs.len().to_string());
        self.add_http_request_header("x-fixture-path", &path);
        self.add_http_request_header("x-fixture-missing", if missing { "none" } else { "found" });
        self.add_http_request_header("x-fixture-bytes-len", &bytes_len.to_string());
        Action::Continue
    }

    fn on_http_request_trailers(&mut self, num_trailers: usize) -> Action {
        let trailers = self.get_http_request_trailers();
        info(&format!(
            "headers: request trailers #{} num_trailers={} pairs={}",
            self.context_id,
            num_trailers,
            trailers.len()
        ));
        for (name, value) in &trailers {
            info(&format!("headers: request trailer {name}={value}"));
        }
        self.add_http_request_trailer("x-fixture-trailer", "added");
        self.set_http_request_trailer("x-replace", Some("replaced"));
        self.remove_http_request_trailer("x-remove");
        Action::Continue
    }

    fn on_http_response_headers(&mut self, num_headers: usize, end_of_stream: bool) -> Action {
        let pairs = self.get_http_response_headers();
        info(&format!(
            "headers: response #{} num_headers={} pairs={} end_of_stream={}",
            self.context_id,
            num_headers,
            pairs.len(),
            end_of_stream
        ));
        let status = self.get_http_response_header(":status").unwrap_or_default();
        self.set_http_response_header("x-replace", Some("replaced"));
        self.set_http_response_header("x-remove", None);
        self.add_http_response_header("x-fixture-response", "1");
        self.add_http_response_header("x-fixture-num-headers", &num_headers.to_string());
        self.add_http_response_header("x-fixture-status", &status);
        if let Some(echo) = self.echo.take() {
            self.add_http_response_header("x-fixture-echo", &echo);
        }
        Action::Continue
    }

    fn on_http_response_trailers(&mut self, num_trailers: usize) -> Action {
        let trailers = self.get_http_response_trailers();
        info(&format!(
            "headers: response trailers #{} num_trailers={} pairs={}",
            self.context_id,
            num_trailers,
            trailers.len()
        ));
        self.add_http_response_trailer("x-fixture-trailer", "added");
        self.set_http_response_trailer("x-replace", Some("replaced"));
        self.remove_http_response_trailer("x-remove");
        Action::Continue
    }
}
