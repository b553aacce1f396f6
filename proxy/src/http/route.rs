//! Route matching: virtual host by authority (Envoy's domain rules), then the first route whose
//! path and header matchers all match.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use regex::Regex;

/// A compiled route configuration.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    pub virtual_hosts: Vec<VirtualHost>,
}

#[derive(Debug, Clone)]
pub struct VirtualHost {
    pub name: String,
    /// `example.com`, `*.example.com`, `example.*`, `*`; optionally with `:port`.
    pub domains: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub path: PathMatch,
    pub headers: Vec<HeaderMatcher>,
    pub action: RouteAction,
    /// `metadata.filter_metadata`, served to filters as `route_metadata`/`xds.route_metadata`.
    pub metadata: serde_json::Value,
}

#[derive(Debug, Clone)]
pub enum PathMatch {
    Prefix(String),
    Exact(String),
    /// Must match the whole path (Envoy `safe_regex` semantics).
    Regex(Regex),
}

#[derive(Debug, Clone)]
pub struct HeaderMatcher {
    pub name: String,
    pub kind: HeaderMatch,
    pub invert: bool,
}

#[derive(Debug, Clone)]
pub enum HeaderMatch {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Regex(Regex),
    Present(bool),
}

#[derive(Debug, Clone)]
pub enum RouteAction {
    Cluster(ClusterAction),
    Direct { status: StatusCode, body: String },
}

#[derive(Debug, Clone)]
pub struct ClusterAction {
    pub cluster: String,
    /// `None` = Envoy's default of 15 s; `Some(ZERO)` disables the timeout.
    pub timeout: Option<Duration>,
    pub prefix_rewrite: Option<String>,
    pub retry: Option<RetryPolicy>,
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub on_5xx: bool,
    pub on_connect_failure: bool,
    pub on_reset: bool,
    /// Listed status codes (`retriable-status-codes`).
    pub on_status: Vec<u16>,
    pub num_retries: u32,
    pub per_try_timeout: Option<Duration>,
}

impl ClusterAction {
    /// The route timeout in force (Envoy default 15 s, zero disables).
    pub fn effective_timeout(&self) -> Option<Duration> {
        match self.timeout {
            None => Some(Duration::from_secs(15)),
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
        }
    }
}

impl RouteTable {
    /// The matching route for `authority` + `path` + headers.
    pub fn find(&self, authority: &str, path: &str, headers: &HeaderMap) -> Option<&Route> {
        let vh = self.virtual_host(authority)?;
        vh.routes.iter().find(|r| r.matches(path, headers))
    }

    fn virtual_host(&self, authority: &str) -> Option<&VirtualHost> {
        let host = authority.to_ascii_lowercase();
        self.best(&host).or_else(|| {
            // Envoy retries without the port when nothing matched the full authority.
            let bare = strip_port(&host);
            (bare != host).then(|| self.best(bare)).flatten()
        })
    }

    /// Exact beats `*.suffix` (longest first) beats `prefix.*` (longest first) beats `*`.
    fn best(&self, host: &str) -> Option<&VirtualHost> {
        let mut best: Option<(u8, usize, &VirtualHost)> = None;
        for vh in &self.virtual_hosts {
            for d in &vh.domains {
                let d = d.to_ascii_lowercase();
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

impl Route {
    fn matches(&self, path: &str, headers: &HeaderMap) -> bool {
        let path_only = path.split('?').next().unwrap_or(path);
        let ok = match &self.path {
            PathMatch::Prefix(p) => path_only.starts_with(p.as_str()),
            PathMatch::Exact(p) => path_only == p,
            PathMatch::Regex(r) => r
                .find(path_only)
                .is_some_and(|m| m.start() == 0 && m.end() == path_only.len()),
        };
        ok && self.headers.iter().all(|h| h.matches(headers))
    }
}

impl HeaderMatcher {
    fn matches(&self, headers: &HeaderMap) -> bool {
        let value = headers.get(&self.name).and_then(|v| v.to_str().ok());
        let hit = match (&self.kind, value) {
            (HeaderMatch::Present(want), v) => v.is_some() == *want,
            (_, None) => false,
            (HeaderMatch::Exact(e), Some(v)) => v == e,
            (HeaderMatch::Prefix(p), Some(v)) => v.starts_with(p.as_str()),
            (HeaderMatch::Suffix(s), Some(v)) => v.ends_with(s.as_str()),
            (HeaderMatch::Contains(s), Some(v)) => v.contains(s.as_str()),
            (HeaderMatch::Regex(r), Some(v)) => r
                .find(v)
                .is_some_and(|m| m.start() == 0 && m.end() == v.len()),
        };
        hit != self.invert
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vh(name: &str, domains: &[&str], prefix: &str) -> VirtualHost {
        VirtualHost {
            name: name.into(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            routes: vec![Route {
                name: name.into(),
                path: PathMatch::Prefix(prefix.into()),
                headers: vec![],
                action: RouteAction::Direct {
                    status: StatusCode::OK,
                    body: name.into(),
                },
                metadata: serde_json::Value::Null,
            }],
        }
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
        r.routes[0].path = PathMatch::Regex(Regex::new("/users/[0-9]+").unwrap());
        r.routes[0].headers = vec![HeaderMatcher {
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
