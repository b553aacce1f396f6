//! Context ids: every context logs its id at creation and in `on_log`/`on_done`, and stream
//! contexts report their id and their root's id in headers. With one root context per VM the
//! first stream must be `#2` (as in Envoy).

use fixture_support::info;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|context_id| -> Box<dyn RootContext> {
        info(&format!("context_ids: root context #{context_id}"));
        Box::new(Root { context_id })
    });
}}

struct Root {
    context_id: u32,
}

impl Context for Root {}

impl RootContext for Root {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        info(&format!(
            "context_ids: http context #{context_id} root #{}",
            self.context_id
        ));
        Some(Box::new(Stream {
            context_id,
            root_id: self.context_id,
        }))
    }
}

struct Stream {
    context_id: u32,
    root_id: u32,
}

impl Context for Stream {
    fn on_done(&mut self) -> bool {
        info(&format!("context_ids: done #{}", self.context_id));
        true
    }
}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        info(&format!(
            "context_ids: request headers #{}",
            self.context_id
        ));
        self.add_http_request_header("x-context-id", &self.context_id.to_string());
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.add_http_response_header("x-context-id", &self.context_id.to_string());
        self.add_http_response_header("x-root-context-id", &self.root_id.to_string());
        Action::Continue
    }

    fn on_log(&mut self) {
        info(&format!("context_ids: log #{}", self.context_id));
    }
}
