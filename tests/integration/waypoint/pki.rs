//! A mesh PKI for the tests: a root CA, SPIFFE SVIDs (valid, expired, other trust domain) and
//! a second, untrusted CA, as the waypoint's [`MeshCerts`] or a test peer's.

use std::sync::Arc;

use microwaf_proxy::waypoint::certs::{CertStore, MeshCerts};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub const TD: &str = "cluster.local";
pub const CLIENT_ID: &str = "spiffe://cluster.local/ns/shop/sa/checkout";
pub const WAYPOINT_ID: &str = "spiffe://cluster.local/ns/shop/sa/waypoint";
pub const DEST_ID: &str = "spiffe://cluster.local/ns/shop/sa/reviews";

pub struct MeshPki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl MeshPki {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { ca }
    }

    pub fn root(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// A leaf with `uri` as its URI SAN; `expired` puts its validity in the past.
    pub fn leaf(
        &self,
        uri: &str,
        expired: bool,
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .subject_alt_names
            .push(SanType::URI(uri.try_into().unwrap()));
        params.distinguished_name.push(DnType::CommonName, uri);
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (cert.der().clone(), key)
    }

    /// A certificate store for `uri`, trusting `roots` (this CA's root unless given).
    pub fn store(
        &self,
        uri: &str,
        expired: bool,
        roots: Option<Vec<CertificateDer<'static>>>,
    ) -> Arc<CertStore> {
        let (cert, key) = self.leaf(uri, expired);
        let roots = roots.unwrap_or_else(|| vec![self.root()]);
        // An expired leaf is assembled as of a day inside its validity, so the tests can
        // present it and watch the peer refuse it.
        let at = if expired {
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_590_000_000 + 86_400 * 200)
        } else {
            std::time::SystemTime::now()
        };
        CertStore::new(MeshCerts::from_der_at(vec![cert], key, roots, at).unwrap())
    }

    /// The PEM of a leaf and its key, and of the root (for file-based configuration).
    pub fn pem_files(&self, uri: &str, dir: &std::path::Path) -> (String, String, String) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .subject_alt_names
            .push(SanType::URI(uri.try_into().unwrap()));
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let paths = ["cert.pem", "key.pem", "root.pem"].map(|n| dir.join(n));
        std::fs::write(&paths[0], cert.pem()).unwrap();
        std::fs::write(&paths[1], key.serialize_pem()).unwrap();
        std::fs::write(&paths[2], self.ca.pem()).unwrap();
        let [a, b, c] = paths.map(|p| p.display().to_string());
        (a, b, c)
    }
}
