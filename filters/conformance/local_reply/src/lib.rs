//! Local replies: `send_http_response` from a request callback, and the same stream context
//! seeing its own local reply in `on_http_response_headers` (Envoy's behaviour).
//!
//! Driven by request headers so one plugin instance covers every case:
//! `x-local-reply: <status>` triggers the reply, `x-local-reply-phase: headers|body` picks the
//! callback (default `headers`). `x-reset-stream` (any value) instead resets the stream with
//! `proxy_close_stream(HttpRequest)`. `x-local-grpc: <code>` (7, 14, 16; others → 2) answers
//! with `send_grpc_response` (the SDK's gRPC abort: HTTP 200, gRPC status `<code>`, message
//! `denied: 100% sure`, metadata `x-local-reply: 1`).

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
        Some(Box::new(LocalReply {
            context_id,
            status: None,
            in_body: false,
            sent: false,
        }))
    }
}

struct LocalReply {
    context_id: u32,
    /// The status requested by `x-local-reply`, if any.
    status: Option<u32>,
    /// Reply from `on_http_request_body` (at end of stream) instead of the headers callback.
    in_body: bool,
    sent: bool,
}

impl LocalReply {
    fn reply(&mut self, status: u32, phase: &str) -> Action {
        info(&format!(
            "local_reply: sending {status} from {phase} #{}",
            self.context_id
        ));
        self.send_http_response(
            status,
            vec![("x-local-reply", "1"), ("x-local-phase", phase)],
            Some(format!("local reply {status}\n").as_bytes()),
        );
        self.sent = true;
        Action::Pause
    }
}

impl Context for LocalReply {}

impl HttpContext for LocalReply {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if self.get_http_request_header("x-reset-stream").is_some() {
            info(&format!("local_reply: resetting #{}", self.context_id));
            self.reset_http_request();
            return Action::Pause;
        }
        if let Some(code) = self
            .get_http_request_header("x-local-grpc")
            .and_then(|v| v.parse::<i32>().ok())
        {
            info(&format!(
                "local_reply: grpc status {code} #{}",
                self.context_id
            ));
            use proxy_wasm::types::GrpcStatusCode as G;
            let status = match code {
                7 => G::PermissionDenied,
                14 => G::Unavailable,
                16 => G::Unauthenticated,
                _ => G::Unknown,
            };
            self.send_grpc_response(
                status,
                Some("denied: 100% sure"),
                vec![("x-local-reply", b"1")],
            );
            self.sent = true;
            return Action::Pause;
        }
        self.status = self
            .get_http_request_header("x-local-reply")
            .and_then(|v| v.parse().ok());
        self.in_body = self
            .get_http_request_header("x-local-reply-phase")
            .as_deref()
            == Some("body");
        match self.status {
            // A body-phase reply for a request without a body falls back to the headers phase.
            Some(status) if !self.in_body || end_of_stream => self.reply(status, "request_headers"),
            _ => Action::Continue,
        }
    }

    fn on_http_request_body(&mut self, _body_size: usize, end_of_stream: bool) -> Action {
        match self.status {
            Some(status) if self.in_body && !self.sent => {
                if end_of_stream {
                    self.reply(status, "request_body")
                } else {
                    Action::Pause
                }
            }
            _ => Action::Continue,
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let status = self.get_http_response_header(":status").unwrap_or_default();
        let content_type = self.get_http_response_header("content-type");
        let content_length = self.get_http_response_header("content-length");
        info(&format!(
            "local_reply: response headers #{} status={status} local={}",
            self.context_id, self.sent
        ));
        self.add_http_response_header("x-seen-status", &status);
        self.add_http_response_header("x-seen-local", if self.sent { "true" } else { "false" });
        self.add_http_response_header(
            "x-seen-content-type",
            content_type.as_deref().unwrap_or("<missing>"),
        );
        self.add_http_response_header(
            "x-seen-content-length",
            content_length.as_deref().unwrap_or("<missing>"),
        );
        Action::Continue
    }
}
