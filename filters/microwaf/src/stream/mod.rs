//! Per-stream logic: endpoint and identity on request headers, attack checks on the request,
//! and body inspection in both directions (`body`), planned and decided by the engine
//! (`plan_request`/`plan_response`, `decide_body`).
//!
//! Alert mode never pauses: each body chunk is scanned as it passes and findings are reported
//! at the end. Redact and block modes hold the body (Pause until end of stream, or until whole
//! gRPC messages are buffered) up to `limits.max_body_bytes`, then follow `limits.fallback`.

use std::rc::Rc;

use microwaf_engine::formats::{ContentInfo, Encoding};
use microwaf_engine::identity::source_identity;
use microwaf_engine::inspect::{
    decide_attacks, decide_body, plan_request, plan_response, scan_request_line, BodyFacts,
    BodyPlan, FallbackReason, Outcome, RequestLine, Verdict,
};
use microwaf_engine::policy::{Action, Endpoint};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action as Next, MapType};

use crate::actions::{block_headers, grpc_status};
use crate::side::{Dir, Side};
use crate::vm::Vm;

mod body;
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

    /// Sets up inspection of a body. A body whose encoding the engine cannot decode is not
    /// scanned: the engine's decision for it is the `encoding` fallback, so a held one may be
    /// blocked right here (`Err(())`: the block response was sent).
    fn start_side(&mut self, vm: &Vm, map: MapType, plan: BodyPlan) -> Result<Option<Side>, ()> {
        let (ct, ce, ge) = self.body_info(map);
        let info = ContentInfo {
            content_type: ct.as_deref(),
            content_encoding: ce.as_deref(),
            grpc_encoding: ge.as_deref(),
        };
        let encoding = ce.as_deref().and_then(|e| Encoding::parse(e).ok());
        match vm.inspector.body(&info, plan.mode) {
            Ok(scan) => Ok(Some(Side::new(scan, plan, encoding))),
            Err(e) => {
                log::warn!("microwaf: body not inspected: {e}");
                let reason = FallbackReason::for_error(&e);
                self.count(vm, "microwaf_fallbacks", &[("reason", reason.as_str())], 1);
                let verdict = Verdict::clean();
                let facts = BodyFacts {
                    verdict: &verdict,
                    dropped: &[],
                    incomplete: Some(reason),
                    held: plan.hold,
                    rewritable: false,
                };
                match decide_body(&facts, vm.inspector.policy().limits().fallback).outcome {
                    Outcome::Block => {
                        self.block(vm);
                        Err(())
                    }
                    _ => Ok(None),
                }
            }
        }
    }

    fn count(&self, vm: &Vm, base: &str, extra: &[(&str, &str)], by: u64) {
        let mut labels = vec![("endpoint", self.labels.endpoint.as_str())];
        labels.extend_from_slice(extra);
        vm.state.borrow_mut().metrics.count(base, &labels, by);
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
        if end_of_stream {
            return Next::Continue;
        }
        let Some(plan) = plan_request(ep) else {
            return Next::Continue;
        };
        if plan.hold && plan.may_resize {
            self.set_http_request_header("content-length", None);
        }
        match self.start_side(&vm, MapType::HttpRequestHeaders, plan) {
            Ok(side) => {
                self.request = side;
                Next::Continue
            }
            Err(()) => Next::Pause,
        }
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
        let rate_limit_acts = self.token.is_some()
            && vm
                .inspector
                .policy()
                .tokens()
                .rate_limits
                .iter()
                .any(|l| l.action >= Action::Redact);
        let Some(plan) = plan_response(ep, ct.as_deref(), rate_limit_acts) else {
            return Next::Continue;
        };
        if plan.hold && plan.may_resize {
            // Redaction may change the length (a masked JSON number gains quotes).
            self.set_http_response_header("content-length", None);
        }
        match self.start_side(&vm, MapType::HttpResponseHeaders, plan) {
            Ok(side) => {
                self.response = side;
                Next::Continue
            }
            Err(()) => Next::Pause,
        }
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
