//! The CSR flow against the fake CA: first certificate before `start` returns, bearer token,
//! TLS to the CA, clear errors, renewal at half-life, failed renewals keeping the old set.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::UnixTime;
use rustls::server::WebPkiClientVerifier;

use super::fake_ca::{Behaviour, FakeCa};
use super::{der, temp_dir, ID_A};
use crate::waypoint::certs::{start, CaConfig, CertsConfig, MeshCerts};

fn config(dir: &Path, ca: &FakeCa, tls: bool, validity: Duration) -> CertsConfig {
    std::fs::write(dir.join("token"), "test-token-1\n").unwrap();
    std::fs::write(dir.join("ca-root.pem"), &ca.pki.root_pem).unwrap();
    let scheme = if tls { "https" } else { "http" };
    CertsConfig::Ca(CaConfig {
        address: format!("{scheme}://{}", ca.addr),
        root: tls.then(|| "ca-root.pem".into()),
        token_file: "token".into(),
        identity: ID_A.into(),
        validity,
    })
}

/// The leaf verifies as a client certificate under `root_pem`, independently of the loader.
fn assert_chains_to(certs: &MeshCerts, root_pem: &str) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der(root_pem).into()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .unwrap();
    verifier
        .verify_client_cert(&certs.key.cert[0], &certs.key.cert[1..], UnixTime::now())
        .unwrap();
    certs.key.keys_match().unwrap();
    assert_eq!(certs.roots[0].as_ref(), der(root_pem).as_slice());
}

#[tokio::test]
async fn start_gets_a_leaf_with_our_identity_from_the_ca() {
    let ca = FakeCa::start(Behaviour::Sign, false).await;
    let dir = temp_dir("ca-h2c");
    let cfg = config(&dir, &ca, false, Duration::from_secs(3600));
    let (store, task) = start(&cfg, &dir).await.unwrap();
    let certs = store.current();
    assert_eq!(certs.id.to_string(), ID_A);
    assert_chains_to(&certs, &ca.pki.root_pem);
    assert_eq!(*ca.seen.authorization.lock(), ["Bearer test-token-1"]);
    assert_eq!(*ca.seen.validity.lock(), [3600]);
    task.abort();
}

#[tokio::test]
async fn the_ca_is_reached_over_tls_verified_against_the_configured_root() {
    let ca = FakeCa::start(Behaviour::Sign, true).await;
    let dir = temp_dir("ca-tls");
    let cfg = config(&dir, &ca, true, Duration::from_secs(600));
    let (store, task) = start(&cfg, &dir).await.unwrap();
    assert_chains_to(&store.current(), &ca.pki.root_pem);
    task.abort();

    // Another root: the handshake with the CA fails, and says so.
    let other = super::Pki::new("not the CA");
    std::fs::write(dir.join("ca-root.pem"), &other.root_pem).unwrap();
    let e = start(&cfg, &dir).await.err().unwrap().to_string();
    assert!(e.contains("TLS handshake"), "{e}");
}

#[tokio::test]
async fn ca_failures_are_clear_errors() {
    let ca = FakeCa::start(Behaviour::Refuse(16, "token rejected"), false).await;
    let dir = temp_dir("ca-refuse");
    let cfg = config(&dir, &ca, false, Duration::from_secs(600));
    let e = start(&cfg, &dir).await.err().unwrap().to_string();
    assert!(
        e.contains("gRPC status 16 (UNAUTHENTICATED): token rejected"),
        "{e}"
    );
    assert!(e.contains(&ca.addr.to_string()), "{e}");

    std::fs::remove_file(dir.join("token")).unwrap();
    let CertsConfig::Ca(c) = &cfg else {
        unreachable!()
    };
    let e = start(&cfg, &dir).await.err().unwrap().to_string();
    assert!(e.contains("CA token file") && e.contains("token"), "{e}");
    std::fs::write(dir.join("token"), "  \n").unwrap();
    let e = start(&cfg, &dir).await.err().unwrap().to_string();
    assert!(e.contains("empty"), "{e}");

    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(dir.join("token"), "t").unwrap();
    let closed = CertsConfig::Ca(CaConfig {
        address: format!("http://127.0.0.1:{port}"),
        ..c.clone()
    });
    let e = start(&closed, &dir).await.err().unwrap().to_string();
    assert!(e.contains("connecting"), "{e}");

    let bad_id = CertsConfig::Ca(CaConfig {
        identity: "spiffe://cluster.local/waypoint".into(),
        ..c.clone()
    });
    let e = start(&bad_id, &dir).await.err().unwrap().to_string();
    assert!(e.contains("is not a mesh SPIFFE ID"), "{e}");
}

#[tokio::test]
async fn short_lived_certificates_are_renewed_with_a_fresh_token_read() {
    let ca = FakeCa::start(Behaviour::Sign, false).await;
    let dir = temp_dir("ca-rotate");
    let cfg = config(&dir, &ca, false, Duration::from_secs(2));
    let (store, task) = start(&cfg, &dir).await.unwrap();
    let first = store.current();
    std::fs::write(dir.join("token"), "test-token-2").unwrap();
    let mut changed = store.subscribe();
    tokio::time::timeout(Duration::from_secs(5), changed.changed())
        .await
        .expect("no renewal within 5 s")
        .unwrap();
    let second = store.current();
    assert_ne!(first.key.cert[0], second.key.cert[0]);
    assert_eq!(second.id.to_string(), ID_A);
    assert!(second.not_after > first.not_after);
    assert_chains_to(&second, &ca.pki.root_pem);
    assert_eq!(ca.seen.authorization.lock()[1], "Bearer test-token-2");
    task.abort();
}

#[tokio::test]
async fn a_failing_renewal_keeps_the_current_certificate() {
    let ca = FakeCa::start(Behaviour::SignFirst(1), false).await;
    let dir = temp_dir("ca-renewal-fails");
    let cfg = config(&dir, &ca, false, Duration::from_secs(2));
    let (store, task) = start(&cfg, &dir).await.unwrap();
    let first = store.current();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        ca.seen.requests.load(Ordering::SeqCst) >= 2,
        "renewal was not retried"
    );
    assert_eq!(store.generation(), 0);
    assert_eq!(store.current().key.cert[0], first.key.cert[0]);
    task.abort();
}
