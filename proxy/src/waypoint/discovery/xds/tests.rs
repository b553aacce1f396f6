//! The client against the in-process fake control plane, over real HTTP/2 on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::fake::{service, workload, FakeControlPlane, Seen};
use super::proto::Any;
use super::*;
use crate::waypoint::discovery::{start, Discovery, DiscoveryConfig, Registry, XdsConfig};

const REVIEWS: &str = "shop/reviews.shop.svc.cluster.local";
const RATINGS: &str = "shop/ratings.shop.svc.cluster.local";

fn xds(addr: &str) -> XdsConfig {
    XdsConfig {
        address: addr.into(),
        root: None,
        server_name: None,
        token_file: None,
        node_id: Some("waypoint~10.0.0.5~wp.shop~shop.svc.cluster.local".into()),
        cluster: None,
        connect_timeout: Some(Duration::from_secs(2)),
    }
}

fn populate(fake: &FakeControlPlane) {
    fake.set(
        REVIEWS,
        service(
            "shop",
            "reviews.shop.svc.cluster.local",
            "10.96.0.10",
            &[(80, 9080)],
        ),
    );
    fake.set(
        RATINGS,
        service(
            "shop",
            "ratings.shop.svc.cluster.local",
            "10.96.0.11",
            &[(80, 9080)],
        ),
    );
    fake.set(
        "pod-a",
        workload("pod-a", "10.0.0.7", true, &[(REVIEWS, &[])]),
    );
    fake.set(
        "pod-r",
        workload("pod-r", "10.0.0.20", false, &[(RATINGS, &[])]),
    );
}

async fn next(d: &mut Discovery) -> Arc<Registry> {
    let changed = tokio::time::timeout(Duration::from_secs(5), d.changed()).await;
    assert!(changed.expect("a new snapshot in time"), "publisher alive");
    d.current().expect("published")
}

async fn request(fake: &FakeControlPlane) -> Seen {
    fake.next_request().await.expect("a request in time")
}

/// Snapshots until one satisfies `done` (a restarted fake may answer before it is filled).
async fn until(d: &mut Discovery, done: impl Fn(&Registry) -> bool) -> Arc<Registry> {
    for _ in 0..10 {
        if let Some(r) = d.current().filter(|r| done(r)) {
            return r;
        }
        next(d).await;
    }
    panic!("no matching snapshot");
}

