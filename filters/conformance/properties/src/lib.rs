//! Properties: reads a list of attribute paths and reports each value in a response header
//! `x-prop-<path>` (segments joined with `.`) and a log line; also `set_property` then read back.
//!
//! Plugin configuration (JSON): `{"properties": [PATH, ...]}` where PATH is a string split on
//! `.` or an array of segments (for segments containing dots, e.g. header names). Values are
//! rendered by `fixture_support::render` (text as is, binary as `hex:..`), absent ones as
//! `<missing>`.

use fixture_support::{info, render, Config};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { paths: Rc::new(Vec::new()) })
    });
}}

/// Read when the configuration lists none: the attributes filters in the wild rely on, with
/// both the current `xds.*` names and the pre-1.33 ones.
const DEFAULT_PATHS: &[&str] = &[
    "request.path",
    "request.method",
    "request.host",
    "request.scheme",
    "request.protocol",
    "request.id",
    "source.address",
    "source.port",
    "destination.address",
    "connection.mtls",
    "connection.uri_san_peer_certificate",
    "plugin_name",
    "plugin_root_id",
    "plugin_vm_id",
    "xds.cluster_name",
    "cluster_name",
    "xds.route_name",
    "route_name",
    "xds.listener_direction",
    "listener_direction",
];

/// Name of the property written with `set_property` and read back.
const SET_NAME: &str = "fixture_set";

struct Root {
    paths: Rc<Vec<Vec<String>>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = Config::parse(self.get_plugin_configuration().as_deref());
        let configured: Vec<Vec<String>> = config
            .value("properties")
            .and_then(|v| v.as_array())
            .map(|items| items.iter().filter_map(parse_path).collect())
            .unwrap_or_default();
        self.paths = Rc::new(if configured.is_empty() {
            DEFAULT_PATHS.iter().map(|p| split(p)).collect()
        } else {
            configured
        });
        for name in ["plugin_root_id", "plugin_name", "plugin_vm_id"] {
            info(&format!(
                "properties: root {name}={}",
                read(self, &[name.to_string()])
            ));
        }
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Report {
            paths: Rc::clone(&self.paths),
            found: Vec::new(),
        }))
    }
}

fn split(path: &str) -> Vec<String> {
    path.split('.').map(str::to_string).collect()
}

fn parse_path(value: &fixture_support::Value) -> Option<Vec<String>> {
    match value {
        fixture_support::Value::String(s) => Some(split(s)),
        fixture_support::Value::Array(parts) => parts
            .iter()
            .map(|p| p.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

/// The rendered value at `path`, or `<missing>`.
fn read(ctx: &dyn Context, path: &[String]) -> String {
    let segments: Vec<&str> = path.iter().map(String::as_str).collect();
    ctx.get_property(segments)
        .map_or_else(|| "<missing>".to_string(), |v| render(&v))
}

struct Report {
    paths: Rc<Vec<Vec<String>>>,
    /// (header name, value) pairs read in the request phase, emitted on the response.
    found: Vec<(String, String)>,
}

impl Context for Report {}

impl HttpContext for Report {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for path in self.paths.iter() {
            let value = read(self, path);
            let name = path.join(".");
            info(&format!("properties: {name}={value}"));
            self.found.push((format!("x-prop-{name}"), value));
        }
        let written = self
            .get_http_request_header("x-set-property")
            .unwrap_or_else(|| "set-value".to_string());
        self.set_property(vec![SET_NAME], Some(written.as_bytes()));
        let back = read(self, &[SET_NAME.to_string()]);
        info(&format!("properties: {SET_NAME}={back}"));
        self.found.push(("x-prop-set-readback".to_string(), back));
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for (name, value) in std::mem::take(&mut self.found) {
            self.add_http_response_header(&name, &value);
        }
        Action::Continue
    }
}
