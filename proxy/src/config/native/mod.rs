//! The native YAML format: concise, one listener's routes inline, filters as a list of wasm
//! files with their configuration as YAML. Schema in [`schema`], documented in
//! `docs/config.md`; this module turns it into the IR and checks what serde cannot.

mod schema;

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
        clusters.push(cluster(c, &at, files)?);
    }
    let singletons = plugins(file.singletons, "singletons", files, true)?;
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
                ("access_log", l.access_log.is_some()),
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
                    routes: route_list(routes, &format!("{at}.routes"), refs)?,
                }],
                (None, Some(vhosts)) => {
                    virtual_hosts(vhosts, &format!("{at}.virtual_hosts"), refs)?
                }
                _ => {
                    return Err(FieldError::new(
                        at,
                        "an http listener needs exactly one of `routes` or `virtual_hosts`",
                    ))
                }
            };
            let d = Limits::default();
            let limits = Limits {
                buffer_limit_bytes: l.limits.buffer_limit_bytes.unwrap_or(d.buffer_limit_bytes),
                max_request_headers_kb: l
                    .limits
                    .max_request_headers_kb
                    .unwrap_or(d.max_request_headers_kb),
                request_headers_timeout: l.limits.request_headers_timeout,
                idle_timeout: l
                    .limits
                    .idle_timeout
                    .or(d.idle_timeout)
                    .filter(|t| !t.is_zero()),
                max_concurrent_streams: l
                    .limits
                    .max_concurrent_streams
                    .unwrap_or(d.max_concurrent_streams),
            };
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
    })
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
                code: DataSource::File(files.file(&p.code, &format!("{at}.code"))?),
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

fn virtual_hosts(
    list: Vec<schema::VirtualHost>,
    at: &str,
    refs: &mut ClusterRefs,
) -> FieldResult<Vec<VirtualHost>> {
    let mut out = Vec::new();
    let mut domains_seen = Vec::new();
    for (i, v) in list.into_iter().enumerate() {
        let at = format!("{at}[{i}]");
        let mut domains = Vec::new();
        for (j, d) in v.domains.iter().enumerate() {
            let field = format!("{at}.domains[{j}]");
            let d = files::domain(d, &field)?;
            domains_seen.push((d.clone(), field));
            domains.push(d);
        }
        out.push(VirtualHost {
            name: v.name.unwrap_or_else(|| format!("vhost_{i}")),
            domains,
            routes: route_list(v.routes, &format!("{at}.routes"), refs)?,
        });
    }
    files::check_unique_domains(domains_seen.iter().map(|(d, f)| (d.as_str(), f.clone())))?;
    Ok(out)
}

fn route_list(
    list: Vec<schema::Route>,
    at: &str,
    refs: &mut ClusterRefs,
) -> FieldResult<Vec<Route>> {
    list.into_iter()
        .enumerate()
        .map(|(i, r)| route(r, &format!("{at}[{i}]"), refs))
        .collect()
}

fn route(r: schema::Route, at: &str, refs: &mut ClusterRefs) -> FieldResult<Route> {
    let path = match (r.prefix, r.path, r.regex) {
        (None, None, None) => PathMatch::Prefix("/".to_owned()),
        (Some(p), None, None) => PathMatch::Prefix(p),
        (None, Some(p), None) => PathMatch::Exact(p),
        (None, None, Some(re)) => PathMatch::Regex(re),
        _ => {
            return Err(FieldError::new(
                at,
                "give at most one of `prefix`, `path`, `regex`",
            ))
        }
    };
    let headers = r
        .headers
        .into_iter()
        .enumerate()
        .map(|(i, h)| header(h, &format!("{at}.headers[{i}]")))
        .collect::<FieldResult<_>>()?;
    let action = match (r.cluster, r.direct) {
        (Some(cluster), None) => {
            if r.prefix_rewrite.is_some() && !matches!(path, PathMatch::Prefix(_)) {
                return Err(FieldError::new(
                    format!("{at}.prefix_rewrite"),
                    "only valid on `prefix` routes",
                ));
            }
            refs.add(&cluster, format!("{at}.cluster"));
            let retry = r
                .retry
                .map(|rt| retry(rt, &format!("{at}.retry")))
                .transpose()?;
            RouteAction::Cluster(ClusterAction {
                cluster,
                timeout: Some(r.timeout.unwrap_or(Duration::from_secs(15)))
                    .filter(|t| !t.is_zero()),
                prefix_rewrite: r.prefix_rewrite,
                host_rewrite: r.host_rewrite,
                retry,
            })
        }
        (None, Some(d)) => {
            if !(200..=599).contains(&d.status) {
                return Err(FieldError::new(
                    format!("{at}.direct.status"),
                    "must be 200..=599",
                ));
            }
            RouteAction::Direct(DirectResponse {
                status: d.status,
                body: d.body,
            })
        }
        _ => {
            return Err(FieldError::new(
                at,
                "a route needs exactly one of `cluster` or `direct`",
            ))
        }
    };
    Ok(Route {
        name: r.name,
        matcher: RouteMatch {
            path,
            headers,
            case_sensitive: r.case_sensitive,
        },
        action,
        metadata: r.metadata,
    })
}

