//! The waypoint variants: `microwaf serve` with only a `waypoint:` section, its SVID from the
//! run's [`BenchPki`], and a discovery file mapping one service VIP to the built-in upstream as
//! a non-mesh endpoint (plain TCP from the waypoint). The load generator reaches the upstream
//! as a pod would reach a service in an ambient mesh: an HBONE tunnel to the waypoint with the
//! VIP as the tunnel's destination.
//!
//! With `mesh_endpoint` the endpoint is in the mesh instead: an in-process [`Terminator`]
//! stands in for the destination's tunnel endpoint, so the waypoint opens HBONE of its own to
//! it (the full ambient path: source tunnel → waypoint → destination tunnel).
//!
//! The VIP is only ever a name in `:authority` and in the discovery file; nothing connects to
//! it (the waypoint resolves it to the upstream on loopback).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::hbone::HboneTarget;
use super::pki::{BenchPki, PkiError, TRUST_DOMAIN};
use super::terminator::Terminator;
use super::FilterSpec;

/// The service address tunnels name (a ClusterIP-style VIP and port).
pub const VIP: &str = "10.96.0.10:80";
/// The service's hostname in the discovery file.
pub const SERVICE: &str = "upstream.bench.svc.cluster.local";

/// The mesh around the waypoint children of one run.
pub struct WaypointSetup {
    pki: BenchPki,
    discovery: PathBuf,
    vip: SocketAddr,
    /// The destination's tunnel endpoint when the upstream is a mesh endpoint.
    terminator: Option<Terminator>,
}

impl std::fmt::Debug for WaypointSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaypointSetup")
            .field("discovery", &self.discovery)
            .field("vip", &self.vip)
            .finish_non_exhaustive()
    }
}

impl WaypointSetup {
    /// Generates the PKI and writes the discovery file into `dir`; with `mesh_endpoint`,
    /// starts the terminator in front of `upstream`.
    pub fn create(dir: &Path, upstream: SocketAddr, mesh_endpoint: bool) -> Result<Self, PkiError> {
        let pki = BenchPki::generate(dir)?;
        let vip: SocketAddr = VIP.parse().expect("the VIP constant is an address");
        let discovery = dir.join("mesh-services.yaml");
        let terminator = mesh_endpoint
            .then(|| Terminator::start(pki.dest_server.clone(), upstream))
            .transpose()
            .map_err(PkiError::Terminator)?;
        let yaml = discovery_yaml(vip, upstream, terminator.is_some());
        std::fs::write(&discovery, yaml).map_err(|source| PkiError::Write {
            path: discovery.clone(),
            source,
        })?;
        Ok(Self {
            pki,
            discovery,
            vip,
            terminator,
        })
    }

    /// The destination tunnels ask for.
    pub fn vip(&self) -> SocketAddr {
        self.vip
    }

    /// Tunnels to the waypoint listening on `waypoint`.
    pub fn target(&self, waypoint: SocketAddr) -> HboneTarget {
        HboneTarget {
            waypoint,
            authority: self.vip.to_string(),
            tls: self.pki.client.clone(),
        }
    }

    /// The native configuration of a waypoint child on `listen` with `filters` on the HTTP
    /// inside tunnels.
    pub fn config_yaml(&self, listen: SocketAddr, filters: &[FilterSpec]) -> String {
        let filters: Vec<_> = filters
            .iter()
            .enumerate()
            .map(|(i, f)| json!({"name": format!("filter{i}"), "code": f.path, "config": f.config}))
            .collect();
        let certs = &self.pki.waypoint;
        // Mesh endpoints get HBONE to `podIP:hbone_port`: the terminator's port.
        let hbone_port = self.terminator.as_ref().map_or(15008, |t| t.addr().port());
        let doc = json!({
            "waypoint": {
                "address": listen.to_string(),
                "trust_domain": TRUST_DOMAIN,
                "hbone_port": hbone_port,
                "http_filters": filters,
                "certs": {"cert": certs.cert, "key": certs.key, "root": certs.root},
                "discovery": {"file": self.discovery},
                // Ephemeral loopback mesh ports: several children run side by side.
                "health": "127.0.0.1:0",
                "metrics": "127.0.0.1:0",
            },
        });
        serde_yaml_ng::to_string(&doc).expect("a JSON value always serializes to YAML")
    }
}

/// One service: the VIP maps to the upstream on one endpoint, in the mesh or not (the format
/// of `waypoint.discovery.file`, docs/discovery.md).
fn discovery_yaml(vip: SocketAddr, upstream: SocketAddr, mesh: bool) -> String {
    let doc = json!({
        "services": [{
            "hostname": SERVICE,
            "vips": [vip.ip().to_string()],
            "ports": [{"port": vip.port(), "target_port": upstream.port()}],
            "endpoints": [{"address": upstream.ip().to_string(), "mesh": mesh}],
        }],
    });
    serde_yaml_ng::to_string(&doc).expect("a JSON value always serializes to YAML")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_registry(path: &Path) -> std::sync::Arc<crate::waypoint::discovery::Registry> {
        let r = crate::waypoint::discovery::file::load(path).unwrap_or_else(|e| panic!("{e}"));
        std::sync::Arc::new(r)
    }

    #[test]
    fn generated_waypoint_config_and_discovery_load() {
        let dir = std::env::temp_dir().join(format!("microwaf-bench-wp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let up: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let setup = WaypointSetup::create(&dir, up, false).unwrap();
        let yaml = setup.config_yaml("127.0.0.1:8".parse().unwrap(), &[]);
        let cfg = crate::config::parse(&yaml, "wp.yaml", &dir).unwrap_or_else(|e| panic!("{e}"));
        let dump = serde_json::to_value(&cfg).unwrap();
        assert_eq!(dump["waypoint"]["address"], "127.0.0.1:8", "{dump:#}");
        let registry = load_registry(&setup.discovery);
        let dest = registry.by_vip.get(&setup.vip()).expect("VIP resolves");
        assert_eq!(dest.endpoints.len(), 1);
        assert_eq!(dest.endpoints[0].addr, up);
        assert!(!dest.endpoints[0].hbone, "a plain TCP endpoint");
        assert_eq!(setup.target("127.0.0.1:8".parse().unwrap()).authority, VIP);

        let mesh = WaypointSetup::create(&dir, up, true).unwrap();
        let yaml = mesh.config_yaml("127.0.0.1:8".parse().unwrap(), &[]);
        let cfg = crate::config::parse(&yaml, "wp.yaml", &dir).unwrap_or_else(|e| panic!("{e}"));
        let dump = serde_json::to_value(&cfg).unwrap();
        let port = mesh.terminator.as_ref().unwrap().addr().port();
        assert_eq!(
            dump["waypoint"]["hbone_port"], port,
            "HBONE to the terminator"
        );
        let registry = load_registry(&mesh.discovery);
        let dest = registry.by_vip.get(&mesh.vip()).unwrap();
        assert!(dest.endpoints[0].hbone, "a mesh endpoint");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
