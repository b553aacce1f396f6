//! `static_resources.clusters[]` → [`Cluster`].

use super::typed::{metadata, typed};
use super::value::{At, Fields, Obj};
use crate::config::error::FieldResult;
use crate::config::files::{self, Resolver};
use crate::config::model::*;

const EFFECT: &str = "changes upstream selection";
const HTTP_OPTIONS: &str = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

pub fn cluster(at: &At, files: &Resolver) -> FieldResult<Cluster> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &[
            "name",
            "type",
            "connect_timeout",
            "lb_policy",
            "load_assignment",
            "http2_protocol_options",
            "typed_extension_protocol_options",
            "transport_socket",
            "circuit_breakers",
            "dns_refresh_rate",
            "metadata",
            "dns_lookup_family",
        ],
        cosmetic: &[
            "alt_stat_name",
            "per_connection_buffer_limit_bytes",
            "common_lb_config",
            "respect_dns_ttl",
            "upstream_connection_options",
            "http_protocol_options",
            "common_http_protocol_options",
            "typed_dns_resolver_config",
            "dns_resolvers",
            "use_tcp_for_dns_lookups",
            "track_cluster_stats",
            "ignore_health_on_host_removal",
            "close_connections_on_host_health_failure",
            "least_request_lb_config",
            "round_robin_lb_config",
        ],
        ignored: &["health_checks", "outlier_detection", "upstream_bind_config"],
        effect: EFFECT,
    })?;
    let name = o.req("name")?.str()?.to_owned();
    let discovery = match o.get("type") {
        Some(t) => t.one_of(&[
            ("STATIC", Discovery::Static),
            ("STRICT_DNS", Discovery::StrictDns),
            ("LOGICAL_DNS", Discovery::LogicalDns),
        ])?,
        None => Discovery::Static,
    };
    let dns_lookup_family = match o.get("dns_lookup_family") {
        Some(family) => family.one_of(&[
            ("AUTO", DnsLookupFamily::Auto),
            ("V4_ONLY", DnsLookupFamily::V4Only),
            ("V6_ONLY", DnsLookupFamily::V6Only),
            ("V4_PREFERRED", DnsLookupFamily::V4Preferred),
            ("ALL", DnsLookupFamily::All),
        ])?,
        None => DnsLookupFamily::All,
    };
    let endpoints = endpoints(&o.req("load_assignment")?)?;
    for (ep, field) in &endpoints {
        if discovery == Discovery::Static {
            files::check_static_endpoint(ep, field)?;
        }
    }
    if discovery == Discovery::LogicalDns && endpoints.len() != 1 {
        return Err(o
            .req("load_assignment")?
            .err("a LOGICAL_DNS cluster takes exactly one endpoint"));
    }
    Ok(Cluster {
        name,
        discovery,
        endpoints: endpoints.into_iter().map(|(e, _)| e).collect(),
        connect_timeout: o
            .get("connect_timeout")
            .map(|t| t.duration())
            .transpose()?
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        lb: match o.get("lb_policy") {
            Some(p) => p.one_of(&[
                ("ROUND_ROBIN", LbPolicy::RoundRobin),
                ("LEAST_REQUEST", LbPolicy::LeastRequest),
                ("RANDOM", LbPolicy::Random),
            ])?,
            None => LbPolicy::RoundRobin,
        },
        http2: http2(&o)?,
        tls: o
            .get("transport_socket")
            .map(|t| super::tls::upstream(&t, files))
            .transpose()?,
        circuit_breakers: o
            .get("circuit_breakers")
            .map(|c| circuit_breakers(&c))
            .transpose()?
            .unwrap_or_default(),
        dns_refresh_rate: o
            .get("dns_refresh_rate")
            .map(|t| t.duration())
            .transpose()?
            .unwrap_or(DEFAULT_DNS_REFRESH),
        dns_lookup_family,
        metadata: o
            .get("metadata")
            .map(|m| metadata(&m))
            .transpose()?
            .unwrap_or_default(),
    })
}

