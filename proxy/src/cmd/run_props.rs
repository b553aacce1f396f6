//! Request attributes for `microwaf run`: what a filter reading `request.path`,
//! `request.headers.<name>` or `response.code` would get from Envoy for the replayed exchange.
//! There is no connection, so connection and address attributes stay absent (NotFound).

use std::sync::Mutex;

use microwaf_runtime::{Headers, PropertySource, Value};

/// The exchange as it reaches the next filter; `run` updates it before each phase so a filter
/// sees what the filters before it left.
#[derive(Default)]
pub(super) struct ReplayProps {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    request: Headers,
    request_size: usize,
    response: Option<Headers>,
}

impl ReplayProps {
    pub fn set_request(&self, headers: &Headers, body_len: usize) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.request = headers.clone();
        s.request_size = body_len;
    }

    pub fn set_response(&self, headers: &Headers) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.response = Some(headers.clone());
    }
}

fn header(h: &Headers, name: &str) -> Option<String> {
    h.iter()
        .find(|(k, _)| k.as_ref() == name.as_bytes())
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

fn str_value(v: Option<String>) -> Option<Value> {
    v.map(Value::Str)
}

/// Regular (non-pseudo) headers as a map, Envoy's `request.headers` / `response.headers`.
fn header_map(h: &Headers) -> Value {
    Value::Map(
        h.iter()
            .filter(|(k, _)| !k.starts_with(b":"))
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    Value::Str(String::from_utf8_lossy(v).into_owned()),
                )
            })
            .collect(),
    )
}

impl PropertySource for ReplayProps {
    fn attribute(&self, name: &str) -> Option<Value> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let req = &s.request;
        let path = || header(req, ":path");
        match name {
            "request.path" => str_value(path()),
            "request.url_path" => {
                str_value(path().map(|p| p.split('?').next().unwrap_or("").into()))
            }
            "request.query" => {
                str_value(path().map(|p| p.split_once('?').map_or("", |(_, q)| q).into()))
            }
            "request.host" => str_value(header(req, ":authority")),
            "request.method" => str_value(header(req, ":method")),
            "request.scheme" => str_value(header(req, ":scheme").or_else(|| Some("http".into()))),
            "request.protocol" => str_value(Some("HTTP/1.1".into())),
            "request.headers" => Some(header_map(req)),
            "request.useragent" => str_value(header(req, "user-agent")),
            "request.referer" => str_value(header(req, "referer")),
            "request.id" => str_value(header(req, "x-request-id")),
            "request.size" => Some(Value::Int(s.request_size as i64)),
            "response.code" => {
                let code = header(s.response.as_ref()?, ":status")?;
                Some(Value::Int(code.parse().ok()?))
            }
            "response.headers" => Some(header_map(s.response.as_ref()?)),
            _ => None,
        }
    }
}
