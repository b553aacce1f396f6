//! `envoy.filters.network.http_connection_manager` → [`HttpConnMgr`]: codec, routes, the
//! HTTP filter chain (wasm filters then the router), limits and the access log.

use super::typed::typed;
use super::value::{At, Fields, Obj};
use crate::config::error::FieldResult;
use crate::config::files::{ClusterRefs, Resolver};
use crate::config::model::*;

const HTTP_WASM: &str = "envoy.extensions.filters.http.wasm.v3.Wasm";
const ROUTER: &str = "envoy.extensions.filters.http.router.v3.Router";
const FILE_LOG: &str = "envoy.extensions.access_loggers.file.v3.FileAccessLog";
const STDOUT_LOG: &str = "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";
const STDERR_LOG: &str = "envoy.extensions.access_loggers.stream.v3.StderrAccessLog";

pub fn hcm(o: &Obj, files: &Resolver, refs: &mut ClusterRefs) -> FieldResult<HttpConnMgr> {
    o.fields(&Fields {
        known: &[
            "stat_prefix",
            "codec_type",
            "route_config",
            "http_filters",
            "access_log",
            "common_http_protocol_options",
            "max_request_headers_kb",
            "request_headers_timeout",
            "http2_protocol_options",
            "use_remote_address",
            "skip_xff_append",
            "xff_num_trusted_hops",
        ],
        cosmetic: &[
            "generate_request_id",
            "server_name",
            "server_header_transformation",
            "preserve_external_request_id",
            "always_set_request_id_in_response",
            "http_protocol_options",
            "via",
            "internal_address_config",
            "add_user_agent",
            "delayed_close_timeout",
            "drain_timeout",
            "stream_error_on_invalid_http_message",
            "local_reply_config",
        ],
        ignored: &[
            "tracing",
            "stream_idle_timeout",
            "request_timeout",
            "upgrade_configs",
        ],
        effect: "changes request handling",
    })?;
    let codec = match o.get("codec_type") {
        Some(c) => c.one_of(&[
            ("AUTO", Codec::Auto),
            ("HTTP1", Codec::Http1),
            ("HTTP2", Codec::Http2),
        ])?,
        None => Codec::Auto,
    };
    let route_config = o
        .get("route_config")
        .ok_or_else(|| o.unsupported("route_config", "required (rds is not supported)"))?;
    let virtual_hosts = super::route::route_config(&route_config, files, refs)?;
    forwarding(o)?;
    let mut limits = Limits::default();
    if let Some(kb) = o.get("max_request_headers_kb") {
        limits.max_request_headers_kb = kb.u32_wrapper()?;
    }
    if let Some(t) = o.get("request_headers_timeout") {
        limits.request_headers_timeout = Some(t.duration()?).filter(|t| !t.is_zero());
    }
    if let Some(common) = o.get("common_http_protocol_options") {
        let common = common.obj()?;
        common.fields(&Fields {
            known: &["idle_timeout", "max_headers_count"],
            cosmetic: &[],
            ignored: &[],
            effect: "changes request handling",
        })?;
        if let Some(t) = common.get("idle_timeout") {
            limits.idle_timeout = Some(t.duration()?).filter(|t| !t.is_zero());
        }
        if let Some(n) = common.get("max_headers_count") {
            limits.max_headers_count = n.u32_wrapper()?;
        }
    }
    if let Some(h2) = o.get("http2_protocol_options") {
        http2_options(&h2.obj()?, &mut limits)?;
    }
    Ok(HttpConnMgr {
        codec,
        stat_prefix: o.string("stat_prefix")?,
        virtual_hosts,
        http_filters: match o.get("http_filters") {
            Some(list) => http_filters(&list, files)?,
            None => Vec::new(),
        },
        limits,
        access_log: o
            .get("access_log")
            .map(|a| access_log(&a, files))
            .transpose()?
            .flatten(),
    })
}

/// The client address handling: we always append the connection's peer to
/// `x-forwarded-for` and trust nothing a client sent, which is Envoy's
/// `use_remote_address: true`, `skip_xff_append: false`, `xff_num_trusted_hops: 0`. Other
/// values would change who the proxy believes the client is, so they are refused.
fn forwarding(o: &Obj) -> FieldResult<()> {
    let security = |k: &str, why: &str| o.unsupported(k, &format!("affects security: {why}"));
    if let Some(v) = o.get("use_remote_address") {
        if !v.bool_wrapper()? {
            return Err(security(
                "use_remote_address",
                "the peer address is always used and appended to x-forwarded-for",
            ));
        }
    }
    if let Some(v) = o.get("skip_xff_append") {
        if v.bool()? {
            return Err(security(
                "skip_xff_append",
                "the peer address is always appended to x-forwarded-for",
            ));
        }
    }
    if let Some(v) = o.get("xff_num_trusted_hops") {
        if v.u32_wrapper()? != 0 {
            return Err(security(
                "xff_num_trusted_hops",
                "x-forwarded-for entries are never trusted",
            ));
        }
    }
    Ok(())
}

