//! HTTP and gRPC callouts from a stream context.
//!
//! `on_http_request_headers` dispatches a callout (or opens a gRPC stream) and pauses; the
//! response (delivered to the root context by the host, routed back here by the SDK through
//! `set_effective_context`) either resumes the request, or is copied into a local reply.
//! Request headers select: `x-callout-kind: http|grpc|grpc_stream` (default http),
//! `x-callout-mode: resume|reply` (default resume), `x-callout-cluster: NAME` (default from
//! configuration), `x-callout-bad: 1` (dispatch an HTTP call without `:path`, which must fail
//! with BadArgument). Plugin configuration (JSON): `{"cluster": NAME, "path": PATH,
//! "authority": HOST, "timeout_ms": N, "grpc_service": S, "grpc_method": M}`.

use fixture_support::{info, render, Config};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::rc::Rc;
use std::time::Duration;

mod stream;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { settings: Rc::new(Settings::from(&Config::default())) })
    });
}}

/// Status code `proxy_get_status` reports for a failed (reset, timed out) HTTP callout.
const BROKEN_CONNECTION: u32 = 11;

#[derive(Debug)]
struct Settings {
    cluster: String,
    path: String,
    authority: String,
    timeout: Duration,
    grpc_service: String,
    grpc_method: String,
}

impl From<&Config> for Settings {
    fn from(config: &Config) -> Self {
        Settings {
            cluster: config.str("cluster", "callout"),
            path: config.str("path", "/callout"),
            authority: config.str("authority", "callout.local"),
            timeout: Duration::from_millis(config.u64("timeout_ms", 1000)),
            grpc_service: config.str("grpc_service", "fixture.Echo"),
            grpc_method: config.str("grpc_method", "Call"),
        }
    }
}

struct Root {
    settings: Rc<Settings>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = Config::parse(self.get_plugin_configuration().as_deref());
        self.settings = Rc::new(Settings::from(&config));
        info(&format!("callouts: configured {:?}", self.settings));
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Callout {
            context_id,
            settings: Rc::clone(&self.settings),
            reply: false,
            answered: false,
            headers: Vec::new(),
            stream: stream::Received::default(),
        }))
    }
}

struct Callout {
    context_id: u32,
    settings: Rc<Settings>,
    /// `x-callout-mode: reply`: answer with the callout's response instead of resuming.
    reply: bool,
    /// Whether the callout's response (or failure) has been handled. Envoy turns a headers
    /// Pause into "stop all": no body callback may arrive before that.
    answered: bool,
    /// Response headers to add in `on_http_response_headers` (resume mode).
    headers: Vec<(String, String)>,
    /// What the gRPC stream (`x-callout-kind: grpc_stream`) delivered.
    stream: stream::Received,
}

impl Callout {
    fn dispatch_http(&mut self, cluster: &str) -> Result<u32, String> {
        let bad = self.get_http_request_header("x-callout-bad").is_some();
        let path = self.settings.path.clone();
        let mut headers = vec![
            (":method", "POST"),
            (":authority", self.settings.authority.as_str()),
            ("x-callout-from", "fixture"),
        ];
        if !bad {
            headers.push((":path", path.as_str()));
        }
        self.dispatch_http_call(
            cluster,
            headers,
            Some(b"callout request body"),
            vec![],
            self.settings.timeout,
        )
        .map_err(|status| format!("{status:?}"))
    }

    fn dispatch_grpc(&mut self, cluster: &str) -> Result<u32, String> {
        let message = self
            .get_http_request_header("x-grpc-message")
            .unwrap_or_else(|| "ping".to_string());
        self.dispatch_grpc_call(
            cluster,
            &self.settings.grpc_service,
            &self.settings.grpc_method,
            vec![("x-fixture-md", b"1")],
            Some(message.as_bytes()),
            self.settings.timeout,
        )
        .map_err(|status| format!("{status:?}"))
    }

    fn open_stream(&mut self, cluster: &str) -> Result<u32, String> {
        let messages: Vec<String> = self
            .get_http_request_header("x-grpc-message")
            .unwrap_or_else(|| "one,two".to_string())
            .split(',')
            .map(str::to_string)
            .collect();
        let settings = &self.settings;
        stream::open(
            cluster,
            &settings.grpc_service,
            &settings.grpc_method,
            &messages,
        )
        .map_err(|status| format!("{status:?}"))
    }

    /// Resume mode: remember headers for the response; reply mode: send them in a local reply.
    fn finish(&mut self, status: u32, headers: Vec<(String, String)>, body: Vec<u8>) {
        self.answered = true;
        if self.reply {
            let refs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            self.send_http_response(status, refs, Some(&body));
        } else {
            self.headers = headers;
            self.resume_http_request();
        }
    }
}

