//! Where the waypoint's certificates come from, as the `waypoint:` configuration writes it:
//!
//! ```yaml
//! certs:                      # files, reloaded when their content changes
//!   cert: certs/cert-chain.pem
//!   key: certs/key.pem
//!   root: certs/root-cert.pem
//! ```
//! or
//! ```yaml
//! certs:                      # the mesh CA's signing flow (as istio-agent and ztunnel do it)
//!   ca:
//!     address: https://istiod.istio-system.svc:15012   # http:// = h2c, for tests
//!     root: /var/run/secrets/istio/root-cert.pem       # verifies the CA (https only)
//!     token_file: /var/run/secrets/tokens/istio-token
//!     identity: spiffe://cluster.local/ns/shop/sa/waypoint
//!     validity: 24h                                    # requested lifetime (default 24h)
//! ```
//! Relative paths are resolved against the configuration file's directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::config::duration;

/// The default requested certificate lifetime, Istio's workload default.
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(24 * 3600);

/// One of the two certificate sources.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawCertsConfig", into = "RawCertsConfig")]
pub enum CertsConfig {
    Files(FilesConfig),
    Ca(CaConfig),
}

/// PEM files: our chain (leaf first), our key, the mesh root(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub root: PathBuf,
}

/// The mesh CA (`istio.v1.auth.IstioCertificateService`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaConfig {
    /// `https://host:port`, or `http://host:port` for HTTP/2 without TLS (h2c).
    pub address: String,
    /// PEM root the CA's serving certificate must chain to; required for `https://`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<PathBuf>,
    /// The projected service-account token, read again before every request (the kubelet
    /// rotates it).
    pub token_file: PathBuf,
    /// The SPIFFE ID to request (the URI SAN of the CSR).
    pub identity: String,
    /// Requested lifetime; the certificate is renewed at half of the lifetime it gets.
    #[serde(
        default = "default_validity",
        deserialize_with = "de_duration",
        serialize_with = "duration::serde_req::serialize"
    )]
    pub validity: Duration,
}

fn default_validity() -> Duration {
    DEFAULT_VALIDITY
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    duration::parse(&text).map_err(serde::de::Error::custom)
}

/// The YAML shape, before checking that exactly one source is given.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawCertsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    root: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ca: Option<CaConfig>,
}

impl TryFrom<RawCertsConfig> for CertsConfig {
    type Error = String;

    fn try_from(raw: RawCertsConfig) -> Result<Self, String> {
        match raw {
            RawCertsConfig {
                cert: Some(cert),
                key: Some(key),
                root: Some(root),
                ca: None,
            } => Ok(CertsConfig::Files(FilesConfig { cert, key, root })),
            RawCertsConfig {
                cert: None,
                key: None,
                root: None,
                ca: Some(ca),
            } => {
                ca.check()?;
                Ok(CertsConfig::Ca(ca))
            }
            RawCertsConfig { ca: Some(_), .. } => {
                Err("give either `cert`, `key` and `root`, or `ca`, not both".into())
            }
            _ => Err("files need all of `cert`, `key` and `root` (or give `ca`)".into()),
        }
    }
}

impl From<CertsConfig> for RawCertsConfig {
    fn from(c: CertsConfig) -> Self {
        match c {
            CertsConfig::Files(f) => RawCertsConfig {
                cert: Some(f.cert),
                key: Some(f.key),
                root: Some(f.root),
                ca: None,
            },
            CertsConfig::Ca(ca) => RawCertsConfig {
                cert: None,
                key: None,
                root: None,
                ca: Some(ca),
            },
        }
    }
}

impl CaConfig {
    /// Whether the CA is reached over TLS (`https://`) rather than h2c.
    pub fn tls(&self) -> bool {
        self.address.starts_with("https://")
    }

    fn check(&self) -> Result<(), String> {
        if !self.address.starts_with("https://") && !self.address.starts_with("http://") {
            return Err(format!(
                "ca.address {:?}: expected https://host:port (or http://host:port for h2c)",
                self.address
            ));
        }
        if self.tls() && self.root.is_none() {
            return Err("ca.root is required with an https:// address".into());
        }
        if self.validity < Duration::from_secs(1) {
            return Err("ca.validity must be at least 1s".into());
        }
        Ok(())
    }
}

impl CertsConfig {
    /// The same configuration with relative paths joined to `base`.
    pub fn resolved(&self, base: &Path) -> CertsConfig {
        let join = |p: &Path| base.join(p);
        match self {
            CertsConfig::Files(f) => CertsConfig::Files(FilesConfig {
                cert: join(&f.cert),
                key: join(&f.key),
                root: join(&f.root),
            }),
            CertsConfig::Ca(ca) => CertsConfig::Ca(CaConfig {
                root: ca.root.as_deref().map(join),
                token_file: join(&ca.token_file),
                ..ca.clone()
            }),
        }
    }
}
