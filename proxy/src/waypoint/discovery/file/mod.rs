//! The static discovery file: services (hostname, VIPs, ports) and the endpoints behind them,
//! plus pods addressed directly. For meshes without a reachable control plane, and for tests.
//!
//! ```yaml
//! services:
//!   - hostname: reviews.shop.svc.cluster.local
//!     namespace: shop              # optional, informative
//!     vips: [10.96.0.10]
//!     ports:
//!       - port: 80                 # the service port (what `:authority` carries)
//!         target_port: 9080        # the pod port; defaults to `port`
//!         app_protocol: http       # optional: http, http2, grpc, tcp, tls… (no sniffing)
//!     endpoints:
//!       - address: 10.0.0.7        # pod IP
//!         mesh: true               # HBONE to 10.0.0.7:15008 (default true)
//!       - address: 10.0.0.8
//!         mesh: false              # plain TCP
//!         ports: {80: 8080}        # this pod listens elsewhere: service port → target port
//! workloads:                       # pods reached by their own IP, not through a service
//!   - address: 10.0.0.9
//!     mesh: false
//! ```
//!
//! Everything a typo could make wrong (an unknown key, a port that is not a number, the same
//! VIP:port twice, a pod that is both in and out of the mesh) is rejected with the file and the
//! field path, so a bad reload never replaces a good registry ([`watch`]).

pub mod watch;

#[cfg(test)]
mod tests;

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::{AppProtocol, Destination, Endpoint, Registry};
use crate::config::{syntax, ConfigError, FieldError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    services: Vec<Service>,
    #[serde(default)]
    workloads: Vec<Workload>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Service {
    hostname: String,
    #[serde(default)]
    #[allow(dead_code)] // Informative; accepted so files can mirror the mesh's naming.
    namespace: Option<String>,
    #[serde(default)]
    vips: Vec<IpAddr>,
    ports: Vec<Port>,
    #[serde(default)]
    endpoints: Vec<ServiceEndpoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Port {
    port: u16,
    target_port: Option<u16>,
    /// Istio's protocol names; absent: detected from the tunnel's first bytes.
    #[serde(default)]
    app_protocol: AppProtocol,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceEndpoint {
    address: IpAddr,
    #[serde(default = "in_mesh")]
    mesh: bool,
    /// Service port → this endpoint's target port, overriding the service's mapping.
    #[serde(default)]
    ports: BTreeMap<u16, u16>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Workload {
    address: IpAddr,
    #[serde(default = "in_mesh")]
    mesh: bool,
}

fn in_mesh() -> bool {
    true
}

/// Reads and validates the discovery file at `path`.
pub fn load(path: &Path) -> Result<Registry, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: file.clone(),
        source,
    })?;
    parse(&text, &file)
}

/// Parses discovery file text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Registry, ConfigError> {
    // Syntax first, so a broken document reports its line rather than a field path.
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| syntax(file, &e))?;
    if doc.is_null() {
        // A truncated file must not become an empty registry (every destination a 503).
        return Err(FieldError::new("", "the file is empty").in_file(file));
    }
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let parsed: File = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let reason = strip_yaml_path(&path, e.into_inner().to_string());
        FieldError::new(path, reason).in_file(file)
    })?;
    build(parsed).map_err(|e| e.in_file(file))
}

fn build(file: File) -> Result<Registry, FieldError> {
    let mut registry = Registry::default();
    // Which field first put each pod in (or out of) the mesh, to report contradictions.
    let mut pods: BTreeMap<IpAddr, (bool, String)> = BTreeMap::new();
    let mut vip_at: HashMap<SocketAddr, String> = HashMap::new();
    let mut host_at: HashMap<(String, u16), String> = HashMap::new();
    for (i, svc) in file.services.iter().enumerate() {
        let at = format!("services[{i}]");
        if svc.hostname.is_empty() || svc.hostname.contains([':', ' ', '/']) {
            return Err(FieldError::new(
                format!("{at}.hostname"),
                format!("{:?} is not a hostname", svc.hostname),
            ));
        }
        if svc.ports.is_empty() {
            return Err(FieldError::new(
                format!("{at}.ports"),
                "a service needs at least one port",
            ));
        }
        for (e, ep) in svc.endpoints.iter().enumerate() {
            let ep_at = format!("{at}.endpoints[{e}]");
            note_pod(&mut pods, ep.address, ep.mesh, &ep_at)?;
            for service_port in ep.ports.keys() {
                if !svc.ports.iter().any(|p| p.port == *service_port) {
                    return Err(FieldError::new(
                        format!("{ep_at}.ports.{service_port}"),
                        format!("the service has no port {service_port}"),
                    ));
                }
            }
        }
        for (p, port) in svc.ports.iter().enumerate() {
            let port_at = format!("{at}.ports[{p}]");
            let target = port.target_port.unwrap_or(port.port);
            if port.port == 0 || target == 0 {
                return Err(FieldError::new(port_at, "ports must be 1..=65535"));
            }
            let endpoints = svc
                .endpoints
                .iter()
                .map(|ep| Endpoint {
                    addr: SocketAddr::new(
                        ep.address,
                        ep.ports.get(&port.port).copied().unwrap_or(target),
                    ),
                    hbone: ep.mesh,
                })
                .collect();
            let dest = Arc::new(Destination {
                name: svc.hostname.clone(),
                port: port.port,
                endpoints,
                app_protocol: port.app_protocol,
            });
            let key = (svc.hostname.clone(), port.port);
            if let Some(first) = host_at.insert(key, port_at.clone()) {
                return Err(FieldError::new(
                    port_at,
                    format!(
                        "{}:{} is already defined at {first}",
                        svc.hostname, port.port
                    ),
                ));
            }
            registry
                .by_host
                .insert((svc.hostname.clone(), port.port), dest.clone());
            for (v, vip) in svc.vips.iter().enumerate() {
                let addr = SocketAddr::new(*vip, port.port);
                if let Some(first) = vip_at.insert(addr, format!("{at}.vips[{v}]")) {
                    return Err(FieldError::new(
                        format!("{at}.vips[{v}]"),
                        format!("{addr} is already a service address at {first}"),
                    ));
                }
                registry.by_vip.insert(addr, dest.clone());
            }
        }
    }
    for (i, w) in file.workloads.iter().enumerate() {
        note_pod(&mut pods, w.address, w.mesh, &format!("workloads[{i}]"))?;
    }
    registry.workloads = pods.into_iter().map(|(ip, (mesh, _))| (ip, mesh)).collect();
    Ok(registry)
}

/// Records a pod; the same IP listed twice must agree on being in the mesh.
fn note_pod(
    pods: &mut BTreeMap<IpAddr, (bool, String)>,
    ip: IpAddr,
    mesh: bool,
    at: &str,
) -> Result<(), FieldError> {
    match pods.entry(ip) {
        Entry::Vacant(v) => {
            v.insert((mesh, at.to_owned()));
            Ok(())
        }
        Entry::Occupied(o) if o.get().0 == mesh => Ok(()),
        Entry::Occupied(o) => Err(FieldError::new(
            format!("{at}.mesh"),
            format!("{ip} is listed with mesh: {} at {}", o.get().0, o.get().1),
        )),
    }
}

/// serde_yaml_ng prefixes its messages with the path serde_path_to_error reports too.
fn strip_yaml_path(path: &str, reason: String) -> String {
    match reason.split_once(": ") {
        Some((prefix, rest)) if !prefix.is_empty() && path.starts_with(prefix) => rest.to_owned(),
        _ => reason,
    }
}
