//! A fake mesh CA: `IstioCertificateService/CreateCertificate` over HTTP/2 (h2c, or TLS with a
//! certificate for 127.0.0.1) on 127.0.0.1:0, signing each CSR with an rcgen CA.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::Mutex;
use prost::Message;
use rcgen::{CertificateParams, CertificateSigningRequestParams, KeyPair};
use tokio::net::TcpListener;

use super::{set_window, Pki, Window};
use crate::waypoint::certs::ca::{IstioCertificateRequest, IstioCertificateResponse, PATH};

/// What the CA answers.
#[derive(Clone, Copy)]
pub(super) enum Behaviour {
    Sign,
    /// A trailers-only gRPC error.
    Refuse(u32, &'static str),
    /// Sign the first `n` requests, refuse the rest with UNAVAILABLE.
    SignFirst(usize),
}

/// What the CA saw.
#[derive(Default)]
pub(super) struct Seen {
    pub authorization: Mutex<Vec<String>>,
    pub validity: Mutex<Vec<i64>>,
    pub requests: AtomicUsize,
}

pub(super) struct FakeCa {
    pub addr: SocketAddr,
    pub pki: Arc<Pki>,
    pub seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeCa {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeCa {
    /// Starts the CA; with `tls`, it serves a certificate for 127.0.0.1 signed by its root.
    pub async fn start(behaviour: Behaviour, tls: bool) -> FakeCa {
        let pki = Arc::new(Pki::new("fake mesh CA"));
        let seen = Arc::new(Seen::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = tls.then(|| serving_tls(&pki));
        let (p, s) = (pki.clone(), seen.clone());
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (pki, seen, acceptor) = (p.clone(), s.clone(), acceptor.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let (pki, seen) = (pki.clone(), seen.clone());
                        async move { Ok::<_, Infallible>(handle(req, &pki, &seen, behaviour).await) }
                    });
                    let server = http2::Builder::new(TokioExecutor::new());
                    let _ = match acceptor {
                        Some(a) => match a.accept(tcp).await {
                            Ok(tls) => server.serve_connection(TokioIo::new(tls), svc).await,
                            Err(_) => return,
                        },
                        None => server.serve_connection(TokioIo::new(tcp), svc).await,
                    };
                });
            }
        });
        FakeCa {
            addr,
            pki,
            seen,
            task,
        }
    }
}

fn serving_tls(pki: &Pki) -> tokio_rustls::TlsAcceptor {
    let params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &pki.issuer).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

type Reply = http::Response<http_body_util::combinators::BoxBody<Bytes, Infallible>>;

async fn handle(
    req: http::Request<hyper::body::Incoming>,
    pki: &Pki,
    seen: &Seen,
    behaviour: Behaviour,
) -> Reply {
    let n = seen.requests.fetch_add(1, Ordering::SeqCst);
    if req.uri().path() != PATH {
        return grpc_error(12, "unknown method");
    }
    if let Some(auth) = req.headers().get(http::header::AUTHORIZATION) {
        seen.authorization
            .lock()
            .push(auth.to_str().unwrap_or("?").to_owned());
    }
    match behaviour {
        Behaviour::Refuse(code, msg) => return grpc_error(code, msg),
        Behaviour::SignFirst(k) if n >= k => return grpc_error(14, "CA is down"),
        _ => {}
    }
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let msg = crate::waypoint::certs::ca::unframe(&body).unwrap();
    let request = IstioCertificateRequest::decode(msg).unwrap();
    seen.validity.lock().push(request.validity_duration);
    let mut csr = CertificateSigningRequestParams::from_pem(&request.csr).unwrap();
    set_window(&mut csr.params, Window(0, request.validity_duration));
    let leaf = csr.signed_by(&pki.issuer).unwrap();
    let response = IstioCertificateResponse {
        cert_chain: vec![leaf.pem(), pki.root_pem.clone()],
    };
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let body = Full::new(crate::waypoint::certs::ca::frame(&response))
        .with_trailers(std::future::ready(Some(Ok(trailers))))
        .boxed();
    http::Response::builder()
        .header("content-type", "application/grpc")
        .body(body)
        .unwrap()
}

fn grpc_error(code: u32, message: &str) -> Reply {
    let encoded = message.replace(' ', "%20");
    http::Response::builder()
        .header("content-type", "application/grpc")
        .header("grpc-status", code.to_string())
        .header("grpc-message", encoded)
        .body(Full::new(Bytes::new()).boxed())
        .unwrap()
}
