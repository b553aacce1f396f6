//! The client's copy of the control plane's resources, and the [`Registry`] built from it.
//!
//! A delta response is applied all or nothing: every resource is decoded and checked first,
//! so a response the client NACKs leaves the state exactly as it was. Resources are kept
//! decoded into the little the waypoint needs (addresses, ports and their protocols, tunnel
//! protocol), which also means a bad address is caught at apply time, not when a tunnel
//! arrives.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use prost::Message;

use super::proto::{
    address, Address, DeltaDiscoveryResponse, Port, TunnelProtocol, WorkloadStatus,
    ADDRESS_TYPE_URL,
};
use crate::waypoint::discovery::{AppProtocol, Destination, Endpoint, Registry};

/// Why a response was rejected (the NACK's message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resource {name:?}: {reason}")]
pub struct ResourceError {
    pub name: String,
    pub reason: String,
}

/// The resources held: xDS name → version and content. Ordered, so registries are built
/// deterministically.
#[derive(Debug, Default)]
pub struct State {
    resources: BTreeMap<String, Held>,
}

#[derive(Debug)]
struct Held {
    version: String,
    entry: Entry,
}

#[derive(Debug)]
enum Entry {
    Workload(Pod),
    Service(Svc),
}

#[derive(Debug)]
struct Pod {
    ips: Vec<IpAddr>,
    hbone: bool,
    healthy: bool,
    /// `namespace/hostname` → service port → this pod's target port (0: the service's).
    services: HashMap<String, HashMap<u16, u16>>,
}

#[derive(Debug)]
struct Svc {
    key: String,
    hostname: String,
    vips: Vec<IpAddr>,
    /// Service port → target port (0: only the pods' own mapping applies), and what the
    /// port carries.
    ports: Vec<(u16, u16, AppProtocol)>,
}

impl State {
    /// Applies a delta: added/updated resources, then removals. On error nothing changed.
    pub fn apply(&mut self, response: &DeltaDiscoveryResponse) -> Result<(), ResourceError> {
        let mut decoded = Vec::with_capacity(response.resources.len());
        for r in &response.resources {
            let fail = |reason: String| ResourceError {
                name: r.name.clone(),
                reason,
            };
            let any = r
                .resource
                .as_ref()
                .ok_or_else(|| fail("no resource body".into()))?;
            if any.type_url != ADDRESS_TYPE_URL {
                return Err(fail(format!("unexpected type {:?}", any.type_url)));
            }
            let address = Address::decode(any.value.as_slice())
                .map_err(|e| fail(format!("cannot decode: {e}")))?;
            let entry = entry(address).map_err(fail)?;
            decoded.push((
                r.name.clone(),
                Held {
                    version: r.version.clone(),
                    entry,
                },
            ));
        }
        self.resources.extend(decoded);
        for name in &response.removed_resources {
            self.resources.remove(name);
        }
        Ok(())
    }

