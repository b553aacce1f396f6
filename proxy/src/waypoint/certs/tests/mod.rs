//! Certificate sources against real files, real TLS handshakes on 127.0.0.1 and a fake mesh CA
//! speaking gRPC over HTTP/2; every certificate is generated here with rcgen.

mod ca;
mod fake_ca;
mod files;
mod reload;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType};

/// A test CA that signs mesh leaves.
pub(super) struct Pki {
    pub issuer: CertifiedIssuer<'static, KeyPair>,
    pub root_pem: String,
}

/// A leaf's validity, in seconds relative to now.
#[derive(Clone, Copy)]
pub(super) struct Window(pub i64, pub i64);

impl Default for Window {
    fn default() -> Self {
        Window(-60, 3600)
    }
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let root_pem = issuer.pem();
        Pki { issuer, root_pem }
    }

    /// A leaf for `localhost` (so a plain rustls client can check it as a server) with the
    /// given URI SANs; returns (cert PEM, key PEM).
    pub fn leaf(&self, uris: &[&str], window: Window) -> (String, String) {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        for u in uris {
            params
                .subject_alt_names
                .push(SanType::URI((*u).try_into().unwrap()));
        }
        set_window(&mut params, window);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Sets `notBefore`/`notAfter` relative to now (rcgen takes `time` dates; build them from the
/// epoch so this crate need not depend on `time`).
pub(super) fn set_window(params: &mut CertificateParams, Window(from, to): Window) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + Duration::from_secs((now + from) as u64);
    params.not_after = epoch + Duration::from_secs((now + to) as u64);
}

/// A fresh empty directory for one test.
pub(super) fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("microwaf-certs-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The DER of the first certificate in a PEM string.
pub(super) fn der(pem: &str) -> Vec<u8> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

pub(super) const ID_A: &str = "spiffe://cluster.local/ns/shop/sa/waypoint";
pub(super) const ID_B: &str = "spiffe://cluster.local/ns/shop/sa/waypoint-b";
