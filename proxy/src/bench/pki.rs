//! A throwaway mesh PKI for the waypoint benchmark: a root CA, the waypoint's SVID written as
//! PEM files for its `certs:` section, and the load generator's source SVID kept in memory as
//! a client TLS configuration. Generated per run, so no key material outlives the run's work
//! directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::waypoint::certs::{CertError, CertStore, MeshCerts};
use crate::waypoint::tls;

/// The benchmark mesh's trust domain.
pub const TRUST_DOMAIN: &str = "cluster.local";
/// The load generator's identity (the source workload).
pub const SOURCE_ID: &str = "spiffe://cluster.local/ns/bench/sa/load";
/// The waypoint's identity.
pub const WAYPOINT_ID: &str = "spiffe://cluster.local/ns/bench/sa/waypoint";
/// The destination's identity (its tunnel endpoint, `--mesh-endpoint`).
pub const DEST_ID: &str = "spiffe://cluster.local/ns/bench/sa/upstream";

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("generating the mesh PKI: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the source SVID: {0}")]
    Certs(#[from] CertError),
    #[error("the HBONE TLS configurations: {0}")]
    Tls(#[from] rustls::Error),
    /// Not a PKI failure, but part of setting the mesh up (`--mesh-endpoint`).
    #[error("starting the destination's HBONE terminator: {0}")]
    Terminator(std::io::Error),
}

/// The waypoint's PEM files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub root: PathBuf,
}

/// What a run needs from the PKI.
pub struct BenchPki {
    pub waypoint: CertFiles,
    /// mTLS as the source workload: TLS 1.3, ALPN h2, no SNI, the waypoint's trust domain
    /// checked (the proxy's own outbound configuration, so the client speaks HBONE as the
    /// waypoint itself does).
    pub client: Arc<rustls::ClientConfig>,
    /// The destination's tunnel endpoint: its SVID, clients' trust domain checked.
    pub dest_server: Arc<rustls::ServerConfig>,
}

fn leaf_params(uri: &str) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.subject_alt_names.push(SanType::URI(uri.try_into()?));
    params.distinguished_name.push(DnType::CommonName, uri);
    Ok(params)
}

fn write(path: PathBuf, text: &str) -> Result<PathBuf, PkiError> {
    std::fs::write(&path, text).map_err(|source| PkiError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

impl BenchPki {
    /// Generates the root and both SVIDs; the waypoint's files go into `dir`.
    pub fn generate(dir: &Path) -> Result<Self, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "microwaf bench mesh root");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;

        let wp_key = KeyPair::generate()?;
        let wp_cert = leaf_params(WAYPOINT_ID)?.signed_by(&wp_key, &ca)?;
        let waypoint = CertFiles {
            cert: write(dir.join("waypoint-cert.pem"), &wp_cert.pem())?,
            key: write(dir.join("waypoint-key.pem"), &wp_key.serialize_pem())?,
            root: write(dir.join("mesh-root.pem"), &ca.pem())?,
        };

        let store = |uri: &str| -> Result<Arc<CertStore>, PkiError> {
            let key = KeyPair::generate()?;
            let cert = leaf_params(uri)?.signed_by(&key, &ca)?;
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
            let certs = MeshCerts::from_der(vec![cert.der().clone()], key, vec![ca.der().clone()])?;
            Ok(CertStore::new(certs))
        };
        let client = tls::client_config(store(SOURCE_ID)?, TRUST_DOMAIN)?;
        let dest_server = tls::server_config(store(DEST_ID)?, TRUST_DOMAIN)?;
        Ok(Self {
            waypoint,
            client,
            dest_server,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_waypoint_svid_and_builds_a_client_config() {
        let dir = std::env::temp_dir().join(format!("microwaf-bench-pki-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pki = BenchPki::generate(&dir).unwrap();
        let cert = std::fs::read_to_string(&pki.waypoint.cert).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
        assert!(std::fs::read_to_string(&pki.waypoint.key)
            .unwrap()
            .contains("PRIVATE KEY"));
        assert_eq!(pki.client.alpn_protocols, vec![b"h2".to_vec()]);
        assert!(!pki.client.enable_sni, "HBONE clients send no SNI");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