fn endpoints(r: &Registry, authority: &str) -> Vec<String> {
    r.resolve(authority)
        .map(|d| d.endpoints.iter().map(|e| e.addr.to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn syncs_updates_and_nacks_malformed_resources() {
    let fake = FakeControlPlane::start(None).await.unwrap();
    populate(&fake);
    let (publisher, mut d) = Discovery::channel();
    let cfg = DiscoveryConfig::Xds(xds(&format!("http://{}", fake.addr)));
    let task = start(&cfg, Path::new("."), publisher).await.unwrap();

    // Initial request: node id, type, nothing held yet.
    let first = request(&fake).await.request;
    assert_eq!(first.type_url, ADDRESS_TYPE_URL);
    assert_eq!(
        first.node.unwrap().id,
        "waypoint~10.0.0.5~wp.shop~shop.svc.cluster.local"
    );
    assert!(first.initial_resource_versions.is_empty());
    assert!(first.response_nonce.is_empty());

    // First response applied → ready and resolvable, then ACKed.
    let r = next(&mut d).await;
    assert!(d.ready());
    assert_eq!(endpoints(&r, "10.96.0.10:80"), ["10.0.0.7:9080"]);
    assert!(r.resolve("10.96.0.10:80").unwrap().endpoints[0].hbone);
    assert!(
        !r.resolve("ratings.shop.svc.cluster.local:80")
            .unwrap()
            .endpoints[0]
            .hbone
    );
    let ack = request(&fake).await.request;
    assert_eq!(ack.response_nonce, "n1");
    assert!(ack.error_detail.is_none());

    // An endpoint added and a service removed.
    fake.set(
        "pod-b",
        workload("pod-b", "10.0.0.8", true, &[(REVIEWS, &[(80, 8080)])]),
    );
    fake.remove(RATINGS);
    let mut r = next(&mut d).await;
    while r.resolve("10.96.0.11:80").is_some() {
        // The two changes may arrive as two deltas.
        r = next(&mut d).await;
    }
    assert_eq!(
        endpoints(&r, "10.96.0.10:80"),
        ["10.0.0.7:9080", "10.0.0.8:8080"]
    );
    assert!(r.resolve("10.0.0.8:1234").is_some(), "new pod addressable");
    let ack = request(&fake).await.request;
    assert_eq!(ack.response_nonce, "n2");
    assert!(ack.error_detail.is_none());
    // Drain any second ACK.
    while let Ok(Some(_)) =
        tokio::time::timeout(Duration::from_millis(200), fake.next_request()).await
    {}

    // A malformed resource: NACKed with the reason, nothing published, old state kept.
    fake.set_raw(
        "pod-bad",
        Any {
            type_url: ADDRESS_TYPE_URL.into(),
            value: vec![0x0a, 0xff, 0xff, 0xff],
        },
    );
    let nack = request(&fake).await.request;
    assert!(!nack.response_nonce.is_empty());
    let detail = nack.error_detail.expect("a NACK");
    assert_eq!(detail.code, 3);
    assert!(detail.message.contains("pod-bad"), "{}", detail.message);
    let quiet = tokio::time::timeout(Duration::from_millis(300), d.changed()).await;
    assert!(quiet.is_err(), "a rejected response must not publish");
    assert_eq!(
        endpoints(&d.current().unwrap(), "10.96.0.10:80"),
        ["10.0.0.7:9080", "10.0.0.8:8080"]
    );

    // The stream keeps working after a NACK.
    fake.remove("pod-a");
    let r = next(&mut d).await;
    assert_eq!(endpoints(&r, "10.96.0.10:80"), ["10.0.0.8:8080"]);
    task.abort();
}

#[tokio::test]
async fn reconnects_and_resyncs_after_disconnects_and_restarts() {
    let fake = FakeControlPlane::start(None).await.unwrap();
    let addr = fake.addr;
    populate(&fake);
    let (publisher, mut d) = Discovery::channel();
    let task = start(
        &DiscoveryConfig::Xds(xds(&format!("http://{addr}"))),
        Path::new("."),
        publisher,
    )
    .await
    .unwrap();
    next(&mut d).await;
    assert!(request(&fake)
        .await
        .request
        .initial_resource_versions
        .is_empty());
    assert_eq!(request(&fake).await.request.response_nonce, "n1");

    // A dropped connection: the client comes back, saying what it holds.
    fake.disconnect_all();
    let again = request(&fake).await.request;
    assert_eq!(again.initial_resource_versions.len(), 4);
    assert_eq!(again.initial_resource_versions["pod-a"], "3");
    // Nothing changed: the fake's resync is empty, but still answered and ACKed.
    next(&mut d).await;
    assert_eq!(request(&fake).await.request.response_nonce, "n1");

    // A control plane restart with different state: the registry serves on meanwhile, then
    // resyncs (removed resources disappear, new ones appear).
    drop(fake);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        endpoints(&d.current().unwrap(), "10.96.0.10:80"),
        ["10.0.0.7:9080"]
    );
    let fake = FakeControlPlane::start_on(addr, None).await.unwrap();
    fake.set(
        REVIEWS,
        service(
            "shop",
            "reviews.shop.svc.cluster.local",
            "10.96.0.10",
            &[(80, 9080)],
        ),
    );
    fake.set(
        "pod-z",
        workload("pod-z", "10.0.0.30", true, &[(REVIEWS, &[])]),
    );
    let resync = request(&fake).await.request;
    assert_eq!(resync.initial_resource_versions.len(), 4);
    let r = until(&mut d, |r| {
        endpoints(r, "10.96.0.10:80") == ["10.0.0.30:9080"]
    })
    .await;
    assert!(r.resolve("10.96.0.11:80").is_none(), "ratings was removed");
    assert!(r.resolve("10.0.0.7:80").is_none(), "pod-a was removed");
    task.abort();
}

#[tokio::test]
async fn not_ready_while_the_control_plane_is_unreachable() {
    // A port that was just free: nothing listens there.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let (publisher, d) = Discovery::channel();
    let task = start(
        &DiscoveryConfig::Xds(xds(&format!("http://{addr}"))),
        Path::new("."),
        publisher,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!d.ready());
    // It keeps retrying: once the control plane appears, the waypoint becomes ready.
    let fake = FakeControlPlane::start_on(addr, None).await.unwrap();
    populate(&fake);
    let mut d = d;
    until(&mut d, |r| r.resolve("10.96.0.10:80").is_some()).await;
    task.abort();
}

struct TestPki {
    dir: PathBuf,
    server: Arc<rustls::ServerConfig>,
}

fn pki(tag: &str) -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let dir = std::env::temp_dir().join(format!("microwaf-xds-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    std::fs::write(dir.join("root.pem"), ca.pem()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["istiod.test".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into();
    let mut server = rustls::ServerConfig::builder_with_provider(crate::conn::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    server.alpn_protocols = vec![b"h2".to_vec()];
    TestPki {
        dir,
        server: Arc::new(server),
    }
}

#[tokio::test]
async fn tls_with_a_root_ca_and_a_bearer_token() {
    let pki = pki("tls");
    let fake = FakeControlPlane::start(Some(pki.server.clone()))
        .await
        .unwrap();
    populate(&fake);
    std::fs::write(pki.dir.join("token"), "s3cret\n").unwrap();
    let mut cfg = xds(&format!("https://{}", fake.addr));
    cfg.root = Some("root.pem".into());
    cfg.server_name = Some("istiod.test".into());
    cfg.token_file = Some("token".into());
    let (publisher, mut d) = Discovery::channel();
    let task = start(&DiscoveryConfig::Xds(cfg.clone()), &pki.dir, publisher)
        .await
        .unwrap();
    until(&mut d, |r| r.resolve("10.96.0.10:80").is_some()).await;
    assert_eq!(
        request(&fake).await.authorization.as_deref(),
        Some("Bearer s3cret")
    );
    task.abort();

    // The wrong name: the handshake fails, so the client never becomes ready.
    cfg.server_name = Some("other.test".into());
    let (publisher, d) = Discovery::channel();
    let task = start(&DiscoveryConfig::Xds(cfg), &pki.dir, publisher)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!d.ready());
    task.abort();
    let _ = std::fs::remove_dir_all(&pki.dir);
}

#[tokio::test]
async fn bad_settings_fail_at_start() {
    let dir = Path::new("/nonexistent");
    let try_start = |cfg: XdsConfig| async move {
        let (publisher, _d) = Discovery::channel();
        start(&DiscoveryConfig::Xds(cfg), dir, publisher)
            .await
            .map(|t| t.abort())
            .unwrap_err()
            .to_string()
    };
    for address in [
        "istiod:15012",
        "http://istiod",
        "http://istiod:0",
        "http://:15012",
        "http://istiod:port",
        "https://istiod:15012",
        "grpc://istiod:15012",
    ] {
        let err = try_start(xds(address)).await;
        assert!(err.starts_with("discovery.xds.address"), "{err}");
    }
    let mut cfg = xds("https://istiod:15012");
    cfg.root = Some("root.pem".into());
    assert!(try_start(cfg).await.starts_with("discovery.xds.root"));
    let mut cfg = xds("http://istiod:15012");
    cfg.token_file = Some("token".into());
    assert!(try_start(cfg).await.starts_with("discovery.xds.token_file"));
    let (publisher, _d) = Discovery::channel();
    let err = start(&DiscoveryConfig::File("nope.yaml".into()), dir, publisher)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nope.yaml"), "{err}");
}

#[test]
fn the_config_shape() {
    let file: DiscoveryConfig = serde_yaml_ng::from_str("file: mesh.yaml").unwrap();
    assert_eq!(file, DiscoveryConfig::File("mesh.yaml".into()));
    let x: DiscoveryConfig = serde_yaml_ng::from_str(
        "xds:\n  address: https://istiod.istio-system.svc:15012\n  root: root.pem\n  connect_timeout: 3s\n",
    )
    .unwrap();
    let DiscoveryConfig::Xds(x) = x else {
        panic!("xds expected")
    };
    assert_eq!(x.address, "https://istiod.istio-system.svc:15012");
    assert_eq!(x.connect_timeout, Some(Duration::from_secs(3)));
    // Round trip (for configuration dumps).
    let text = serde_yaml_ng::to_string(&DiscoveryConfig::Xds(x.clone())).unwrap();
    assert_eq!(
        serde_yaml_ng::from_str::<DiscoveryConfig>(&text).unwrap(),
        DiscoveryConfig::Xds(x)
    );
    // Field errors inside keep their path.
    let de = serde_yaml_ng::Deserializer::from_str("xds: {address: 'a:1', tls_roots: x}");
    let err = serde_path_to_error::deserialize::<_, DiscoveryConfig>(de).unwrap_err();
    assert_eq!(err.path().to_string(), "xds.tls_roots");
    for bad in [
        "xds: {address: 'a:1', tls: true}",
        "both: x",
        "{file: a, xds: {address: 'a:1'}}",
        "xds: {address: 'a:1', connect_timeout: soon}",
        "{}",
    ] {
        assert!(
            serde_yaml_ng::from_str::<DiscoveryConfig>(bad).is_err(),
            "{bad}"
        );
    }
}
