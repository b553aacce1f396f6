//! The native YAML format: concise, one listener's routes inline, filters as a list of wasm
//! files with their configuration as YAML. Schema in [`schema`], documented in
//! `docs/config.md`; this module turns it into the IR and checks what serde cannot.

mod cluster;
mod route;
mod schema;
mod waypoint;

use std::time::Duration;

use super::error::{FieldError, FieldResult};
use super::files::{self, ClusterRefs, Resolver, Unique};
use super::model::*;

/// Parses a native configuration. Errors carry the field path (`listeners[0].routes[1]…`).
pub fn parse(text: &str, files: &Resolver) -> FieldResult<Config> {
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let file: schema::File = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let reason = strip_yaml_path(&path, e.into_inner().to_string());
        FieldError::new(path, reason)
    })?;
    let mut refs = ClusterRefs::default();
    let mut names = Unique::default();
    let mut listeners = Vec::new();
    for (i, l) in file.listeners.into_iter().enumerate() {
        let at = format!("listeners[{i}]");
        let listener = listener(l, i, &at, files, &mut refs)?;
        names.insert("listener", &listener.name, &at)?;
        listeners.push(listener);
    }
    let mut cluster_names = Unique::default();
    let mut clusters = Vec::new();
    for (i, c) in file.clusters.into_iter().enumerate() {
        let at = format!("clusters[{i}]");
        cluster_names.insert("cluster", &c.name, &format!("{at}.name"))?;
        clusters.push(cluster::cluster(c, &at, files)?);
    }
    let singletons = plugins(file.singletons, "singletons", files, true)?;
    let waypoint = file
        .waypoint
        .map(|w| waypoint::waypoint(w, files))
        .transpose()?;
    let stats_tags = file
        .stats_tags
        .into_iter()
        .map(|t| StatsTag {
            tag_name: t.tag_name,
            regex: t.regex,
        })
        .collect();
    let config = Config {
        listeners,
        clusters,
        admin: file.admin,
        stats_tags,
        singletons,
        node: NodeInfo {
            id: file.node.id,
            cluster: file.node.cluster,
            metadata: file.node.metadata,
        },
        waypoint,
        module_cache: match file.module_cache.as_deref() {
            Some("") => return Err(FieldError::new("module_cache", "empty directory name")),
            Some(dir) => Some(files.base().join(dir)),
            None => None,
        },
    };
    refs.check(&config)?;
    files::check_listener_addresses(&config, |i| format!("listeners[{i}].address"))?;
    Ok(config)
}

/// serde_yaml_ng prefixes its messages with its own, coarser path (`clusters[0]: …`); ours
/// is exact, so drop theirs.
fn strip_yaml_path(path: &str, reason: String) -> String {
    match reason.split_once(": ") {
        Some((prefix, rest)) if !prefix.is_empty() && path.starts_with(prefix) => rest.to_owned(),
        _ => reason,
    }
}

fn listener(
    l: schema::Listener,
    index: usize,
    at: &str,
    files: &Resolver,
    refs: &mut ClusterRefs,
) -> FieldResult<Listener> {
    let name = l.name.unwrap_or_else(|| format!("listener_{index}"));
    let tls = l
        .tls
        .map(|t| downstream_tls(t, &format!("{at}.tls"), files))
        .transpose()?;
    let filters = plugins(l.filters, &format!("{at}.filters"), files, false)?;
    let kind = match l.protocol {
        schema::Protocol::Tcp => {
            let only_http = [
                ("routes", l.routes.is_some()),
                ("virtual_hosts", l.virtual_hosts.is_some()),
                ("codec", l.codec.is_some()),
                ("limits", l.limits.is_some()),
                ("stat_prefix", l.stat_prefix.is_some()),
            ];
            if let Some((field, _)) = only_http.iter().find(|(_, set)| *set) {
                return Err(FieldError::new(
                    format!("{at}.{field}"),
                    "only for http listeners",
                ));
            }
            let cluster = l.cluster.ok_or_else(|| {
                FieldError::new(format!("{at}.cluster"), "required for tcp listeners")
            })?;
            refs.add(&cluster, format!("{at}.cluster"));
            ListenerKind::Tcp(TcpProxy {
                cluster,
                network_filters: filters,
                idle_timeout: l.idle_timeout.or(Some(Duration::from_secs(3600))),
                access_log: l.access_log.map(|a| access_log(&a, files)),
            })
        }
        schema::Protocol::Http => {
            if l.cluster.is_some() {
                return Err(FieldError::new(
                    format!("{at}.cluster"),
                    "http listeners route with `routes` (set `protocol: tcp` for a TCP proxy)",
                ));
            }
            let virtual_hosts = match (l.routes, l.virtual_hosts) {
                (Some(routes), None) => vec![VirtualHost {
                    name: name.clone(),
                    domains: vec!["*".to_owned()],
                    routes: route::route_list(routes, &format!("{at}.routes"), refs)?,
                }],
                (None, Some(vhosts)) => {
                    route::virtual_hosts(vhosts, &format!("{at}.virtual_hosts"), refs)?
                }
                _ => {
                    return Err(FieldError::new(
                        at,
                        "an http listener needs exactly one of `routes` or `virtual_hosts`",
                    ))
                }
            };
            let limits = limits(l.limits.unwrap_or_default());
            ListenerKind::Http(HttpConnMgr {
                codec: l.codec.unwrap_or(Codec::Auto),
                stat_prefix: l.stat_prefix.unwrap_or_else(|| name.clone()),
                virtual_hosts,
                http_filters: filters,
                limits,
                access_log: l.access_log.map(|a| access_log(&a, files)),
            })
        }
    };
    Ok(Listener {
        name,
        address: l.address,
        tls,
        kind,
        metadata: l.metadata,
    })
}

