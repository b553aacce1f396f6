//! `route_config` → virtual hosts and routes. Routing features we do not implement
//! (weighted clusters, redirects, header mutation, per-filter config…) are errors naming the
//! field: a proxy that silently routed differently from Envoy would be worse than none.

use std::time::Duration;

use super::typed::metadata;
use super::value::{At, Fields};
use crate::config::error::FieldResult;
use crate::config::files::{self, ClusterRefs, Resolver};
use crate::config::model::*;
use crate::config::pattern::Pattern;

const ROUTING: &str = "changes routing";

pub fn route_config(
    at: &At,
    files: &Resolver,
    refs: &mut ClusterRefs,
) -> FieldResult<Vec<VirtualHost>> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &["virtual_hosts"],
        cosmetic: &[
            "name",
            "validate_clusters",
            "max_direct_response_body_size_bytes",
            "ignore_port_in_host_matching",
        ],
        ignored: &[],
        effect: ROUTING,
    })?;
    let mut vhosts = Vec::new();
    let mut domains = Vec::new();
    for vh in o.items("virtual_hosts")? {
        let vo = vh.obj()?;
        vo.fields(&Fields {
            known: &["name", "domains", "routes"],
            cosmetic: &[
                "include_request_attempt_count",
                "include_attempt_count_in_response",
            ],
            ignored: &[],
            effect: ROUTING,
        })?;
        let mut names = Vec::new();
        for d in vo.req("domains")?.list()? {
            let name = files::domain(d.str()?, d.path())?;
            domains.push((name.clone(), d.path().to_owned()));
            names.push(name);
        }
        let routes = vo
            .items("routes")?
            .iter()
            .map(|r| route(r, files, refs))
            .collect::<FieldResult<_>>()?;
        vhosts.push(VirtualHost {
            name: vo.req("name")?.str()?.to_owned(),
            domains: names,
            routes,
        });
    }
    files::check_unique_domains(domains.iter().map(|(d, f)| (d.as_str(), f.clone())))?;
    Ok(vhosts)
}

fn route(at: &At, files: &Resolver, refs: &mut ClusterRefs) -> FieldResult<Route> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &["name", "match", "route", "direct_response", "metadata"],
        cosmetic: &["decorator", "stat_prefix"],
        ignored: &["tracing"],
        effect: ROUTING,
    })?;
    let matcher = route_match(&o.req("match")?)?;
    let action = match (o.get("route"), o.get("direct_response")) {
        (Some(r), None) => RouteAction::Cluster(cluster_action(&r, &matcher, refs)?),
        (None, Some(d)) => RouteAction::Direct(direct(&d, files)?),
        (Some(_), Some(_)) => return Err(o.err("give `route` or `direct_response`, not both")),
        (None, None) => {
            return Err(
                o.err("a route needs `route` or `direct_response` (redirects are not supported)")
            )
        }
    };
    Ok(Route {
        name: o.string("name")?,
        matcher,
        action,
        metadata: o
            .get("metadata")
            .map(|m| metadata(&m))
            .transpose()?
            .unwrap_or_default(),
    })
}

fn route_match(at: &At) -> FieldResult<RouteMatch> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &[
            "prefix",
            "path",
            "safe_regex",
            "headers",
            "case_sensitive",
            "grpc",
        ],
        cosmetic: &[],
        ignored: &[],
        effect: ROUTING,
    })?;
    let mut paths = Vec::new();
    if let Some(p) = o.get("prefix") {
        paths.push(PathMatch::Prefix(p.str()?.to_owned()));
    }
    if let Some(p) = o.get("path") {
        paths.push(PathMatch::Exact(p.str()?.to_owned()));
    }
    if let Some(r) = o.get("safe_regex") {
        paths.push(PathMatch::Regex(regex(&r)?));
    }
    if paths.len() != 1 {
        return Err(o.err("give exactly one of prefix, path, safe_regex"));
    }
    let mut headers: Vec<HeaderMatcher> = o
        .items("headers")?
        .iter()
        .map(header)
        .collect::<FieldResult<_>>()?;
    if o.get("grpc").is_some() {
        // Envoy: `grpc: {}` matches requests whose content-type starts with application/grpc.
        headers.push(HeaderMatcher {
            name: "content-type".into(),
            kind: HeaderMatch::Prefix("application/grpc".into()),
            invert: false,
        });
    }
    Ok(RouteMatch {
        path: paths.remove(0),
        headers,
        case_sensitive: o
            .get("case_sensitive")
            .map(|c| c.bool_wrapper())
            .transpose()?
            .unwrap_or(true),
    })
}