    /// Name → version of everything held: the `initial_resource_versions` of a reconnect.
    pub fn versions(&self) -> HashMap<String, String> {
        self.resources
            .iter()
            .map(|(n, h)| (n.clone(), h.version.clone()))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.resources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The data plane's view: each service port's endpoints are the healthy pods that name
    /// the service, at their target port; every pod is also addressable by its own IP.
    pub fn registry(&self) -> Registry {
        let mut registry = Registry::default();
        let pods: Vec<&Pod> = self
            .resources
            .values()
            .filter_map(|h| match &h.entry {
                Entry::Workload(p) => Some(p),
                Entry::Service(_) => None,
            })
            .collect();
        for pod in &pods {
            for ip in &pod.ips {
                registry.workloads.insert(*ip, pod.hbone);
            }
        }
        for held in self.resources.values() {
            let Entry::Service(svc) = &held.entry else {
                continue;
            };
            for &(service_port, target_port, app_protocol) in &svc.ports {
                let mut endpoints: Vec<Endpoint> = pods
                    .iter()
                    .filter(|p| p.healthy)
                    .filter_map(|p| {
                        let own = p.services.get(&svc.key)?;
                        let port = match own.get(&service_port) {
                            Some(&t) if t != 0 => t,
                            _ => target_port,
                        };
                        // One endpoint per pod: a dual-stack pod is still one backend.
                        let ip = *p.ips.first()?;
                        (port != 0).then_some(Endpoint {
                            addr: SocketAddr::new(ip, port),
                            hbone: p.hbone,
                        })
                    })
                    .collect();
                endpoints.sort_by_key(|e| e.addr);
                let dest = Arc::new(Destination {
                    name: svc.hostname.clone(),
                    port: service_port,
                    endpoints,
                    app_protocol,
                });
                registry
                    .by_host
                    .insert((svc.hostname.clone(), service_port), dest.clone());
                for vip in &svc.vips {
                    registry
                        .by_vip
                        .insert(SocketAddr::new(*vip, service_port), dest.clone());
                }
            }
        }
        registry
    }
}

fn entry(address: Address) -> Result<Entry, String> {
    match address.r#type {
        None => Err("an Address with neither workload nor service".into()),
        Some(address::Type::Workload(w)) => {
            let ips = w
                .addresses
                .iter()
                .map(|a| ip(a))
                .collect::<Result<Vec<_>, _>>()?;
            let mut services = HashMap::new();
            for (key, list) in &w.services {
                services.insert(key.clone(), port_map(&list.ports)?);
            }
            Ok(Entry::Workload(Pod {
                ips,
                hbone: w.tunnel_protocol == TunnelProtocol::Hbone as i32,
                healthy: w.status != WorkloadStatus::Unhealthy as i32,
                services,
            }))
        }
        Some(address::Type::Service(s)) => {
            if s.hostname.is_empty() {
                return Err("a service without hostname".into());
            }
            let vips = s
                .addresses
                .iter()
                .map(|a| ip(&a.address))
                .collect::<Result<Vec<_>, _>>()?;
            let ports = s
                .ports
                .iter()
                .map(|p| {
                    let proto = app_protocol(p.app_protocol);
                    Ok((port(p.service_port)?, port(p.target_port)?, proto))
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(Entry::Service(Svc {
                key: format!("{}/{}", s.namespace, s.hostname),
                hostname: s.hostname,
                vips,
                ports,
            }))
        }
    }
}

/// A port's declared protocol. A number this version does not know (a newer control plane) is
/// `Unknown`: sniffing is always safe, a NACK for it would not be.
fn app_protocol(n: i32) -> AppProtocol {
    use super::proto::AppProtocol as Wire;
    match Wire::try_from(n) {
        Ok(Wire::Http11) => AppProtocol::Http,
        Ok(Wire::Http2) => AppProtocol::Http2,
        Ok(Wire::Grpc) => AppProtocol::Grpc,
        Ok(Wire::Tcp) => AppProtocol::Tcp,
        Ok(Wire::Tls) => AppProtocol::Tls,
        Ok(Wire::Unknown) | Err(_) => AppProtocol::Unknown,
    }
}

fn port_map(ports: &[Port]) -> Result<HashMap<u16, u16>, String> {
    ports
        .iter()
        .map(|p| Ok((port(p.service_port)?, port(p.target_port)?)))
        .collect()
}

fn port(p: u32) -> Result<u16, String> {
    u16::try_from(p).map_err(|_| format!("port {p} out of range"))
}

fn ip(bytes: &[u8]) -> Result<IpAddr, String> {
    match bytes.len() {
        4 => Ok(IpAddr::from(<[u8; 4]>::try_from(bytes).unwrap_or_default())),
        16 => Ok(IpAddr::from(
            <[u8; 16]>::try_from(bytes).unwrap_or_default(),
        )),
        n => Err(format!("an IP address of {n} bytes")),
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
