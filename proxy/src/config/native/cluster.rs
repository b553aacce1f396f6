//! Native clusters → IR.

use super::schema;
use crate::config::error::{FieldError, FieldResult};
use crate::config::files::{self, Resolver};
use crate::config::model::*;

pub fn cluster(c: schema::Cluster, at: &str, files: &Resolver) -> FieldResult<Cluster> {
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
        dns_lookup_family: c.dns_lookup_family,
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
