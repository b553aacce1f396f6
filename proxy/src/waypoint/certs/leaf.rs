//! Turning a chain, a key and roots (from files or from the CA) into a checked [`MeshCerts`].
//!
//! Everything a peer would reject is rejected here first, with the file named: a leaf without a
//! SPIFFE URI SAN, a key that is not the leaf's, a leaf outside its validity, a chain that does
//! not lead to the mesh root. A set that passes is one the handshakes can use as is.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use x509_parser::extensions::GeneralName;
use x509_parser::time::ASN1Time;

use super::{CertError, MeshCerts};
use crate::waypoint::identity::SpiffeId;

/// Clock skew tolerated on a fresh leaf's `notBefore`: a CA whose clock runs a little ahead
/// must not make a just-issued certificate unusable.
const SKEW: Duration = Duration::from_secs(60);

/// Where the parts came from, for error messages.
pub(crate) struct Origin<'a> {
    pub cert: &'a str,
    pub key: &'a str,
    pub root: &'a str,
}

/// What the leaf says about itself.
pub(crate) struct LeafInfo {
    pub id: SpiffeId,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

/// Checks and assembles one set. `chain` is leaf first; `roots` are the mesh trust anchors.
pub(crate) fn assemble(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    roots: Vec<CertificateDer<'static>>,
    origin: &Origin<'_>,
    now: SystemTime,
) -> Result<MeshCerts, CertError> {
    let leaf = chain.first().ok_or_else(|| CertError::BadCert {
        path: origin.cert.to_owned(),
        reason: "empty chain".into(),
    })?;
    let info = leaf_info(leaf, origin.cert)?;
    if now > info.not_after {
        return Err(CertError::Expired {
            path: origin.cert.to_owned(),
            not_after: fmt_time(info.not_after),
        });
    }
    if now + SKEW < info.not_before {
        return Err(CertError::NotYetValid {
            path: origin.cert.to_owned(),
            not_before: fmt_time(info.not_before),
        });
    }
    let signer =
        rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| CertError::BadKey {
            path: origin.key.to_owned(),
            reason: e.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signer);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(_)) => {
            return Err(CertError::KeyMismatch {
                key: origin.key.to_owned(),
                cert: origin.cert.to_owned(),
            })
        }
        Err(e) => {
            return Err(CertError::BadCert {
                path: origin.cert.to_owned(),
                reason: e.to_string(),
            })
        }
    }
    verify_chain(&certified.cert, &roots, origin, now)?;
    Ok(MeshCerts {
        key: Arc::new(certified),
        id: info.id,
        roots,
        not_after: info.not_after,
    })
}

/// The leaf's SPIFFE ID and validity window.
pub(crate) fn leaf_info(der: &CertificateDer<'_>, path: &str) -> Result<LeafInfo, CertError> {
    let bad = |reason: String| CertError::BadCert {
        path: path.to_owned(),
        reason,
    };
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| bad(e.to_string()))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| bad(e.to_string()))?;
    let uris: Vec<&str> = san
        .iter()
        .flat_map(|s| s.value.general_names.iter())
        .filter_map(|n| match n {
            GeneralName::URI(u) => Some(*u),
            _ => None,
        })
        .collect();
    if uris.is_empty() {
        return Err(CertError::NoUriSan {
            path: path.to_owned(),
        });
    }
    // Istio puts exactly one URI SAN in a workload certificate; take the first SPIFFE one if
    // a CA adds others, and report the first URI's problem otherwise.
    let mut first_err = None;
    let mut found = None;
    for uri in &uris {
        match uri.parse::<SpiffeId>() {
            Ok(id) => {
                found = Some(id);
                break;
            }
            Err(e) => {
                first_err.get_or_insert((*uri, e));
            }
        }
    }
    let id = match (found, first_err) {
        (Some(id), _) => id,
        (None, Some((uri, source))) => {
            return Err(CertError::BadSpiffeId {
                path: path.to_owned(),
                uri: uri.to_owned(),
                source,
            })
        }
        (None, None) => {
            return Err(CertError::NoUriSan {
                path: path.to_owned(),
            })
        }
    };
    let validity = cert.validity();
    Ok(LeafInfo {
        id,
        not_before: to_system(validity.not_before.timestamp()),
        not_after: to_system(validity.not_after.timestamp()),
    })
}

/// The chain must verify as a client certificate under the roots: the waypoint presents it as
/// a client to destinations (and as a server to tunnels, which checks the same chain).
fn verify_chain(
    chain: &[CertificateDer<'static>],
    roots: &[CertificateDer<'static>],
    origin: &Origin<'_>,
    now: SystemTime,
) -> Result<(), CertError> {
    let untrusted = |reason: String| CertError::Untrusted {
        path: origin.cert.to_owned(),
        root: origin.root.to_owned(),
        reason,
    };
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root.clone()).map_err(|e| CertError::BadCert {
            path: origin.root.to_owned(),
            reason: e.to_string(),
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(store), provider)
        .build()
        .map_err(|e| untrusted(e.to_string()))?;
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    verifier
        .verify_client_cert(&chain[0], &chain[1..], UnixTime::since_unix_epoch(since))
        .map(|_| ())
        .map_err(|e| untrusted(e.to_string()))
}

fn to_system(ts: i64) -> SystemTime {
    if ts >= 0 {
        UNIX_EPOCH + Duration::from_secs(ts.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(ts.unsigned_abs())
    }
}

/// A time as certificates print it (`Dec  2 04:56:58 2026 +00:00`).
pub(crate) fn fmt_time(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    ASN1Time::from_timestamp(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| format!("{secs} s after the epoch"))
}

impl MeshCerts {
    /// The leaf's `notBefore` (for the share of its lifetime left); `None` if the leaf no longer
    /// parses, which [`assemble`] rules out for sets built here.
    pub fn not_before(&self) -> Option<SystemTime> {
        let leaf = self.key.cert.first()?;
        leaf_info(leaf, "leaf").ok().map(|i| i.not_before)
    }
}
