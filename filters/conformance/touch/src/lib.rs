//! The smallest filter that touches the maps: reads two request headers and adds one response
//! header. The benches' measure of the host's header-map work on top of `noop`.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
}}

struct Root;

impl Context for Root {}

impl RootContext for Root {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Touch { seen: 0 }))
    }
}

struct Touch {
    /// How many of the two request headers were present (echoed on the response).
    seen: u8,
}

impl Context for Touch {}

impl HttpContext for Touch {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let agent = self.get_http_request_header("user-agent");
        let host = self.get_http_request_header(":authority");
        self.seen = agent.is_some() as u8 + host.is_some() as u8;
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let seen = ["0", "1", "2"][self.seen as usize];
        self.add_http_response_header("x-touch", seen);
        Action::Continue
    }
}
