//! Upstream cluster IR.

use std::time::Duration;

use serde::Serialize;

use super::{DataSource, Metadata, Secret};
use crate::config::duration::serde_req as dur;

/// Envoy `Cluster`, reduced to what changes behaviour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    pub name: String,
    pub discovery: Discovery,
    /// At least one endpoint. For [`Discovery::Static`] every host is an IP literal.
    pub endpoints: Vec<Endpoint>,
    /// Envoy default 5 s.
    #[serde(with = "dur")]
    pub connect_timeout: Duration,
    pub lb: LbPolicy,
    /// Speak HTTP/2 (prior knowledge, or ALPN `h2` over TLS) to the endpoints.
    pub http2: bool,
    pub tls: Option<UpstreamTls>,
    pub circuit_breakers: CircuitBreakers,
    /// Re-resolution period for DNS clusters (Envoy `dns_refresh_rate`, default 5 s).
    #[serde(with = "dur")]
    pub dns_refresh_rate: Duration,
    /// Which resolved addresses DNS clusters use (Envoy `dns_lookup_family`).
    pub dns_lookup_family: DnsLookupFamily,
    /// `metadata.filter_metadata`, exposed to filters as `cluster_metadata`.
    pub metadata: Metadata,
}

/// How endpoint addresses become socket addresses (Envoy cluster `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discovery {
    /// IP literals, used as given.
    Static,
    /// Every address each host resolves to is an endpoint; re-resolved periodically.
    StrictDns,
    /// Connect to the first address the (single) host resolves to at connect time.
    LogicalDns,
}

/// Envoy `dns_lookup_family`. Unset means [`DnsLookupFamily::All`] (every address the
/// resolver returns), a deliberate deviation from Envoy's `AUTO` so that `localhost` keeps
/// reaching a server bound to either family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsLookupFamily {
    /// IPv6 addresses if there are any, else IPv4.
    Auto,
    /// IPv4 addresses if there are any, else IPv6.
    V4Preferred,
    V4Only,
    V6Only,
    #[default]
    All,
}

impl DnsLookupFamily {
    /// Keeps the addresses this family allows, in resolver order.
    pub fn filter(self, addrs: &mut Vec<std::net::SocketAddr>) {
        let any_v4 = addrs.iter().any(|a| a.is_ipv4());
        let any_v6 = addrs.iter().any(|a| a.is_ipv6());
        match self {
            DnsLookupFamily::All => {}
            DnsLookupFamily::V4Only => addrs.retain(|a| a.is_ipv4()),
            DnsLookupFamily::V6Only => addrs.retain(|a| a.is_ipv6()),
            DnsLookupFamily::Auto if any_v6 => addrs.retain(|a| a.is_ipv6()),
            DnsLookupFamily::V4Preferred if any_v4 => addrs.retain(|a| a.is_ipv4()),
            DnsLookupFamily::Auto | DnsLookupFamily::V4Preferred => {}
        }
    }
}

/// One upstream host. `weight` is Envoy's `load_balancing_weight` (default 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub weight: u32,
}

impl Endpoint {
    /// Parses `host:port`, `ip:port` or `[ipv6]:port` (weight 1).
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let bad = || format!("invalid endpoint {text:?} (expected host:port)");
        let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
        let host = match host.strip_prefix('[') {
            Some(v6) => v6.strip_suffix(']').ok_or_else(bad)?,
            None if host.contains(':') => return Err(bad()),
            None => host,
        };
        if host.is_empty() {
            return Err(bad());
        }
        let port = port.parse().map_err(|_| bad())?;
        Ok(Endpoint {
            host: host.to_owned(),
            port,
            weight: 1,
        })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Envoy `lb_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LbPolicy {
    RoundRobin,
    LeastRequest,
    Random,
}

/// Upstream (client-side) TLS, Envoy `UpstreamTlsContext`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpstreamTls {
    /// SNI sent; when `None`, no SNI is sent (as in Envoy) and the server certificate is
    /// verified against the endpoint host.
    pub sni: Option<String>,
    /// PEM CA bundle to verify the server; `None` uses the platform/webpki roots.
    pub ca: Option<DataSource>,
    /// Client certificate for mTLS to the upstream.
    pub client_cert: Option<(DataSource, Secret)>,
    /// ALPN offered; empty means `h2` when [`Cluster::http2`] else `http/1.1`.
    pub alpn: Vec<String>,
}

/// Envoy `circuit_breakers.thresholds` (default priority). Defaults are Envoy's (1024 each,
/// 3 concurrent retries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CircuitBreakers {
    pub max_connections: u32,
    pub max_pending_requests: u32,
    pub max_requests: u32,
    pub max_retries: u32,
}

impl Default for CircuitBreakers {
    fn default() -> Self {
        CircuitBreakers {
            max_connections: 1024,
            max_pending_requests: 1024,
            max_requests: 1024,
            max_retries: 3,
        }
    }
}

/// Envoy's defaults for what a cluster definition leaves out.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Envoy's default `dns_refresh_rate`.
pub const DEFAULT_DNS_REFRESH: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_lookup_family_filters_addresses() {
        let v4: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
        let v6: std::net::SocketAddr = "[::1]:1".parse().unwrap();
        let run = |f: DnsLookupFamily, a: &[std::net::SocketAddr]| {
            let mut a = a.to_vec();
            f.filter(&mut a);
            a
        };
        assert_eq!(run(DnsLookupFamily::V4Only, &[v6, v4]), vec![v4]);
        assert_eq!(run(DnsLookupFamily::V6Only, &[v6, v4]), vec![v6]);
        assert_eq!(run(DnsLookupFamily::V6Only, &[v4]), vec![]);
        assert_eq!(run(DnsLookupFamily::Auto, &[v4, v6]), vec![v6]);
        assert_eq!(run(DnsLookupFamily::Auto, &[v4]), vec![v4]);
        assert_eq!(run(DnsLookupFamily::V4Preferred, &[v6, v4]), vec![v4]);
        assert_eq!(run(DnsLookupFamily::All, &[v6, v4]), vec![v6, v4]);
    }

    #[test]
    fn endpoint_parse_and_display_round_trip() {
        for text in ["127.0.0.1:80", "backend.svc:8080", "[::1]:443"] {
            assert_eq!(Endpoint::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Endpoint::parse("[::1]:443").unwrap().host, "::1");
        for bad in ["nohost", ":80", "a:b", "::1:80", "h:70000", "[::1:80"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
