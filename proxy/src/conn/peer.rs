//! Facts about a certificate that filters read as `connection.*` properties and the access log
//! records: URI SANs (SPIFFE IDs), DNS SANs, subject and SHA-256 digest.

use sha2::{Digest, Sha256};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerCert {
    pub uri_sans: Vec<String>,
    pub dns_sans: Vec<String>,
    pub subject: String,
    /// Lower-case hex SHA-256 of the DER certificate (Envoy's `sha256_peer_certificate_digest`).
    pub sha256: String,
}

impl PeerCert {
    /// Parses a DER certificate; `None` if it does not parse (rustls already verified it).
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let mut out = PeerCert {
            subject: cert.subject().to_string(),
            sha256: hex(&Sha256::digest(der)),
            ..Default::default()
        };
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::URI(u) => out.uri_sans.push(u.to_string()),
                    GeneralName::DNSName(d) => out.dns_sans.push(d.to_string()),
                    _ => {}
                }
            }
        }
        Some(out)
    }

    /// The SPIFFE ID, when the certificate carries one.
    pub fn spiffe_id(&self) -> Option<&str> {
        self.uri_sans
            .iter()
            .find(|u| u.starts_with("spiffe://"))
            .map(String::as_str)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