/// `type.matcher.v3.RegexMatcher`: `{regex: ..., google_re2: {}}`, full-match semantics.
fn regex(at: &At) -> FieldResult<Pattern> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &["regex"],
        cosmetic: &["google_re2"],
        ignored: &[],
        effect: ROUTING,
    })?;
    let r = o.req("regex")?;
    Pattern::full(r.str()?).map_err(|e| r.err(e))
}

fn header(at: &At) -> FieldResult<HeaderMatcher> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &[
            "name",
            "exact_match",
            "prefix_match",
            "suffix_match",
            "contains_match",
            "safe_regex_match",
            "present_match",
            "string_match",
            "invert_match",
        ],
        cosmetic: &[],
        ignored: &[],
        effect: ROUTING,
    })?;
    let mut kinds = Vec::new();
    for (key, make) in [
        (
            "exact_match",
            HeaderMatch::Exact as fn(String) -> HeaderMatch,
        ),
        ("prefix_match", HeaderMatch::Prefix),
        ("suffix_match", HeaderMatch::Suffix),
        ("contains_match", HeaderMatch::Contains),
    ] {
        if let Some(v) = o.get(key) {
            kinds.push(make(v.str()?.to_owned()));
        }
    }
    if let Some(r) = o.get("safe_regex_match") {
        kinds.push(HeaderMatch::Regex(regex(&r)?));
    }
    if let Some(p) = o.get("present_match") {
        kinds.push(HeaderMatch::Present(p.bool()?));
    }
    if let Some(s) = o.get("string_match") {
        kinds.push(string_match(&s)?);
    }
    if kinds.len() > 1 {
        return Err(o.err("give at most one header match"));
    }
    Ok(HeaderMatcher {
        name: o.req("name")?.str()?.to_ascii_lowercase(),
        kind: kinds.pop().unwrap_or(HeaderMatch::Present(true)),
        invert: o
            .get("invert_match")
            .map(|i| i.bool())
            .transpose()?
            .unwrap_or(false),
    })
}

/// `type.matcher.v3.StringMatcher` (case-sensitive only).
fn string_match(at: &At) -> FieldResult<HeaderMatch> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &[
            "exact",
            "prefix",
            "suffix",
            "contains",
            "safe_regex",
            "ignore_case",
        ],
        cosmetic: &[],
        ignored: &[],
        effect: ROUTING,
    })?;
    if let Some(ic) = o.get("ignore_case") {
        if ic.bool()? {
            return Err(ic.err("not supported (changes routing)"));
        }
    }
    let text = |k: &str| o.get(k).map(|v| v.str().map(str::to_owned)).transpose();
    let kinds: Vec<HeaderMatch> = [
        text("exact")?.map(HeaderMatch::Exact),
        text("prefix")?.map(HeaderMatch::Prefix),
        text("suffix")?.map(HeaderMatch::Suffix),
        text("contains")?.map(HeaderMatch::Contains),
        o.get("safe_regex")
            .map(|r| regex(&r))
            .transpose()?
            .map(HeaderMatch::Regex),
    ]
    .into_iter()
    .flatten()
    .collect();
    match <[HeaderMatch; 1]>::try_from(kinds) {
        Ok([k]) => Ok(k),
        Err(_) => Err(o.err("give exactly one of exact, prefix, suffix, contains, safe_regex")),
    }
}

