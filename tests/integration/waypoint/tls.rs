//! The HBONE TLS configurations and mesh verifiers on real sockets: who gets through, who is
//! refused, and that a root rotation applies to the next handshake.

use std::sync::Arc;

use microwaf_proxy::waypoint::certs::{CertStore, MeshCerts};
use microwaf_proxy::waypoint::tls::{client_config, peer_identity, server_config};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::pki::{MeshPki, CLIENT_ID, TD, WAYPOINT_ID};

type ServerSide = Result<tokio_rustls::server::TlsStream<TcpStream>, std::io::Error>;
type ClientSide = Result<tokio_rustls::client::TlsStream<TcpStream>, std::io::Error>;

/// One handshake between a server (the waypoint's side) and a client, both with our configs.
async fn handshake(server: Arc<CertStore>, client: Arc<CertStore>) -> (ServerSide, ClientSide) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config(server, TD).unwrap());
    let connector = tokio_rustls::TlsConnector::from(client_config(client, TD).unwrap());
    let accept = async {
        let (tcp, _) = l.accept().await.unwrap();
        let mut s = acceptor.accept(tcp).await?;
        s.write_all(b"ok").await?;
        s.flush().await?;
        Ok(s)
    };
    let connect = async {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut c = connector
            .connect(ServerName::IpAddress(addr.ip().into()), tcp)
            .await?;
        // TLS 1.3 clients finish first; a refusal of their certificate arrives as an alert.
        let mut buf = [0u8; 2];
        c.read_exact(&mut buf).await?;
        Ok(c)
    };
    tokio::join!(accept, connect)
}

fn refused(r: &ServerSide, what: &str) -> String {
    match r {
        Ok(_) => panic!("{what}: handshake accepted"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn mesh_peers_get_tls13_h2_no_sni_and_see_each_others_identity() {
    let pki = MeshPki::new("root");
    let (s, c) = handshake(
        pki.store(WAYPOINT_ID, false, None),
        pki.store(CLIENT_ID, false, None),
    )
    .await;
    let (s, c) = (s.unwrap(), c.unwrap());
    let sc = s.get_ref().1;
    assert_eq!(peer_identity(sc).unwrap().to_string(), CLIENT_ID);
    assert_eq!(sc.server_name(), None, "HBONE clients send no SNI");
    assert_eq!(sc.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(
        sc.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    assert_eq!(
        peer_identity(c.get_ref().1).unwrap().to_string(),
        WAYPOINT_ID
    );
}

#[tokio::test]
async fn a_client_of_another_trust_domain_is_refused() {
    let pki = MeshPki::new("root");
    let (s, c) = handshake(
        pki.store(WAYPOINT_ID, false, None),
        pki.store("spiffe://evil.example/ns/shop/sa/checkout", false, None),
    )
    .await;
    let e = refused(&s, "foreign trust domain");
    assert!(
        e.contains("evil.example") && e.contains("TrustDomain"),
        "{e}"
    );
    assert!(c.is_err());
}

/// Log output captured from the test's thread.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn an_expired_client_certificate_is_refused() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    // A current-thread test: the handshake (and the verifier) run on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);
    let pki = MeshPki::new("root");
    let (s, c) = handshake(
        pki.store(WAYPOINT_ID, false, None),
        pki.store(CLIENT_ID, true, None),
    )
    .await;
    let e = refused(&s, "expired");
    assert!(e.to_lowercase().contains("expired"), "{e}");
    assert!(c.is_err());
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("certificate expired"))
        .unwrap_or_else(|| panic!("no expiry log line in {text:?}"));
    assert!(line.contains(CLIENT_ID) && line.contains("2021"), "{line}");
}

#[tokio::test]
async fn a_client_of_another_ca_or_without_spiffe_id_is_refused() {
    let pki = MeshPki::new("root");
    let other = MeshPki::new("other root");
    // Signed by a CA the waypoint does not trust (the client trusts both, so only the
    // server's check can refuse).
    let roots = Some(vec![pki.root(), other.root()]);
    let (s, _) = handshake(
        pki.store(WAYPOINT_ID, false, None),
        other.store(CLIENT_ID, false, roots),
    )
    .await;
    refused(&s, "untrusted CA");
    // A URI SAN that is not a mesh SPIFFE ID: MeshCerts refuses to hold it at all.
    let (cert, key) = pki.leaf("https://checkout.shop/", false);
    assert!(MeshCerts::from_der(vec![cert], key, vec![pki.root()]).is_err());
}

#[tokio::test]
async fn a_server_of_another_trust_domain_is_refused_by_the_outbound_verifier() {
    let pki = MeshPki::new("root");
    let (s, c) = handshake(
        pki.store("spiffe://evil.example/ns/shop/sa/reviews", false, None),
        pki.store(WAYPOINT_ID, false, None),
    )
    .await;
    let e = match c {
        Ok(_) => panic!("client accepted a foreign server"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("evil.example") && e.contains("TrustDomain"),
        "{e}"
    );
    assert!(s.is_err());
}

#[tokio::test]
async fn a_root_rotation_applies_to_the_next_handshake() {
    let old = MeshPki::new("old root");
    let new = MeshPki::new("new root");
    let server = old.store(WAYPOINT_ID, false, None);
    let (s, _) = handshake(server.clone(), old.store(CLIENT_ID, false, None)).await;
    s.unwrap();
    // Rotate: the waypoint now has a certificate from the new root and trusts only it.
    let (cert, key) = new.leaf(WAYPOINT_ID, false);
    server.replace(MeshCerts::from_der(vec![cert], key, vec![new.root()]).unwrap());
    let (s, _) = handshake(server.clone(), old.store(CLIENT_ID, false, None)).await;
    refused(&s, "client of the retired root");
    let (s, c) = handshake(server, new.store(CLIENT_ID, false, None)).await;
    s.unwrap();
    c.unwrap();
}
