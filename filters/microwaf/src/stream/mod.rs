//! Per-stream logic: endpoint and identity on request headers, attack checks on the request,
//! body inspection in both directions, and the verdict (alert, redact, block).
//!
//! Alert mode never pauses: each body chunk is scanned as it passes and findings are reported
//! at the end. Redact and block modes hold the body (Pause until end of stream, or until whole
//! gRPC messages are buffered) up to `limits.max_body_bytes`, then follow `limits.fallback`.

use std::rc::Rc;

use microwaf_engine::formats::{ContentInfo, Encoding};
use microwaf_engine::identity::source_identity;
use microwaf_engine::inspect::{
    decide_attacks, scan_request_line, RequestLine, ScanMode, MAX_MATCHES,
};
use microwaf_engine::policy::{Action, AttackLocation, Endpoint, Fallback};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action as Next, MapType};

use crate::actions::{block_headers, grpc_status, redact_body};
use crate::side::{grpc_frames_complete, Dir, Side};
use crate::vm::Vm;

mod report;

/// Labels of this stream's metrics, already bounded.
#[derive(Default)]
struct Labels {
    endpoint: String,
    source: String,
    destination: String,
    token: String,
}

pub struct Stream {
    vm: Option<Rc<Vm>>,
    /// Index into the policy's endpoints; `None` = the defaults.
    endpoint: Option<usize>,
    labels: Labels,
    token: Option<String>,
    grpc: bool,
    request: Option<Side>,
    response: Option<Side>,
}

impl Stream {
    pub fn new(vm: Option<Rc<Vm>>) -> Self {
        Stream {
            vm,
            endpoint: None,
            labels: Labels::default(),
            token: None,
            grpc: false,
            request: None,
            response: None,
        }
    }

