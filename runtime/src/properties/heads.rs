//! `request.*` and `response.*` attributes answered from the heads the stream already holds
//! (the embedder's own heads handed over for the headers callbacks), on demand: the embedder
//! copies nothing into its property source per stream.

use http::HeaderMap;

use super::{PropertySource, Value};
use crate::head::{RequestHead, ResponseHead};

/// The heads of one stream as far as it got; both `None` for streams driven with ABI pairs
/// (their embedder answers these attributes itself).
pub(crate) struct HeadProperties<'a> {
    pub request: Option<&'a RequestHead>,
    pub response: Option<&'a ResponseHead>,
}

fn s(v: &str) -> Option<Value> {
    Some(Value::Str(v.to_owned()))
}

fn map(h: &HeaderMap) -> Option<Value> {
    Some(Value::Map(
        h.iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    Value::Str(String::from_utf8_lossy(v.as_bytes()).into_owned()),
                )
            })
            .collect(),
    ))
}

impl PropertySource for HeadProperties<'_> {
    fn attribute(&self, name: &str) -> Option<Value> {
        match name {
            "request.path" => s(&self.request?.path),
            "request.url_path" => {
                let p = &self.request?.path;
                s(p.split('?').next().unwrap_or(p))
            }
            "request.query" => s(self.request?.path.split_once('?').map_or("", |(_, q)| q)),
            "request.host" => s(&self.request?.authority),
            "request.method" => s(self.request?.method.as_str()),
            "request.scheme" => s(&self.request?.scheme),
            "request.headers" => map(&self.request?.headers),
            "response.code" => Some(Value::Int(self.response?.status.as_u16() as i64)),
            "response.headers" => map(&self.response?.headers),
            _ => None,
        }
    }

    /// One header straight from the map (repeated headers joined by `,`).
    fn header(&self, map: &str, name: &str) -> Option<Value> {
        let headers = match map {
            "request.headers" => &self.request?.headers,
            "response.headers" => &self.response?.headers,
            _ => return None,
        };
        let mut values = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()));
        let first = values.next()?.into_owned();
        Some(Value::Str(values.fold(first, |acc, v| acc + "," + &v)))
    }
}
