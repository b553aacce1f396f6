//! Route matching: virtual host by authority (Envoy's domain rules), then the first route whose
//! path and header matchers all match.

use std::time::Duration;

use http::HeaderMap;

pub use crate::config::{
    ClusterAction, HeaderMatch, HeaderMatcher, PathMatch, RetryOn, RetryPolicy, Route, RouteAction,
    VirtualHost,
};

/// A listener's routes, as configured (the config IR already holds compiled patterns).
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    pub virtual_hosts: Vec<VirtualHost>,
}

/// The time one attempt may take: the per-try timeout, capped by what is left of the route
/// timeout (Envoy: the route timeout bounds the whole request across retries). `None` when
/// neither applies. The parsers already resolved the route timeout (unset → 15 s, `0s` →
/// `None`), so `ClusterAction::timeout` is taken as is.
pub fn attempt_timeout(per_try: Option<Duration>, remaining: Option<Duration>) -> Option<Duration> {
    match (per_try, remaining) {
        (Some(p), Some(r)) => Some(p.min(r)),
        (p, r) => p.or(r),
    }
}

impl RouteTable {
    /// The matching route for `authority` + `path` + headers.
    pub fn find(&self, authority: &str, path: &str, headers: &HeaderMap) -> Option<&Route> {
        let vh = self.virtual_host(authority)?;
        vh.routes.iter().find(|r| route_matches(r, path, headers))
    }

    fn virtual_host(&self, authority: &str) -> Option<&VirtualHost> {
        let full = authority.to_ascii_lowercase();
        self.best(&full, strip_port(&full))
    }

    /// Exact beats `*.suffix` (longest first) beats `prefix.*` (longest first) beats `*`.
    /// Domains that name a port are matched against the full authority, the others against
    /// the host without its port (so `example.com` serves `example.com:8080`).
    fn best(&self, full: &str, bare: &str) -> Option<&VirtualHost> {
        let mut best: Option<(u8, usize, &VirtualHost)> = None;
        for vh in &self.virtual_hosts {
            for d in &vh.domains {
                let d = d.to_ascii_lowercase();
                let host = if strip_port(&d) != d { full } else { bare };
                let score = if d == host {
                    Some((3, d.len()))
                } else if d == "*" {
                    Some((0, 0))
                } else if let Some(suffix) = d.strip_prefix('*') {
                    (host.len() > suffix.len() && host.ends_with(suffix)).then_some((2, d.len()))
                } else if let Some(prefix) = d.strip_suffix('*') {
                    (host.len() > prefix.len() && host.starts_with(prefix)).then_some((1, d.len()))
                } else {
                    None
                };
                if let Some((rank, len)) = score {
                    if best.is_none_or(|(r, l, _)| (rank, len) > (r, l)) {
                        best = Some((rank, len, vh));
                    }
                }
            }
        }
        best.map(|(_, _, vh)| vh)
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .rsplit_once("]:")
            .map(|(h, _)| &host[..h.len() + 1])
            .unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

fn route_matches(r: &Route, path: &str, headers: &HeaderMap) -> bool {
    let path_only = path.split('?').next().unwrap_or(path);
    let m = &r.matcher;
    let ok = match &m.path {
        PathMatch::Prefix(p) if m.case_sensitive => path_only.starts_with(p.as_str()),
        PathMatch::Prefix(p) => path_only
            .get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p)),
        PathMatch::Exact(p) if m.case_sensitive => path_only == p,
        PathMatch::Exact(p) => path_only.eq_ignore_ascii_case(p),
        PathMatch::Regex(r) => r.is_match(path_only),
    };
    ok && m.headers.iter().all(|h| header_matches(h, headers))
}

fn header_matches(h: &HeaderMatcher, headers: &HeaderMap) -> bool {
    let value = headers.get(&h.name).and_then(|v| v.to_str().ok());
    let hit = match (&h.kind, value) {
        (HeaderMatch::Present(want), v) => v.is_some() == *want,
        (_, None) => false,
        (HeaderMatch::Exact(e), Some(v)) => v == e,
        (HeaderMatch::Prefix(p), Some(v)) => v.starts_with(p.as_str()),
        (HeaderMatch::Suffix(s), Some(v)) => v.ends_with(s.as_str()),
        (HeaderMatch::Contains(s), Some(v)) => v.contains(s.as_str()),
        (HeaderMatch::Regex(r), Some(v)) => r.is_match(v),
    };
    hit != h.invert
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DirectResponse, Pattern, RouteMatch};

    fn vh(name: &str, domains: &[&str], prefix: &str) -> VirtualHost {
        VirtualHost {
            name: name.into(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            routes: vec![Route {
                name: name.into(),
                matcher: RouteMatch {
                    path: PathMatch::Prefix(prefix.into()),
                    headers: vec![],
                    case_sensitive: true,
                },
                action: RouteAction::Direct(DirectResponse {
                    status: 200,
                    body: Some(name.into()),
                }),
                metadata: Default::default(),
            }],
        }
    }

    #[test]
    fn per_try_timeout_is_capped_by_the_route_timeout() {
        let s = Duration::from_secs;
        assert_eq!(attempt_timeout(Some(s(1)), Some(s(5))), Some(s(1)));
        assert_eq!(attempt_timeout(Some(s(5)), Some(s(1))), Some(s(1)));
        assert_eq!(attempt_timeout(None, Some(s(2))), Some(s(2)));
        assert_eq!(attempt_timeout(Some(s(2)), None), Some(s(2)));
        assert_eq!(attempt_timeout(None, None), None);
    }

    #[test]
    fn domain_precedence_follows_envoy() {
        let t = RouteTable {
            virtual_hosts: vec![
                vh("any", &["*"], "/"),
                vh("prefix", &["api.*"], "/"),
                vh("suffix", &["*.example.com"], "/"),
                vh("exact", &["api.example.com"], "/"),
            ],
        };
        let h = HeaderMap::new();
        let name = |a: &str| t.find(a, "/x", &h).map(|r| r.name.clone());
        assert_eq!(name("api.example.com").as_deref(), Some("exact"));
        assert_eq!(name("api.example.com:8080").as_deref(), Some("exact"));
        assert_eq!(name("www.example.com").as_deref(), Some("suffix"));
        assert_eq!(name("api.other.org").as_deref(), Some("prefix"));
        assert_eq!(name("other").as_deref(), Some("any"));
    }

    #[test]
    fn path_and_header_matchers() {
        let mut r = vh("r", &["*"], "/");
        r.routes[0].matcher.path = PathMatch::Regex(Pattern::full("/users/[0-9]+").unwrap());
        r.routes[0].matcher.headers = vec![HeaderMatcher {
            name: "x-env".into(),
            kind: HeaderMatch::Exact("prod".into()),
            invert: false,
        }];
        let t = RouteTable {
            virtual_hosts: vec![r],
        };
        let mut h = HeaderMap::new();
        assert!(t.find("a", "/users/12?x=1", &h).is_none());
        h.insert("x-env", "prod".parse().unwrap());
        assert!(t.find("a", "/users/12?x=1", &h).is_some());
        assert!(t.find("a", "/users/12/orders", &h).is_none());
    }
}
