//! TCP proxy listeners honour the cluster: upstream TLS (SNI, CA), circuit breakers, and the
//! listener's idle timeout.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::harness::*;
use super::pki::Pki;

/// A TLS echo server: sends `sni=<name> alpn=<proto>\n`, then echoes.
async fn tls_echo(pki: &Pki) -> std::net::SocketAddr {
    let (cert, key) = pki.leaf("upstream", &["backend.internal"], &[]);
    let certs = rustls_pemfile::certs(&mut cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut key.as_bytes())
        .unwrap()
        .unwrap();
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                let (_, c) = tls.get_ref();
                let hello = format!(
                    "sni={} alpn={}\n",
                    c.server_name().unwrap_or("-"),
                    c.alpn_protocol()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .unwrap_or("-".into())
                );
                let _ = tls.write_all(hello.as_bytes()).await;
                let mut buf = [0u8; 1024];
                while let Ok(n) = tls.read(&mut buf).await {
                    if n == 0 || tls.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn tcp_yaml(up: std::net::SocketAddr, cluster_opts: &str, listener_opts: &str) -> String {
    format!(
        r#"
listeners:
  - name: main
    address: 127.0.0.1:0
    protocol: tcp
    cluster: up
{listener_opts}
clusters:
  - name: up
    endpoints: ["{up}"]
    connect_timeout: 1s
{cluster_opts}
"#
    )
}

/// Sends `msg` and reads until `want` bytes arrived, the peer closed, or 3 s passed.
async fn talk(c: &mut TcpStream, msg: &[u8], want: usize) -> Vec<u8> {
    c.write_all(msg).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while out.len() < want {
        match tokio::time::timeout(Duration::from_secs(3), c.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    out
}

#[tokio::test]
async fn tcp_proxy_speaks_tls_to_a_tls_cluster() {
    let pki = Pki::new("tcp-tls");
    let up = tls_echo(&pki).await;
    let ca = pki.dir.join("ca.pem");
    let tls = format!("    tls: {{sni: backend.internal, ca: {}}}", ca.display());
    let app = start(&tcp_yaml(up, &tls, "")).await;
    let mut c = TcpStream::connect(addr(&app)).await.unwrap();
    let want = b"sni=backend.internal alpn=-\nping";
    let out = talk(&mut c, b"ping", want.len()).await;
    assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(want));

    // A name the certificate does not carry fails verification: nothing reaches the client.
    let tls = format!("    tls: {{sni: wrong.internal, ca: {}}}", ca.display());
    let app = start(&tcp_yaml(up, &tls, "")).await;
    let mut c = TcpStream::connect(addr(&app)).await.unwrap();
    assert_eq!(talk(&mut c, b"ping", 1).await, b"");
}

/// A plain echo upstream.
async fn echo() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn tcp_proxy_enforces_max_connections() {
    let up = echo().await;
    let app = start(&tcp_yaml(
        up,
        "    circuit_breakers: {max_connections: 1}",
        "",
    ))
    .await;
    let mut first = TcpStream::connect(addr(&app)).await.unwrap();
    assert_eq!(talk(&mut first, b"a", 1).await, b"a");
    let mut second = TcpStream::connect(addr(&app)).await.unwrap();
    assert_eq!(
        talk(&mut second, b"b", 1).await,
        b"",
        "over the breaker: closed"
    );
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(addr(&app)).await.unwrap();
    assert_eq!(talk(&mut third, b"c", 1).await, b"c", "slot released");
}

#[tokio::test]
async fn tcp_proxy_closes_idle_sessions() {
    let up = echo().await;
    let app = start(&tcp_yaml(up, "", "    idle_timeout: 300ms")).await;
    let mut c = TcpStream::connect(addr(&app)).await.unwrap();
    assert_eq!(talk(&mut c, b"x", 1).await, b"x");
    let t = std::time::Instant::now();
    let mut buf = [0u8; 8];
    let n = tokio::time::timeout(Duration::from_secs(3), c.read(&mut buf))
        .await
        .expect("closed by the idle timeout")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
}