impl Context for Callout {
    fn on_http_call_response(&mut self, token: u32, headers: usize, body: usize, trailers: usize) {
        info(&format!(
            "callouts: http response #{} token={token} headers={headers} body={body} trailers={trailers}",
            self.context_id
        ));
        if headers == 0 && body == 0 && trailers == 0 {
            // Reset or timeout: the status says why, and reads must answer "nothing" (NotFound
            // from the host, None here), never a status the SDK would trap on.
            let (code, _) = self.get_grpc_status();
            let status = self.get_http_call_response_header(":status");
            let body = self.get_http_call_response_body(0, usize::MAX);
            info(&format!(
                "callouts: http failed code={code} status={status:?} body={:?}",
                body.as_ref().map(Vec::len)
            ));
            let out = vec![
                ("x-callout-failed".to_string(), code.to_string()),
                (
                    "x-callout-reset-status".to_string(),
                    status.map_or_else(|| "none".to_string(), |s| format!("some:{s}")),
                ),
                (
                    "x-callout-reset-body".to_string(),
                    body.map_or_else(|| "none".to_string(), |b| format!("some:{}", b.len())),
                ),
            ];
            let reply_status = if code == BROKEN_CONNECTION { 503 } else { 500 };
            self.finish(reply_status, out, b"callout failed\n".to_vec());
            return;
        }
        let pairs = self.get_http_call_response_headers();
        let trailer_pairs = self.get_http_call_response_trailers();
        let body = self
            .get_http_call_response_body(0, body)
            .unwrap_or_default();
        let status = self
            .get_http_call_response_header(":status")
            .unwrap_or_default();
        let mut out: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(n, _)| !n.starts_with(':') && n != "content-length")
            .map(|(n, v)| (format!("x-callout-header-{n}"), v))
            .collect();
        for (n, v) in trailer_pairs {
            out.push((format!("x-callout-trailer-{n}"), v));
        }
        out.push(("x-callout-status".to_string(), status.clone()));
        out.push(("x-callout-body".to_string(), render(&body)));
        self.finish(status.parse().unwrap_or(500), out, body);
    }

    fn on_grpc_call_response(&mut self, token: u32, status_code: u32, response_size: usize) {
        let body = self
            .get_grpc_call_response_body(0, response_size)
            .unwrap_or_default();
        let (code, message) = self.get_grpc_status();
        info(&format!(
            "callouts: grpc response #{} token={token} status={status_code} size={response_size} message={message:?}",
            self.context_id
        ));
        let out = vec![
            ("x-grpc-status".to_string(), status_code.to_string()),
            ("x-grpc-status-code".to_string(), code.to_string()),
            (
                "x-grpc-status-message".to_string(),
                message.unwrap_or_default(),
            ),
            ("x-grpc-body".to_string(), render(&body)),
        ];
        let http = if status_code == 0 { 200 } else { 502 };
        self.finish(http, out, body);
    }

    fn on_grpc_stream_initial_metadata(&mut self, _token: u32, elements: u32) {
        info(&format!(
            "callouts: grpc stream #{} initial metadata n={elements}",
            self.context_id
        ));
        self.stream.initial_metadata();
    }

    fn on_grpc_stream_message(&mut self, _token: u32, size: usize) {
        let message = self.stream.message(size);
        info(&format!(
            "callouts: grpc stream #{} message {message}",
            self.context_id
        ));
    }

    fn on_grpc_stream_trailing_metadata(&mut self, _token: u32, elements: u32) {
        info(&format!(
            "callouts: grpc stream #{} trailing metadata n={elements}",
            self.context_id
        ));
        self.stream.trailing_metadata();
    }

    fn on_grpc_stream_close(&mut self, _token: u32, status: u32) {
        let (_, message) = self.get_grpc_status();
        info(&format!(
            "callouts: grpc stream #{} close status={status}",
            self.context_id
        ));
        let received = std::mem::take(&mut self.stream);
        let (headers, body) = received.report(status, message.unwrap_or_default());
        let http = if status == 0 { 200 } else { 502 };
        self.finish(http, headers, body);
    }
}

impl HttpContext for Callout {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.reply = self.get_http_request_header("x-callout-mode").as_deref() == Some("reply");
        let kind = self
            .get_http_request_header("x-callout-kind")
            .unwrap_or_else(|| "http".to_string());
        let cluster = self
            .get_http_request_header("x-callout-cluster")
            .unwrap_or_else(|| self.settings.cluster.clone());
        let dispatched = match kind.as_str() {
            "grpc" => self.dispatch_grpc(&cluster),
            "grpc_stream" => self.open_stream(&cluster),
            _ => self.dispatch_http(&cluster),
        };
        match dispatched {
            Ok(token) => {
                info(&format!(
                    "callouts: dispatched {kind} #{} token={token} cluster={cluster}",
                    self.context_id
                ));
                Action::Pause
            }
            Err(status) => {
                info(&format!("callouts: dispatch failed {status}"));
                self.send_http_response(
                    500,
                    vec![("x-callout-dispatch", status.as_str())],
                    Some(b"dispatch failed\n"),
                );
                Action::Pause
            }
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        info(&format!(
            "callouts: request body #{} size={body_size} end_of_stream={end_of_stream} answered={}",
            self.context_id, self.answered
        ));
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for (name, value) in std::mem::take(&mut self.headers) {
            self.add_http_response_header(&name, &value);
        }
        Action::Continue
    }
}
