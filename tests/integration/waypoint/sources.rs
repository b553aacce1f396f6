//! The configured sources at serve level: an [`App`] started from a configuration *file* alone
//! follows its discovery file, its certificate files and the control plane without restart.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use microwaf_proxy::app::App;
use microwaf_proxy::waypoint::discovery::xds::fake::{service, workload, FakeControlPlane};
use microwaf_proxy::waypoint::tls;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::hbone::{http_in_tunnel, Connect, DestTunnel, HboneClient};
use super::pki::{MeshPki, CLIENT_ID, DEST_ID, TD, WAYPOINT_ID};
use super::{SVC, VIP};
use crate::proxy::harness::{get, send, upstream};

/// The xDS name of [`SVC`].
pub const SVC_KEY: &str = "shop/echo.shop.svc.cluster.local";

/// A discovery file putting [`SVC`] (VIP and hostname, port 80) on one in-mesh endpoint.
pub fn services_file(endpoint: SocketAddr) -> String {
    format!(
        "services:\n  - hostname: {SVC}\n    vips: [10.96.0.10]\n    ports: [{{port: 80, target_port: {}}}]\n    endpoints: [{{address: {}, mesh: true}}]\n",
        endpoint.port(),
        endpoint.ip()
    )
}

/// A temporary directory with the waypoint's certificate files and a `test.yaml` whose
/// waypoint section ends with `discovery`, started with [`App::start`] from the parsed file.
pub struct Served {
    pub app: App,
    pub pki: MeshPki,
    pub dest: DestTunnel,
    pub dir: std::path::PathBuf,
}