    fn endpoint<'v>(&self, vm: &'v Vm) -> &'v Endpoint {
        let policy = vm.inspector.policy();
        self.endpoint
            .and_then(|i| policy.endpoints().get(i))
            .unwrap_or_else(|| policy.default_endpoint())
    }

    fn side(&mut self, dir: Dir) -> &mut Option<Side> {
        match dir {
            Dir::Request => &mut self.request,
            Dir::Response => &mut self.response,
        }
    }

    /// Replaces the message with the policy's block response (gRPC status for gRPC calls).
    fn block(&self, vm: &Vm) {
        let b = vm.inspector.policy().block_response();
        if self.grpc {
            self.send_grpc_response(grpc_status(b.grpc_status), Some(&b.grpc_message), vec![]);
        } else {
            self.send_http_response(
                u32::from(b.status),
                block_headers(b),
                Some(b.body.as_bytes()),
            );
        }
    }

    fn body_info(&self, map: MapType) -> (Option<String>, Option<String>, Option<String>) {
        let get = |name: &str| hostcalls::get_map_value(map, name).ok().flatten();
        (
            get("content-type"),
            get("content-encoding"),
            get("grpc-encoding"),
        )
    }

    /// Sets up inspection of a body; `None` when it is not inspected or cannot be decoded.
    fn start_side(&mut self, vm: &Vm, map: MapType, mode: ScanMode, hold: bool) -> Option<Side> {
        let (ct, ce, ge) = self.body_info(map);
        let info = ContentInfo {
            content_type: ct.as_deref(),
            content_encoding: ce.as_deref(),
            grpc_encoding: ge.as_deref(),
        };
        let encoding = ce.as_deref().and_then(|e| Encoding::parse(e).ok());
        match vm.inspector.body(&info, mode) {
            Ok(scan) => Some(Side::new(scan, mode, hold, encoding)),
            Err(e) => {
                log::warn!("microwaf: body not inspected: {e}");
                self.count(vm, "microwaf_fallbacks", &[("reason", "encoding")], 1);
                None
            }
        }
    }

    fn count(&self, vm: &Vm, base: &str, extra: &[(&str, &str)], by: u64) {
        let mut labels = vec![("endpoint", self.labels.endpoint.as_str())];
        labels.extend_from_slice(extra);
        vm.state.borrow_mut().metrics.count(base, &labels, by);
    }

    /// Body callback for either direction; see the module docs for the modes.
    fn on_body(&mut self, dir: Dir, size: usize, eos: bool) -> Next {
        let Some(vm) = self.vm.clone() else {
            return Next::Continue;
        };
        let Some(mut side) = self.side(dir).take() else {
            return Next::Continue;
        };
        let next = self.body_step(&vm, dir, &mut side, size, eos);
        *self.side(dir) = Some(side);
        next
    }

    fn body_step(&mut self, vm: &Vm, dir: Dir, side: &mut Side, size: usize, eos: bool) -> Next {
        if side.done {
            return Next::Continue;
        }
        let buffer = dir.buffer();
        if !side.hold {
            if let Ok(Some(chunk)) = hostcalls::get_buffer(buffer, 0, size) {
                side.scan.push(&chunk);
            }
            if eos {
                self.conclude(vm, dir, side);
            }
            return Next::Continue;
        }
        let limit = vm.inspector.policy().limits().max_body_bytes.0;
        let body = if eos || side.is_grpc() {
            hostcalls::get_buffer(buffer, 0, size)
                .ok()
                .flatten()
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let decide_now = eos || (side.is_grpc() && grpc_frames_complete(&body));
        if !decide_now {
            if size as u64 <= limit {
                return Next::Pause;
            }
            self.count(vm, "microwaf_fallbacks", &[("reason", "body_limit")], 1);
            if vm.inspector.policy().limits().fallback == Fallback::FailClosed {
                self.block(vm);
                side.done = true;
                return Next::Pause;
            }
            // Pass with an alert: stop holding, scan what is buffered and stream the rest.
            side.hold = false;
            if let Ok(Some(held)) = hostcalls::get_buffer(buffer, 0, size) {
                side.scan.push(&held);
            }
            return Next::Continue;
        }
        side.scan.push(&body);
        if eos {
            side.scan.finish();
            side.done = true;
        }
        let matches = side.scan.take_matches();
        let dropped = side.scan.take_dropped();
        let verdict = self.verdict(vm, dir, side.mode, &matches, &dropped);
        self.report(vm, dir, &matches, &verdict);
        let fallback = vm.inspector.policy().limits().fallback;
        if verdict.action == Action::Redact && verdict.masks_dropped(&dropped) {
            // More matches than the scan keeps masks for: redacting the kept ones would leak
            // the rest, so this is a body the filter cannot redact.
            log::warn!("microwaf: too many matches to redact ({MAX_MATCHES} kept)");
            self.count(vm, "microwaf_fallbacks", &[("reason", "match_limit")], 1);
            if fallback == Fallback::FailClosed {
                self.block(vm);
                side.done = true;
                return Next::Pause;
            }
        }
        let next = match verdict.action {
            Action::Block => {
                self.block(vm);
                side.done = true;
                Next::Pause
            }
            Action::Redact => {
                // Only categories whose own action redacts are masked; alert-only findings in
                // the same message stay readable.
                let masks = verdict.masks_for(&matches);
                let format = side.scan.format().clone();
                match redact_body(
                    &body,
                    &format,
                    side.encoding,
                    &masks,
                    side.base,
                    vm.inspector.limits(),
                ) {
                    Ok(redacted) => {
                        let _ = hostcalls::set_buffer(buffer, 0, size, &redacted);
                        Next::Continue
                    }
                    Err(e) => {
                        log::warn!("microwaf: {e}");
                        self.count(vm, "microwaf_fallbacks", &[("reason", "redact")], 1);
                        if fallback == Fallback::FailClosed {
                            self.block(vm);
                            side.done = true;
                            Next::Pause
                        } else {
                            Next::Continue
                        }
                    }
                }
            }
            _ => Next::Continue,
        };
        side.base += body.len() as u64;
        next
    }

    /// Streaming mode: report what was found once the body is complete.
    fn conclude(&mut self, vm: &Vm, dir: Dir, side: &mut Side) {
        if side.done {
            return;
        }
        side.scan.finish();
        side.done = true;
        let matches = side.scan.take_matches();
        let dropped = side.scan.take_dropped();
        let verdict = self.verdict(vm, dir, side.mode, &matches, &dropped);
        self.report(vm, dir, &matches, &verdict);
    }
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Next {
        let Some(vm) = self.vm.clone() else {
            return Next::Continue;
        };
        let pairs = self.get_http_request_headers();
        let headers: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let find = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map_or("", |(_, v)| *v)
        };
        let (path, authority, method) = (find(":path"), find(":authority"), find(":method"));
        self.grpc = find("content-type").starts_with("application/grpc");
        let policy = vm.inspector.policy();
        let ep = policy.endpoint_for(authority, path, method);
        self.endpoint = policy.endpoints().iter().position(|e| std::ptr::eq(e, ep));
        let peer = self
            .get_property(vec!["connection", "uri_san_peer_certificate"])
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let source = source_identity(
            &policy.visibility().source_identity,
            peer.as_deref(),
            &headers,
        )
        .unwrap_or_else(|| "unknown".into());
        let token = vm.tokens.extract(&headers);
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        {
            let mut st = vm.state.borrow_mut();
            let label = ep.metric_label(path, policy.visibility().normalize_paths);
            self.labels = Labels {
                endpoint: st.labels.endpoints.label(&label).to_owned(),
                source: st.labels.sources.label(&source).to_owned(),
                destination: st.destinations.label(host).to_owned(),
                token: match &token {
                    Some(t) => st.labels.tokens.label(&t.hash).to_owned(),
                    None => "none".to_owned(),
                },
            };
        }
        self.token = token.map(|t| t.hash);

        let found = scan_request_line(
            &vm.inspector,
            ep,
            &RequestLine {
                path,
                headers: &headers,
            },
        );
        if !found.is_empty() {
            let verdict = decide_attacks(ep, &found);
            self.report(&vm, Dir::Request, &found, &verdict);
            if verdict.action == Action::Block {
                self.block(&vm);
                return Next::Pause;
            }
        }
        let attacks = ep.attacks();
        let body_attacks = attacks.enabled && attacks.inspects(AttackLocation::Body);
        if end_of_stream || !(ep.scan_requests() || body_attacks) {
            return Next::Continue;
        }
        let mode = match (ep.scan_requests(), body_attacks) {
            (true, true) => ScanMode::Both,
            (true, false) => ScanMode::Sensitive,
            _ => ScanMode::Attacks,
        };
        let blocks_attacks = attacks
            .categories()
            .any(|c| attacks.action_for(c) == Action::Block);
        let hold = (body_attacks && blocks_attacks)
            || (ep.scan_requests() && ep.strongest_action() >= Action::Redact);
        if hold && ep.scan_requests() && ep.strongest_action() >= Action::Redact {
            self.set_http_request_header("content-length", None);
        }
        self.request = self.start_side(&vm, MapType::HttpRequestHeaders, mode, hold);
        Next::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Next {
        self.on_body(Dir::Request, body_size, end_of_stream)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Next {
        let Some(vm) = self.vm.clone() else {
            return Next::Continue;
        };
        if end_of_stream {
            return Next::Continue;
        }
        let ep = self.endpoint(&vm);
        let ct = self.get_http_response_header("content-type");
        if ep.inspect(ct.as_deref()).is_none() {
            return Next::Continue;
        }
        let limits_hold = self.token.is_some()
            && vm
                .inspector
                .policy()
                .tokens()
                .rate_limits
                .iter()
                .any(|l| l.action >= Action::Redact);
        let hold = ep.strongest_action() >= Action::Redact || limits_hold;
        if hold {
            // Redaction may change the length (a masked JSON number gains quotes).
            self.set_http_response_header("content-length", None);
        }
        self.response =
            self.start_side(&vm, MapType::HttpResponseHeaders, ScanMode::Sensitive, hold);
        Next::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Next {
        self.on_body(Dir::Response, body_size, end_of_stream)
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Next {
        self.finish_streaming(Dir::Response);
        Next::Continue
    }

    fn on_log(&mut self) {
        self.finish_streaming(Dir::Request);
        self.finish_streaming(Dir::Response);
    }
}

impl Stream {
    /// Reports a streaming-mode body that ended without an end-of-stream body callback
    /// (trailers, resets).
    fn finish_streaming(&mut self, dir: Dir) {
        let Some(vm) = self.vm.clone() else { return };
        if let Some(mut side) = self.side(dir).take() {
            if !side.hold {
                self.conclude(&vm, dir, &mut side);
            }
            *self.side(dir) = Some(side);
        }
    }
}
