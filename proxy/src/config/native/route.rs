//! Native virtual hosts and routes → IR.

use std::time::Duration;

use super::schema;
use crate::config::error::{FieldError, FieldResult};
use crate::config::files::{self, ClusterRefs};
use crate::config::model::*;

pub fn virtual_hosts(
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

pub fn route_list(
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
