//! Why a certificate set could not be loaded or obtained. Every variant names the file (or the
//! CA) and what is wrong with it, because these errors end up in a pod's log, read by someone
//! who has to find which mounted secret or which CA setting to fix.

use std::path::PathBuf;

use crate::conn::tls::TlsError;
use crate::waypoint::identity::SpiffeIdError;

/// A certificate set that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Unreadable file, or no certificate / key in its PEM.
    #[error(transparent)]
    Pem(#[from] TlsError),
    #[error("{path}: not a valid X.509 certificate: {reason}")]
    BadCert { path: String, reason: String },
    #[error("{path}: the leaf certificate has no URI SAN (a SPIFFE ID is required)")]
    NoUriSan { path: String },
    #[error("{path}: the leaf's URI SAN {uri:?} is not a mesh SPIFFE ID: {source}")]
    BadSpiffeId {
        path: String,
        uri: String,
        source: SpiffeIdError,
    },
    #[error("{key}: the private key does not match the certificate in {cert}")]
    KeyMismatch { key: String, cert: String },
    #[error("{path}: unsupported or invalid private key: {reason}")]
    BadKey { path: String, reason: String },
    #[error("{path}: the leaf certificate expired at {not_after} (UTC)")]
    Expired { path: String, not_after: String },
    #[error("{path}: the leaf certificate is not valid before {not_before} (UTC)")]
    NotYetValid { path: String, not_before: String },
    #[error("{path}: the leaf certificate does not chain to the root in {root}: {reason}")]
    Untrusted {
        path: String,
        root: String,
        reason: String,
    },
    #[error("certs: identity {identity:?} is not a mesh SPIFFE ID: {source}")]
    Identity {
        identity: String,
        source: SpiffeIdError,
    },
    #[error("certs: the CA issued a certificate for {got}, but {want} was requested")]
    WrongIdentity { want: String, got: String },
    #[error(transparent)]
    Ca(#[from] CaError),
}

/// A failed certificate-signing exchange with the mesh CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("CA address {address:?}: {reason}")]
    Address { address: String, reason: String },
    #[error("CA token file {}: {source}", .path.display())]
    Token {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("CA token file {}: empty", .path.display())]
    EmptyToken { path: PathBuf },
    #[error("CA {address}: connecting: {reason}")]
    Connect { address: String, reason: String },
    #[error("CA {address}: HTTP status {status}")]
    Http { address: String, status: u16 },
    #[error("CA {address}: gRPC status {code} ({name}): {message}")]
    Status {
        address: String,
        code: u32,
        name: &'static str,
        message: String,
    },
    #[error("CA {address}: invalid response: {reason}")]
    Response { address: String, reason: String },
    #[error("CA {address}: no reply within {secs} s")]
    Timeout { address: String, secs: u64 },
    #[error("generating the key pair or the CSR: {0}")]
    Csr(String),
}