fn cluster_action(
    at: &At,
    matcher: &RouteMatch,
    refs: &mut ClusterRefs,
) -> FieldResult<ClusterAction> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &[
            "cluster",
            "timeout",
            "prefix_rewrite",
            "host_rewrite_literal",
            "retry_policy",
        ],
        cosmetic: &[
            "cluster_not_found_response_code",
            "priority",
            "hash_policy",
            "include_vh_rate_limits",
        ],
        ignored: &[
            "idle_timeout",
            "max_stream_duration",
            "max_grpc_timeout",
            "grpc_timeout_offset",
            "upgrade_configs",
        ],
        effect: ROUTING,
    })?;
    let cluster_at = o.req("cluster")?;
    let cluster = cluster_at.str()?.to_owned();
    refs.add(&cluster, cluster_at.path().to_owned());
    let prefix_rewrite = o
        .get("prefix_rewrite")
        .map(|p| p.str().map(str::to_owned))
        .transpose()?;
    if prefix_rewrite.is_some() && !matches!(matcher.path, PathMatch::Prefix(_)) {
        return Err(o
            .req("prefix_rewrite")?
            .err("only valid on routes matching a `prefix`"));
    }
    let timeout = o
        .get("timeout")
        .map(|t| t.duration())
        .transpose()?
        .unwrap_or(Duration::from_secs(15));
    Ok(ClusterAction {
        cluster,
        timeout: Some(timeout).filter(|t| !t.is_zero()),
        prefix_rewrite,
        host_rewrite: o
            .get("host_rewrite_literal")
            .map(|h| h.str().map(str::to_owned))
            .transpose()?,
        retry: o.get("retry_policy").map(|r| retry(&r)).transpose()?,
    })
}

fn retry(at: &At) -> FieldResult<RetryPolicy> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &[
            "retry_on",
            "num_retries",
            "per_try_timeout",
            "retriable_status_codes",
        ],
        cosmetic: &[
            "retry_host_predicate",
            "host_selection_retry_max_attempts",
            "retry_priority",
        ],
        ignored: &[
            "retry_back_off",
            "rate_limited_retry_back_off",
            "per_try_idle_timeout",
        ],
        effect: ROUTING,
    })?;
    let on = o.req("retry_on")?;
    let retry_on = on
        .str()?
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| RetryOn::parse(t).ok_or_else(|| on.err(format!("unknown retry condition {t:?}"))))
        .collect::<FieldResult<_>>()?;
    let codes = match o.get("retriable_status_codes") {
        Some(c) => c
            .list()?
            .iter()
            .map(|c| u16::try_from(c.u64()?).map_err(|_| c.err("not an HTTP status")))
            .collect::<FieldResult<_>>()?,
        None => Vec::new(),
    };
    Ok(RetryPolicy {
        retry_on,
        num_retries: o
            .get("num_retries")
            .map(|n| n.u32_wrapper())
            .transpose()?
            .unwrap_or(1),
        per_try_timeout: o.get("per_try_timeout").map(|t| t.duration()).transpose()?,
        retriable_status_codes: codes,
    })
}

fn direct(at: &At, files: &Resolver) -> FieldResult<DirectResponse> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &["status", "body"],
        cosmetic: &[],
        ignored: &[],
        effect: ROUTING,
    })?;
    let status_at = o.req("status")?;
    let status = status_at.u64()?;
    if !(200..=599).contains(&status) {
        return Err(status_at.err("must be 200..=599"));
    }
    let body = match o.get("body") {
        Some(b) => {
            let bytes = b
                .data_source(files)?
                .read()
                .map_err(|e| b.err(e.to_string()))?;
            Some(String::from_utf8(bytes).map_err(|_| b.err("body must be UTF-8"))?)
        }
        None => None,
    };
    Ok(DirectResponse {
        status: status as u16,
        body,
    })
}
