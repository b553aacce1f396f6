//! Ambient waypoint mode end to end, in-process on 127.0.0.1: an HBONE client presenting a
//! source SVID → the waypoint (real mTLS, HTTP/2 CONNECT, the HTTP or TCP stack inside) → a
//! new HBONE connection with the waypoint's identity → a test tunnel endpoint standing in for
//! the destination pod's → a real local server.

mod bad_input;
mod connect_headers;
mod ends;
mod hbone;
mod multiport;
mod pki;
mod ports;
mod protocol;
mod reload_failure;
mod sources;
mod tls;
mod tunnel;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use microwaf_proxy::app::App;
use microwaf_proxy::config;
use microwaf_proxy::waypoint::certs::CertStore;
use microwaf_proxy::waypoint::discovery::{Destination, Discovery, Endpoint, Publisher, Registry};
use microwaf_proxy::waypoint::MeshSources;

use hbone::{DestTunnel, HboneClient};
use pki::{MeshPki, CLIENT_ID, DEST_ID, WAYPOINT_ID};

/// The service the tests address, by VIP and by hostname.
pub const SVC: &str = "echo.shop.svc.cluster.local";
pub const VIP: &str = "10.96.0.10:80";

/// A running waypoint with its mesh around it.
pub struct Mesh {
    pub pki: MeshPki,
    pub app: App,
    pub publisher: Publisher,
    pub dest: DestTunnel,
    pub dir: PathBuf,
}

impl Mesh {
    /// Starts the waypoint with `extra` YAML lines inside the `waypoint:` section (indented by
    /// two spaces), a destination tunnel endpoint, and discovery not yet synced.
    pub async fn start(tag: &str, extra: &str) -> Mesh {
        Self::start_with_dest(tag, extra, DEST_ID).await
    }

    /// [`Mesh::start`] with the destination's tunnel endpoint presenting `dest_id`.
    pub async fn start_with_dest(tag: &str, extra: &str, dest_id: &str) -> Mesh {
        let pki = MeshPki::new("mesh root");
        let dest = DestTunnel::start(pki.store(dest_id, false, None)).await;
        let dir = std::env::temp_dir().join(format!("microwaf-wp-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let yaml = format!(
            "admin: 127.0.0.1:0\nwaypoint:\n  address: 127.0.0.1:0\n  health: 127.0.0.1:0\n  metrics: 127.0.0.1:0\n  trust_domain: cluster.local\n  hbone_port: {}\n  connect_timeout: 2s\n  access_log: access.log\n{extra}",
            dest.addr.port()
        );
        let cfg = config::parse(&yaml, "test.yaml", &dir).unwrap_or_else(|e| panic!("{e}"));
        let (publisher, discovery) = Discovery::channel();
        let sources = MeshSources {
            certs: pki.store(WAYPOINT_ID, false, None),
            discovery,
        };
        let app = App::start_mesh(cfg, sources)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Mesh {
            pki,
            app,
            publisher,
            dest,
            dir,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.app.waypoint_addr().expect("waypoint mode")
    }

    /// Publishes the service behind the VIP and the hostname with these endpoints
    /// (address, in the mesh).
    pub fn publish(&self, endpoints: &[(SocketAddr, bool)]) {
        let dest = Arc::new(Destination {
            name: SVC.into(),
            port: 80,
            endpoints: endpoints
                .iter()
                .map(|(addr, hbone)| Endpoint {
                    addr: *addr,
                    hbone: *hbone,
                })
                .collect(),
            app_protocol: Default::default(),
        });
        let mut r = Registry::default();
        r.by_vip.insert(VIP.parse().unwrap(), dest.clone());
        r.by_host.insert((SVC.into(), 80), dest);
        self.publisher.publish(r);
    }

    pub fn client_store(&self) -> Arc<CertStore> {
        self.pki.store(CLIENT_ID, false, None)
    }

    pub async fn client(&self) -> HboneClient {
        HboneClient::connect(self.addr(), self.client_store())
            .await
            .unwrap()
    }

    /// `/metrics` of the admin server.
    pub async fn metrics(&self) -> String {
        use crate::proxy::harness::{get, send};
        let admin = self.app.admin_addr().unwrap();
        send(admin, false, get("admin", "/metrics", false))
            .await
            .text()
    }

    /// `/metrics`, polled until it contains `needle` (request metrics are recorded when the
    /// response body is done, a moment after the client has it).
    pub async fn metrics_with(&self, needle: &str) -> String {
        let mut m = String::new();
        for _ in 0..100 {
            m = self.metrics().await;
            if m.contains(needle) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        m
    }

    /// The access log's lines, waiting briefly for `n` of them (lines are written when a
    /// response body is done).
    pub async fn access_log(&self, n: usize) -> Vec<serde_json::Value> {
        let mut lines = Vec::new();
        for _ in 0..100 {
            let text = std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default();
            lines = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            if lines.len() >= n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        lines
    }
}

impl Drop for Mesh {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A local TCP echo server (a raw TCP destination).
pub async fn echo_server() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}