/// Native limits over Envoy's defaults; `0s` disables the idle timeout.
fn limits(l: schema::Limits) -> Limits {
    let d = Limits::default();
    Limits {
        buffer_limit_bytes: l.buffer_limit_bytes.unwrap_or(d.buffer_limit_bytes),
        max_request_headers_kb: l.max_request_headers_kb.unwrap_or(d.max_request_headers_kb),
        request_headers_timeout: l.request_headers_timeout.filter(|t| !t.is_zero()),
        idle_timeout: l.idle_timeout.or(d.idle_timeout).filter(|t| !t.is_zero()),
        max_concurrent_streams: l.max_concurrent_streams.unwrap_or(d.max_concurrent_streams),
        max_headers_count: l.max_headers_count.unwrap_or(d.max_headers_count),
        http2: d.http2,
    }
}

fn access_log(target: &str, files: &Resolver) -> AccessLog {
    match target {
        "stdout" | "/dev/stdout" => AccessLog::Stdout,
        "stderr" | "/dev/stderr" => AccessLog::Stderr,
        path => AccessLog::File(files.base().join(path)),
    }
}

fn downstream_tls(
    t: schema::DownstreamTls,
    at: &str,
    files: &Resolver,
) -> FieldResult<DownstreamTls> {
    let client_ca = t
        .client_ca
        .map(|ca| {
            files
                .file(&ca, &format!("{at}.client_ca"))
                .map(DataSource::File)
        })
        .transpose()?;
    if t.require_client_cert && client_ca.is_none() {
        return Err(FieldError::new(
            format!("{at}.require_client_cert"),
            "requires `client_ca` to verify client certificates against",
        ));
    }
    Ok(DownstreamTls {
        cert_chain: DataSource::File(files.file(&t.cert, &format!("{at}.cert"))?),
        key: Secret(DataSource::File(files.file(&t.key, &format!("{at}.key"))?)),
        client_ca,
        require_client_cert: t.require_client_cert,
        alpn: t.alpn,
    })
}

fn plugins(
    list: Vec<schema::Plugin>,
    at: &str,
    files: &Resolver,
    singleton: bool,
) -> FieldResult<Vec<WasmPlugin>> {
    let mut names = Unique::default();
    list.into_iter()
        .enumerate()
        .map(|(i, p)| {
            let at = format!("{at}[{i}]");
            names.insert("plugin", &p.name, &format!("{at}.name"))?;
            Ok(WasmPlugin {
                code: DataSource::File(super::module::file(
                    files,
                    &p.code,
                    &format!("{at}.code"),
                    &p.name,
                )?),
                name: p.name,
                root_id: p.root_id,
                vm_id: p.vm_id,
                vm_config: config_bytes(p.vm_config),
                plugin_config: config_bytes(p.config),
                env: p.env,
                fail_open: p.fail_open,
                vm_count: if singleton { Some(1) } else { p.vm_count },
                singleton,
            })
        })
        .collect()
}

/// A string is passed as is; any other YAML value is handed to the plugin as JSON.
fn config_bytes(value: Option<serde_json::Value>) -> Vec<u8> {
    match value {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::String(s)) => s.into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    }
}

#[cfg(test)]
mod tests;