/// `load_assignment.endpoints[].lb_endpoints[].endpoint.address.socket_address`, each with the
/// path of its address for later errors.
fn endpoints(at: &At) -> FieldResult<Vec<(Endpoint, String)>> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &["endpoints"],
        cosmetic: &["cluster_name", "policy"],
        ignored: &[],
        effect: EFFECT,
    })?;
    let mut out = Vec::new();
    for locality in o.req("endpoints")?.list()? {
        let lo = locality.obj()?;
        lo.fields(&Fields {
            known: &["lb_endpoints"],
            cosmetic: &["locality", "load_balancing_weight"],
            ignored: &[],
            effect: EFFECT,
        })?;
        for lb in lo.req("lb_endpoints")?.list()? {
            let lbo = lb.obj()?;
            lbo.fields(&Fields {
                known: &["endpoint", "load_balancing_weight"],
                cosmetic: &["health_status", "metadata"],
                ignored: &[],
                effect: EFFECT,
            })?;
            let ep = lbo.req("endpoint")?.obj()?;
            ep.fields(&Fields {
                known: &["address"],
                cosmetic: &["hostname", "health_check_config"],
                ignored: &[],
                effect: EFFECT,
            })?;
            let address = ep.req("address")?;
            let (host, port) = socket_address(&address)?;
            let weight = lbo
                .get("load_balancing_weight")
                .map(|w| w.u32_wrapper())
                .transpose()?
                .unwrap_or(1);
            // Equal weights balance exactly like no weights; different ones would need a
            // weighted balancer, which we do not have: refuse rather than ignore them.
            if out
                .first()
                .is_some_and(|(first, _): &(Endpoint, String)| first.weight != weight)
            {
                return Err(lbo.unsupported(
                    "load_balancing_weight",
                    "changes routing: endpoints with different weights",
                ));
            }
            out.push((Endpoint { host, port, weight }, address.path().to_owned()));
        }
    }
    if out.is_empty() {
        return Err(o.err("at least one endpoint is required"));
    }
    Ok(out)
}

/// `address.socket_address` → (host, port). Shared with listeners.
pub fn socket_address(at: &At) -> FieldResult<(String, u16)> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &["socket_address"],
        cosmetic: &[],
        ignored: &[],
        effect: "only socket addresses are supported",
    })?;
    let sa = o.req("socket_address")?.obj()?;
    sa.fields(&Fields {
        known: &["address", "port_value", "protocol"],
        cosmetic: &["ipv4_compat", "resolver_name"],
        ignored: &[],
        effect: "changes the address",
    })?;
    if let Some(p) = sa.get("protocol") {
        p.one_of(&[("TCP", ())])?;
    }
    let host = sa.req("address")?.str()?.to_owned();
    let port_at = sa.req("port_value")?;
    let port = u16::try_from(port_at.u64()?).map_err(|_| port_at.err("port out of range"))?;
    Ok((host, port))
}

/// Whether the upstream speaks HTTP/2: `http2_protocol_options` (older form) or
/// `typed_extension_protocol_options` with `explicit_http_config.http2_protocol_options`.
fn http2(o: &Obj) -> FieldResult<bool> {
    let mut h2 = o.get("http2_protocol_options").is_some();
    let Some(ext) = o.get("typed_extension_protocol_options") else {
        return Ok(h2);
    };
    let ext = ext.obj()?;
    for key in ext.map.keys() {
        let entry = ext.req(key)?;
        let (ty, opts) = typed(&entry)?;
        if key != "envoy.extensions.upstreams.http.v3.HttpProtocolOptions" || ty != HTTP_OPTIONS {
            return Err(ext.unsupported(key, EFFECT));
        }
        opts.fields(&Fields {
            known: &["explicit_http_config"],
            cosmetic: &[
                "common_http_protocol_options",
                "upstream_http_protocol_options",
            ],
            ignored: &[],
            effect: "changes the upstream protocol",
        })?;
        let explicit = opts.req("explicit_http_config")?.obj()?;
        explicit.fields(&Fields {
            known: &["http2_protocol_options", "http_protocol_options"],
            cosmetic: &[],
            ignored: &[],
            effect: "changes the upstream protocol",
        })?;
        h2 = explicit.get("http2_protocol_options").is_some();
    }
    Ok(h2)
}

/// `circuit_breakers.thresholds`: the DEFAULT-priority entry (HIGH-priority entries apply to
/// traffic we never mark high priority, so they are accepted and unused).
fn circuit_breakers(at: &At) -> FieldResult<CircuitBreakers> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &["thresholds"],
        cosmetic: &["per_host_thresholds"],
        ignored: &[],
        effect: EFFECT,
    })?;
    let mut cb = CircuitBreakers::default();
    for t in o.items("thresholds")? {
        let t = t.obj()?;
        t.fields(&Fields {
            known: &[
                "priority",
                "max_connections",
                "max_pending_requests",
                "max_requests",
                "max_retries",
            ],
            cosmetic: &["track_remaining", "retry_budget", "max_connection_pools"],
            ignored: &[],
            effect: EFFECT,
        })?;
        let priority = t
            .get("priority")
            .map(|p| p.one_of(&[("DEFAULT", true), ("HIGH", false)]))
            .transpose()?;
        if priority == Some(false) {
            continue;
        }
        let get = |k: &str, d: u32| {
            t.get(k)
                .map(|v| v.u32_wrapper())
                .transpose()
                .map(|v| v.unwrap_or(d))
        };
        cb = CircuitBreakers {
            max_connections: get("max_connections", cb.max_connections)?,
            max_pending_requests: get("max_pending_requests", cb.max_pending_requests)?,
            max_requests: get("max_requests", cb.max_requests)?,
            max_retries: get("max_retries", cb.max_retries)?,
        };
    }
    Ok(cb)
}