impl Served {
    pub async fn start(tag: &str, discovery: &str, prepare: impl FnOnce(&Path)) -> Served {
        let pki = MeshPki::new("sources root");
        let dir =
            std::env::temp_dir().join(format!("microwaf-wp-src-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        pki.pem_files(WAYPOINT_ID, &dir);
        prepare(&dir);
        let dest = DestTunnel::start(pki.store(DEST_ID, false, None)).await;
        let yaml = format!(
            "admin: 127.0.0.1:0\nwaypoint:\n  address: 127.0.0.1:0\n  health: 127.0.0.1:0\n  metrics: 127.0.0.1:0\n  hbone_port: {}\n  connect_timeout: 2s\n  certs: {{cert: cert.pem, key: key.pem, root: root.pem}}\n  discovery: {discovery}\n",
            dest.addr.port()
        );
        let path = dir.join("test.yaml");
        std::fs::write(&path, yaml).unwrap();
        let cfg = microwaf_proxy::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let app = App::start(cfg).await.unwrap_or_else(|e| panic!("{e}"));
        Served {
            app,
            pki,
            dest,
            dir,
        }
    }

    async fn client(&self) -> HboneClient {
        let addr = self.app.waypoint_addr().unwrap();
        HboneClient::connect(addr, self.pki.store(CLIENT_ID, false, None))
            .await
            .unwrap()
    }

    /// Which upstream answers a request to the VIP, or the refusal.
    pub async fn answer(&self) -> String {
        match self.client().await.connect_stream(VIP).await {
            Connect::Tunnel(t) => http_in_tunnel(t, false, get(SVC, "/name", false))
                .await
                .text(),
            Connect::Refused(s, body) => format!("{s} {body}"),
        }
    }

    /// Polls [`answer`](Self::answer) until it is `want` (sources poll files every second).
    pub async fn until_answer(&self, want: &str) {
        let mut last = String::new();
        for _ in 0..100 {
            last = self.answer().await;
            if last == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never answered {want:?}; last {last:?}");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn an_edited_discovery_file_routes_new_tunnels_without_restart() {
    let (one, two) = (upstream("one").await, upstream("two").await);
    let s = Served::start("file", "{file: services.yaml}", |dir| {
        std::fs::write(dir.join("services.yaml"), services_file(one)).unwrap();
    })
    .await;
    assert!(
        s.app.ready.is_ready(),
        "a file is read before start returns"
    );
    assert_eq!(s.answer().await, "one");
    std::fs::write(s.dir.join("services.yaml"), services_file(two)).unwrap();
    s.until_answer("two").await;
}

/// The leaf the waypoint's HBONE listener presents to a new handshake.
async fn presented_leaf(s: &Served) -> Vec<u8> {
    let addr = s.app.waypoint_addr().unwrap();
    let cfg = tls::client_config(s.pki.store(CLIENT_ID, false, None), TD).unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(cfg)
        .connect(ServerName::IpAddress(addr.ip().into()), tcp)
        .await
        .unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

#[tokio::test]
async fn replaced_cert_files_serve_new_handshakes_while_open_tunnels_continue() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    let s = Served::start("certs", "{file: services.yaml}", |dir| {
        std::fs::write(dir.join("services.yaml"), services_file(echo)).unwrap();
    })
    .await;
    let before = presented_leaf(&s).await;
    let mut open =
        hyper_util::rt::TokioIo::new(s.client().await.connect_stream(VIP).await.tunnel());
    let mut buf = [0u8; 5];
    open.write_all(b"ping1").await.unwrap();
    open.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping1");
    assert_eq!(s.dest.peers.lock().unwrap().as_slice(), [WAYPOINT_ID]);

    const NEXT_ID: &str = "spiffe://cluster.local/ns/shop/sa/waypoint-next";
    s.pki.pem_files(NEXT_ID, &s.dir);
    let mut after = before.clone();
    for _ in 0..100 {
        after = presented_leaf(&s).await;
        if after != before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(after, before, "new handshakes present the replaced leaf");
    assert_eq!(
        s.app.waypoint().unwrap().certs.current().id.to_string(),
        NEXT_ID
    );

    // A new tunnel reaches the destination with the new identity (and drops the pools of
    // the old one), while the tunnel opened before the swap still carries bytes.
    let mut fresh =
        hyper_util::rt::TokioIo::new(s.client().await.connect_stream(VIP).await.tunnel());
    fresh.write_all(b"ping3").await.unwrap();
    fresh.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping3");
    assert_eq!(
        s.dest.peers.lock().unwrap().last().map(String::as_str),
        Some(NEXT_ID)
    );
    open.write_all(b"ping2").await.unwrap();
    open.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping2");
    // Once the old tunnel ends, its outbound connection (old identity, pruned) closes.
    drop(open);
    let metrics = s.app.metrics_addr().unwrap();
    let mut text = String::new();
    for _ in 0..100 {
        text = send(metrics, false, get("mesh", "/metrics", false))
            .await
            .text();
        if text.contains("microwaf_waypoint_outbound_connections_active 1\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        text.contains("microwaf_waypoint_outbound_connections_active 1\n"),
        "{text}"
    );
    drop(fresh);
}

#[tokio::test]
async fn xds_discovery_is_not_ready_before_the_first_sync_and_follows_pushes() {
    let (one, two) = (upstream("one").await, upstream("two").await);
    // A port with no control plane yet: the client keeps reconnecting.
    let cp_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = Served::start(
        "xds",
        &format!("{{xds: {{address: 'http://{cp_addr}', connect_timeout: 1s}}}}"),
        |_| {},
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!s.app.ready.is_ready(), "not ready before the first sync");
    let refused = s.answer().await;
    assert!(refused.starts_with("503"), "{refused}");

    let fake = FakeControlPlane::start_on(cp_addr, None).await.unwrap();
    let publish = |target: SocketAddr| {
        let port = u32::from(target.port());
        fake.set(SVC_KEY, service("shop", SVC, "10.96.0.10", &[(80, port)]));
        fake.set(
            "pod-1",
            workload("pod-1", "127.0.0.1", true, &[(SVC_KEY, &[(80, port)])]),
        );
    };
    publish(one);
    for _ in 0..100 {
        if s.app.ready.is_ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(s.app.ready.is_ready(), "ready after the first sync");
    s.until_answer("one").await;
    publish(two);
    s.until_answer("two").await;
}

#[tokio::test]
async fn a_reload_naming_another_discovery_file_switches_sources() {
    let (one, two) = (upstream("one").await, upstream("two").await);
    let s = Served::start("reload", "{file: services.yaml}", |dir| {
        std::fs::write(dir.join("services.yaml"), services_file(one)).unwrap();
        std::fs::write(dir.join("other.yaml"), services_file(two)).unwrap();
    })
    .await;
    assert_eq!(s.answer().await, "one");
    let path = s.dir.join("test.yaml");
    let yaml = std::fs::read_to_string(&path)
        .unwrap()
        .replace("services.yaml", "other.yaml");
    std::fs::write(&path, yaml).unwrap();
    s.app
        .reload(microwaf_proxy::config::load(&path).unwrap())
        .unwrap();
    s.until_answer("two").await;
    // The old source is stopped: editing its file changes nothing any more.
    std::fs::write(s.dir.join("services.yaml"), services_file(one)).unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(s.answer().await, "two");
}
