use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::waypoint::discovery::Discovery;

const GOOD: &str = "
services:
  - hostname: reviews.shop.svc.cluster.local
    namespace: shop
    vips: [10.96.0.10, 'fd00::10']
    ports:
      - port: 80
        target_port: 9080
      - port: 443
        app_protocol: tls
    endpoints:
      - address: 10.0.0.7
      - address: 10.0.0.8
        mesh: false
        ports: {80: 8080}
workloads:
  - address: 10.0.0.9
    mesh: false
";

fn invalid(text: &str) -> (String, String) {
    match parse(text, "disc.yaml") {
        Err(ConfigError::Invalid { file, path, reason }) => {
            assert_eq!(file, "disc.yaml");
            (path, reason)
        }
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn a_good_file_maps_vips_hostnames_and_pods() {
    let r = parse(GOOD, "disc.yaml").unwrap();
    let d = r.resolve("10.96.0.10:80").unwrap();
    assert_eq!(d.name, "reviews.shop.svc.cluster.local");
    assert_eq!(
        d.endpoints,
        vec![
            Endpoint {
                addr: "10.0.0.7:9080".parse().unwrap(),
                hbone: true
            },
            Endpoint {
                addr: "10.0.0.8:8080".parse().unwrap(),
                hbone: false
            },
        ]
    );
    // The second port has no target_port (defaults to 443) and no override on either pod.
    let tls = r.resolve("[fd00::10]:443").unwrap();
    let ports: Vec<u16> = tls.endpoints.iter().map(|e| e.addr.port()).collect();
    assert_eq!(ports, [443, 443]);
    assert!(Arc::ptr_eq(
        &r.resolve("reviews.shop.svc.cluster.local:80").unwrap(),
        &d
    ));
    // Endpoint pods and standalone workloads are addressable directly.
    assert_eq!(r.workloads.len(), 3);
    assert!(r.resolve("10.0.0.7:15000").unwrap().endpoints[0].hbone);
    assert!(!r.resolve("10.0.0.9:80").unwrap().endpoints[0].hbone);
    assert!(r.resolve("10.96.0.10:81").is_none());
}

#[test]
fn type_errors_name_the_file_and_the_field_path() {
    let bad = GOOD.replace("target_port: 9080", "target_port: ninety");
    let (path, reason) = invalid(&bad);
    assert_eq!(path, "services[0].ports[0].target_port");
    assert!(reason.contains("invalid"), "{reason}");
    let bad = GOOD.replace("address: 10.0.0.8", "address: 10.0.0.300");
    assert_eq!(invalid(&bad).0, "services[0].endpoints[1].address");
    let bad = GOOD.replace(
        "  - address: 10.0.0.9\n    mesh: false\n",
        "  - address: 10.0.0.9\n    mesh: false\n    mtls: true\n",
    );
    let (path, reason) = invalid(&bad);
    assert_eq!(path, "workloads[0].mtls");
    assert!(reason.contains("unknown field `mtls`"), "{reason}");
    let err = parse(&bad, "disc.yaml").unwrap_err().to_string();
    assert!(err.starts_with("disc.yaml: workloads[0].mtls: "), "{err}");
}

#[test]
fn declared_protocols_are_per_port_and_checked() {
    let r = parse(GOOD, "disc.yaml").unwrap();
    assert_eq!(
        r.resolve("10.96.0.10:443").unwrap().app_protocol,
        AppProtocol::Tls
    );
    assert_eq!(
        r.resolve("10.96.0.10:80").unwrap().app_protocol,
        AppProtocol::Unknown,
        "not declared: sniffed"
    );
    let bad = GOOD.replace("app_protocol: tls", "app_protocol: tpc");
    let (path, reason) = invalid(&bad);
    assert_eq!(path, "services[0].ports[1].app_protocol");
    assert!(reason.contains("unknown protocol \"tpc\""), "{reason}");
}

#[test]
fn semantic_errors_name_the_field_path() {
    let bad = GOOD.replace("ports: {80: 8080}", "ports: {81: 8080}");
    assert_eq!(invalid(&bad).0, "services[0].endpoints[1].ports.81");
    let bad = GOOD.replace("address: 10.0.0.9", "address: 10.0.0.7");
    let (path, reason) = invalid(&bad);
    assert_eq!(path, "workloads[0].mesh");
    assert!(reason.contains("services[0].endpoints[0]"), "{reason}");
    let twice = "
services:
  - hostname: a
    vips: [10.96.0.10]
    ports: [{port: 80}]
  - hostname: b
    vips: [10.96.0.10]
    ports: [{port: 80}]
";
    assert_eq!(invalid(twice).0, "services[1].vips[0]");
    let bad = GOOD.replace("  - port: 443\n", "  - port: 0\n");
    assert_eq!(invalid(&bad).0, "services[0].ports[1]");
    let bad = GOOD.replace(
        "    ports:\n      - port: 80\n        target_port: 9080\n      - port: 443\n        app_protocol: tls\n",
        "    ports: []\n",
    );
    assert_eq!(invalid(&bad).0, "services[0].ports");
}

#[test]
fn syntax_and_empty_files_are_rejected() {
    assert!(matches!(
        parse("services: [", "d.yaml"),
        Err(ConfigError::Syntax { .. })
    ));
    assert!(parse("", "d.yaml")
        .unwrap_err()
        .to_string()
        .contains("empty"));
    assert!(matches!(
        load(Path::new("/nonexistent/discovery.yaml")),
        Err(ConfigError::Read { .. })
    ));
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("microwaf-disc-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("discovery.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn next(d: &mut Discovery) -> Arc<Registry> {
    tokio::time::timeout(Duration::from_secs(5), d.changed())
        .await
        .expect("a new snapshot")
        .then(|| d.current().unwrap())
        .expect("publisher alive")
}

#[tokio::test]
async fn reload_applies_good_files_and_keeps_the_old_registry_on_bad_ones() {
    let path = temp_file("reload", GOOD);
    let (publisher, mut d) = Discovery::channel();
    let task = watch::watch(&path, publisher, Duration::from_millis(20)).unwrap();
    assert!(d.current().unwrap().resolve("10.96.0.10:80").is_some());
    d.changed().await; // the initial snapshot

    std::fs::write(
        &path,
        GOOD.replace("vips: [10.96.0.10, 'fd00::10']", "vips: [10.96.0.11]"),
    )
    .unwrap();
    let r = next(&mut d).await;
    assert!(r.resolve("10.96.0.10:80").is_none());
    assert!(r.resolve("10.96.0.11:80").is_some());

    // A broken file: nothing is published, the running registry keeps serving.
    std::fs::write(&path, GOOD.replace("mesh: false", "mesh: maybe")).unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(300), d.changed()).await;
    assert!(waited.is_err(), "a bad file must not publish");
    assert!(d.current().unwrap().resolve("10.96.0.11:80").is_some());

    // Fixing it takes effect again.
    std::fs::write(&path, GOOD).unwrap();
    assert!(next(&mut d).await.resolve("10.96.0.10:80").is_some());
    task.abort();
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn a_missing_or_bad_file_fails_at_start() {
    let (publisher, d) = Discovery::channel();
    assert!(watch::watch(
        Path::new("/nonexistent/d.yaml"),
        publisher,
        Duration::from_secs(1)
    )
    .is_err());
    assert!(!d.ready());
    let path = temp_file("bad-start", "services: 3\n");
    let (publisher, d) = Discovery::channel();
    let err = watch::watch(&path, publisher, Duration::from_secs(1)).unwrap_err();
    assert!(err.to_string().contains("services"), "{err}");
    assert!(!d.ready());
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