/// `http2_protocol_options`: the settings hyper's HTTP/2 server has; the flood and codec
/// knobs (`max_outbound_frames`, `allow_connect`, `custom_settings_parameters`…) would change
/// protocol handling we cannot honour, so they are errors.
fn http2_options(h2: &Obj, limits: &mut Limits) -> FieldResult<()> {
    h2.fields(&Fields {
        known: &[
            "max_concurrent_streams",
            "initial_stream_window_size",
            "initial_connection_window_size",
            "connection_keepalive",
        ],
        cosmetic: &[],
        ignored: &[],
        effect: "changes request handling",
    })?;
    if let Some(n) = h2.get("max_concurrent_streams") {
        limits.max_concurrent_streams = n.u32_wrapper()?;
    }
    if let Some(n) = h2.get("initial_stream_window_size") {
        limits.http2.initial_stream_window_size = Some(n.u32_wrapper()?);
    }
    if let Some(n) = h2.get("initial_connection_window_size") {
        limits.http2.initial_connection_window_size = Some(n.u32_wrapper()?);
    }
    if let Some(ka) = h2.get("connection_keepalive") {
        let ka = ka.obj()?;
        ka.fields(&Fields {
            known: &["interval", "timeout"],
            cosmetic: &[],
            ignored: &[],
            effect: "changes request handling",
        })?;
        if let Some(t) = ka.get("interval") {
            limits.http2.keepalive_interval = Some(t.duration()?);
        }
        if let Some(t) = ka.get("timeout") {
            limits.http2.keepalive_timeout = Some(t.duration()?);
        }
    }
    Ok(())
}

/// Wasm filters in order, then the router, which must be last (as in Envoy).
fn http_filters(at: &At, files: &Resolver) -> FieldResult<Vec<WasmPlugin>> {
    let list = at.list()?;
    let mut plugins = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let fo = f.obj()?;
        fo.fields(&Fields {
            known: &["name", "typed_config", "is_optional", "disabled"],
            cosmetic: &[],
            ignored: &[],
            effect: "changes request handling",
        })?;
        let name = fo.req("name")?.str()?;
        let optional = fo
            .get("is_optional")
            .map(|b| b.bool())
            .transpose()?
            .unwrap_or(false);
        let disabled = fo
            .get("disabled")
            .map(|b| b.bool())
            .transpose()?
            .unwrap_or(false);
        let ty = match fo.get("typed_config") {
            Some(tc) => Some(typed(&tc)?),
            // Envoy resolves the router by name alone.
            None if name == "envoy.filters.http.router" => None,
            None => return Err(fo.unsupported("typed_config", "required")),
        };
        match ty {
            None => {}
            Some((t, _)) if t == ROUTER => {}
            Some((t, cfg)) if t == HTTP_WASM => {
                if disabled {
                    return Err(
                        fo.unsupported("disabled", "per-route filter enabling is not supported")
                    );
                }
                plugins.push(super::wasm::filter(&cfg, files)?);
                continue;
            }
            Some((t, _)) if optional => {
                tracing::warn!(
                    "{}: optional http filter {name:?} ({t}) skipped (not implemented)",
                    f.path()
                );
                continue;
            }
            Some((t, _)) => {
                return Err(f.err(format!(
                    "http filter {name:?} ({t}) not supported; set \"is_optional: true\" on it \
                     to run without it, as Envoy does for an optional filter it lacks"
                )))
            }
        }
        // The router.
        if i + 1 != list.len() {
            return Err(f.err("the router must be the last http filter"));
        }
        return Ok(plugins);
    }
    Err(at.err("the last http filter must be envoy.filters.http.router"))
}

/// The first file/stdout/stderr access logger; the format is always our JSON line, and
/// other logger kinds are skipped with a warning.
pub(super) fn access_log(at: &At, files: &Resolver) -> FieldResult<Option<AccessLog>> {
    for log in at.list()? {
        let lo = log.obj()?;
        let Some(tc) = lo.get("typed_config") else {
            tracing::warn!("{}: access logger without typed_config skipped", log.path());
            continue;
        };
        let (ty, cfg) = typed(&tc)?;
        let sink = match ty.as_str() {
            FILE_LOG => match cfg.req("path")?.str()? {
                "/dev/stdout" => AccessLog::Stdout,
                "/dev/stderr" => AccessLog::Stderr,
                path => AccessLog::File(files.base().join(path)),
            },
            STDOUT_LOG => AccessLog::Stdout,
            STDERR_LOG => AccessLog::Stderr,
            other => {
                tracing::warn!(
                    "{}: access logger {other:?} not implemented, skipped",
                    log.path()
                );
                continue;
            }
        };
        return Ok(Some(sink));
    }
    Ok(None)
}