fn header(h: schema::Header, at: &str) -> FieldResult<HeaderMatcher> {
    let mut kinds: Vec<HeaderMatch> = [
        h.exact.map(HeaderMatch::Exact),
        h.prefix.map(HeaderMatch::Prefix),
        h.suffix.map(HeaderMatch::Suffix),
        h.contains.map(HeaderMatch::Contains),
        h.regex.map(HeaderMatch::Regex),
        h.present.map(HeaderMatch::Present),
    ]
    .into_iter()
    .flatten()
    .collect();
    if kinds.len() > 1 {
        return Err(FieldError::new(
            at,
            "give at most one of exact/prefix/suffix/contains/regex/present",
        ));
    }
    Ok(HeaderMatcher {
        name: h.name.to_ascii_lowercase(),
        kind: kinds.pop().unwrap_or(HeaderMatch::Present(true)),
        invert: h.invert,
    })
}

fn retry(r: schema::Retry, at: &str) -> FieldResult<RetryPolicy> {
    let retry_on =
        r.on.iter()
            .enumerate()
            .map(|(i, t)| {
                RetryOn::parse(t).ok_or_else(|| {
                    FieldError::new(
                        format!("{at}.on[{i}]"),
                        format!("unknown retry condition {t:?}"),
                    )
                })
            })
            .collect::<FieldResult<_>>()?;
    Ok(RetryPolicy {
        retry_on,
        num_retries: r.num_retries,
        per_try_timeout: r.per_try_timeout,
        retriable_status_codes: r.status_codes,
    })
}

fn cluster(c: schema::Cluster, at: &str, files: &Resolver) -> FieldResult<Cluster> {
    if c.endpoints.is_empty() {
        return Err(FieldError::new(
            format!("{at}.endpoints"),
            "at least one endpoint is required",
        ));
    }
    let endpoints = c
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| {
            Endpoint::parse(e).map_err(|r| FieldError::new(format!("{at}.endpoints[{i}]"), r))
        })
        .collect::<FieldResult<Vec<_>>>()?;
    let all_ips = endpoints
        .iter()
        .all(|e| e.host.parse::<std::net::IpAddr>().is_ok());
    let discovery = c.discovery.unwrap_or(if all_ips {
        Discovery::Static
    } else {
        Discovery::StrictDns
    });
    if discovery == Discovery::Static {
        for (i, e) in endpoints.iter().enumerate() {
            files::check_static_endpoint(e, &format!("{at}.endpoints[{i}]"))?;
        }
    }
    if discovery == Discovery::LogicalDns && endpoints.len() != 1 {
        return Err(FieldError::new(
            format!("{at}.endpoints"),
            "a logical_dns cluster takes exactly one endpoint",
        ));
    }
    let tls = c
        .tls
        .map(|t| upstream_tls(t, &format!("{at}.tls"), files))
        .transpose()?;
    let d = CircuitBreakers::default();
    let cb = c.circuit_breakers;
    Ok(Cluster {
        name: c.name,
        discovery,
        endpoints,
        connect_timeout: c.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        lb: c.lb.unwrap_or(LbPolicy::RoundRobin),
        http2: c.http2,
        tls,
        circuit_breakers: CircuitBreakers {
            max_connections: cb.max_connections.unwrap_or(d.max_connections),
            max_pending_requests: cb.max_pending_requests.unwrap_or(d.max_pending_requests),
            max_requests: cb.max_requests.unwrap_or(d.max_requests),
            max_retries: cb.max_retries.unwrap_or(d.max_retries),
        },
        dns_refresh_rate: c.dns_refresh_rate.unwrap_or(DEFAULT_DNS_REFRESH),
        metadata: c.metadata,
    })
}

fn upstream_tls(t: schema::UpstreamTls, at: &str, files: &Resolver) -> FieldResult<UpstreamTls> {
    let client_cert = match (t.cert, t.key) {
        (Some(cert), Some(key)) => Some((
            DataSource::File(files.file(&cert, &format!("{at}.cert"))?),
            Secret(DataSource::File(files.file(&key, &format!("{at}.key"))?)),
        )),
        (None, None) => None,
        _ => return Err(FieldError::new(at, "`cert` and `key` go together")),
    };
    Ok(UpstreamTls {
        sni: t.sni,
        ca: t
            .ca
            .map(|ca| files.file(&ca, &format!("{at}.ca")).map(DataSource::File))
            .transpose()?,
        client_cert,
        alpn: t.alpn,
    })
}

#[cfg(test)]
mod tests;
