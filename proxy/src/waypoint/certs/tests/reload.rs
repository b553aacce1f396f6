//! Reloading files under a live TLS server: new handshakes get the new leaf, a connection made
//! with the old one keeps working, a broken new set changes nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::client::TlsStream;

use super::files::write_set;
use super::{der, temp_dir, Pki, Window, ID_A, ID_B};
use crate::waypoint::certs::CertStore;

/// Serves whatever the store holds at handshake time, as the HBONE listener will.
struct StoreResolver(Arc<CertStore>);

impl std::fmt::Debug for StoreResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreResolver")
    }
}

impl ResolvesServerCert for StoreResolver {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current().key.clone())
    }
}

/// A TLS echo server on 127.0.0.1 whose certificate comes from `store`.
async fn echo_server(store: Arc<CertStore>) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(StoreResolver(store)));
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 64];
                while let Ok(n @ 1..) = tls.read(&mut buf).await {
                    if tls.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn connect(addr: SocketAddr, root_pem: &str) -> TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der(root_pem).into()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

fn peer_leaf(tls: &TlsStream<TcpStream>) -> Vec<u8> {
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

async fn echo(tls: &mut TlsStream<TcpStream>, msg: &[u8]) -> Vec<u8> {
    tls.write_all(msg).await.unwrap();
    let mut buf = vec![0u8; msg.len()];
    tls.read_exact(&mut buf).await.unwrap();
    buf
}

#[tokio::test]
async fn changed_files_serve_new_handshakes_and_keep_open_connections() {
    let pki = Pki::new("mesh root");
    let dir = temp_dir("reload");
    let (cert_a, key_a) = pki.leaf(&[ID_A], Window::default());
    let source = write_set(&dir, &cert_a, &key_a, &pki.root_pem);
    let store = CertStore::new(source.load().unwrap());
    let watcher = source.watch(store.clone(), Duration::from_millis(50));
    let addr = echo_server(store.clone()).await;

    let mut old = connect(addr, &pki.root_pem).await;
    assert_eq!(peer_leaf(&old), der(&cert_a));
    assert_eq!(echo(&mut old, b"before").await, b"before");

    let mut changed = store.subscribe();
    let (cert_b, key_b) = pki.leaf(&[ID_B], Window::default());
    write_set(&dir, &cert_b, &key_b, &pki.root_pem);
    tokio::time::timeout(Duration::from_secs(5), changed.changed())
        .await
        .expect("the store was not updated")
        .unwrap();
    assert_eq!(store.generation(), 1);
    assert_eq!(store.current().id.to_string(), ID_B);
    assert_eq!(
        store.current().key.cert[0].as_ref(),
        der(&cert_b).as_slice()
    );

    // The connection negotiated with leaf A is untouched; a new one gets leaf B.
    assert_eq!(
        echo(&mut old, b"after the reload").await,
        b"after the reload"
    );
    let mut new = connect(addr, &pki.root_pem).await;
    assert_eq!(peer_leaf(&new), der(&cert_b));
    assert_eq!(echo(&mut new, b"new").await, b"new");

    // A broken new set (leaf C with B's key) is refused: generation and leaf stay.
    let (cert_c, _) = pki.leaf(&[ID_A], Window::default());
    write_set(&dir, &cert_c, &key_b, &pki.root_pem);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(store.generation(), 1);
    assert_eq!(
        store.current().key.cert[0].as_ref(),
        der(&cert_b).as_slice()
    );
    let mut third = connect(addr, &pki.root_pem).await;
    assert_eq!(peer_leaf(&third), der(&cert_b));
    assert_eq!(echo(&mut third, b"still b").await, b"still b");

    // Fixing the set is picked up again.
    let (cert_d, key_d) = pki.leaf(&[ID_A], Window::default());
    write_set(&dir, &cert_d, &key_d, &pki.root_pem);
    tokio::time::timeout(Duration::from_secs(5), changed.changed())
        .await
        .expect("the fixed set was not loaded")
        .unwrap();
    assert_eq!(
        store.current().key.cert[0].as_ref(),
        der(&cert_d).as_slice()
    );
    assert_eq!(echo(&mut old, b"old still open").await, b"old still open");
    watcher.abort();
}
