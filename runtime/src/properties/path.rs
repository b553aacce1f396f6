//! Property paths: splitting, the name table, aliases, and walking into values.

use microwaf_abi::{HostResult, Status};

use super::Value;

/// Every canonical attribute a [`super::PropertySource`] may be asked for, with its value type
/// (Envoy's attribute documentation). Embedders serve what they know and answer `None` for the
/// rest.
pub const ATTRIBUTES: &[(&str, &str)] = &[
    ("request.path", "string"),
    ("request.url_path", "string"),
    ("request.host", "string"),
    ("request.scheme", "string"),
    ("request.method", "string"),
    ("request.headers", "map"),
    ("request.referer", "string"),
    ("request.useragent", "string"),
    ("request.time", "timestamp"),
    ("request.id", "string"),
    ("request.protocol", "string"),
    ("request.query", "string"),
    ("request.duration", "duration"),
    ("request.size", "int"),
    ("request.total_size", "int"),
    ("response.code", "int"),
    ("response.code_details", "string"),
    ("response.flags", "int"),
    ("response.grpc_status", "int"),
    ("response.headers", "map"),
    ("response.trailers", "map"),
    ("response.size", "int"),
    ("response.total_size", "int"),
    ("response.backend_latency", "duration"),
    ("source.address", "string"),
    ("source.port", "int"),
    ("source.principal", "string"),
    ("destination.address", "string"),
    ("destination.port", "int"),
    ("connection.id", "uint"),
    ("connection.mtls", "bool"),
    ("connection.requested_server_name", "string"),
    ("connection.tls_version", "string"),
    ("connection.subject_local_certificate", "string"),
    ("connection.subject_peer_certificate", "string"),
    ("connection.dns_san_local_certificate", "string"),
    ("connection.dns_san_peer_certificate", "string"),
    ("connection.uri_san_local_certificate", "string"),
    ("connection.uri_san_peer_certificate", "string"),
    ("connection.sha256_peer_certificate_digest", "string"),
    ("connection.transport_failure_reason", "string"),
    ("connection.termination_details", "string"),
    ("upstream.address", "string"),
    ("upstream.port", "int"),
    ("upstream.tls_version", "string"),
    ("upstream.subject_local_certificate", "string"),
    ("upstream.subject_peer_certificate", "string"),
    ("upstream.dns_san_local_certificate", "string"),
    ("upstream.dns_san_peer_certificate", "string"),
    ("upstream.uri_san_local_certificate", "string"),
    ("upstream.uri_san_peer_certificate", "string"),
    ("upstream.sha256_peer_certificate_digest", "string"),
    ("upstream.local_address", "string"),
    ("upstream.transport_failure_reason", "string"),
    ("upstream.request_attempt_count", "uint"),
    ("metadata", "map"),
    ("plugin_name", "string"),
    ("plugin_root_id", "string"),
    ("plugin_vm_id", "string"),
    ("xds.node", "map"),
    ("xds.cluster_name", "string"),
    ("xds.cluster_metadata", "map"),
    ("xds.listener_direction", "int"),
    ("xds.listener_metadata", "map"),
    ("xds.route_name", "string"),
    ("xds.route_metadata", "map"),
    ("xds.virtual_host_name", "string"),
    ("xds.virtual_host_metadata", "map"),
    ("xds.upstream_host_metadata", "map"),
    ("xds.filter_chain_name", "string"),
];

/// Top-level names Envoy served before 1.33 and still serves: each is `xds.<name>`.
pub const LEGACY_NAMES: &[&str] = &[
    "node",
    "cluster_name",
    "cluster_metadata",
    "listener_direction",
    "listener_metadata",
    "route_name",
    "route_metadata",
    "upstream_host_metadata",
];

/// First segments whose second segment names the attribute.
const NAMESPACES: &[&str] = &[
    "request",
    "response",
    "connection",
    "upstream",
    "source",
    "destination",
    "xds",
];

/// Attributes whose next segment is a header name.
const HEADER_MAPS: &[&str] = &["request.headers", "response.headers", "response.trailers"];

/// Top-level attributes that are not namespaces.
const TOP_LEVEL: &[&str] = &["plugin_name", "plugin_root_id", "plugin_vm_id", "metadata"];

/// Splits a path on `\0`. One trailing `\0` (some SDKs terminate every segment) is ignored; an
/// empty path names nothing → `NotFound`.
pub fn segments(path: &[u8]) -> HostResult<Vec<&[u8]>> {
    let path = path.strip_suffix(b"\0").unwrap_or(path);
    if path.is_empty() {
        return Err(Status::NotFound);
    }
    Ok(path.split(|b| *b == 0).collect())
}

/// Where a path's value comes from.
pub(super) enum Target {
    /// A canonical attribute; segments from the index on walk into its value.
    Attribute(String, usize),
    /// One header of a header-map attribute.
    Header(&'static str, String, usize),
    /// `filter_state.<key>`: the key is segment 1.
    FilterState(usize),
    /// Not a known name: filter state written by `set_property`.
    WasmState,
}

fn text(seg: &[u8]) -> HostResult<&str> {
    std::str::from_utf8(seg).map_err(|_| Status::NotFound)
}

pub(super) fn resolve(segs: &[&[u8]]) -> HostResult<Target> {
    let Ok(first) = std::str::from_utf8(segs[0]) else {
        return Ok(Target::WasmState);
    };
    if NAMESPACES.contains(&first) {
        let second = text(segs.get(1).ok_or(Status::NotFound)?)?;
        let name = format!("{first}.{second}");
        if let (Some(map), Some(header)) = (HEADER_MAPS.iter().find(|m| **m == name), segs.get(2)) {
            return Ok(Target::Header(map, text(header)?.to_ascii_lowercase(), 3));
        }
        return Ok(Target::Attribute(name, 2));
    }
    if LEGACY_NAMES.contains(&first) {
        return Ok(Target::Attribute(format!("xds.{first}"), 1));
    }
    if TOP_LEVEL.contains(&first) {
        return Ok(Target::Attribute(first.to_string(), 1));
    }
    if first == "filter_state" {
        segs.get(1).ok_or(Status::NotFound)?;
        return Ok(Target::FilterState(2));
    }
    Ok(Target::WasmState)
}

/// Follows the remaining segments into maps (by key) and lists (by decimal index).
pub(super) fn walk(mut value: Value, rest: &[&[u8]]) -> HostResult<Value> {
    for seg in rest {
        value = match value {
            Value::Map(entries) => entries
                .into_iter()
                .find(|(k, _)| k.as_bytes() == *seg)
                .map(|(_, v)| v)
                .ok_or(Status::NotFound)?,
            Value::List(items) => {
                let idx: usize = text(seg)?.parse().map_err(|_| Status::NotFound)?;
                items.into_iter().nth(idx).ok_or(Status::NotFound)?
            }
            _ => return Err(Status::NotFound),
        };
    }
    Ok(value)
}
