//! Choosing and starting a discovery source from the waypoint configuration:
//!
//! ```yaml
//! discovery:
//!   file: mesh-services.yaml        # relative to the configuration file's directory
//! # or
//! discovery:
//!   xds:
//!     address: https://istiod.istio-system.svc:15012   # http:// = h2c, for tests
//!     root: /var/run/secrets/istio/root-cert.pem       # verifies the control plane (https only)
//!     server_name: istiod.istio-system.svc             # default: the host of `address`
//!     token_file: /var/run/secrets/tokens/istio-token  # sent as `authorization: Bearer …`
//!     node_id: waypoint~10.0.0.5~waypoint-abc.shop~shop.svc.cluster.local
//!     cluster: Kubernetes
//!     connect_timeout: 10s
//! ```
//!
//! The address form is the same as the mesh CA's (`certs.ca`): a URL with the scheme saying
//! whether TLS is used, and `root` required for `https://`.
//!
//! [`start`] checks what it can before returning (the file loads, the root CA parses, the
//! token file is readable, the address is `http(s)://host:port`), so a broken setting stops the
//! waypoint at start instead of leaving it never ready.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use super::xds::connect::Target;
use super::xds::proto::Node;
use super::xds::XdsClient;
use super::{file, Publisher};
use crate::config::{ConfigError, DataSource};
use crate::conn::tls::TlsError;

/// How often the discovery file's content is checked.
pub const FILE_POLL: Duration = Duration::from_secs(1);

/// Where the waypoint learns its destinations: `{file: PATH}` or `{xds: {…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "OneOf", into = "OneOf")]
pub enum DiscoveryConfig {
    /// A static file ([`file`] describes the format), reloaded when it changes.
    File(PathBuf),
    /// The mesh control plane's workload discovery.
    Xds(XdsConfig),
}

/// The YAML shape of [`DiscoveryConfig`]: serde_yaml_ng reads externally tagged enums only
/// from `!tags`, so the choice is two optional keys, exactly one of them set.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct OneOf {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    xds: Option<XdsConfig>,
}

impl TryFrom<OneOf> for DiscoveryConfig {
    type Error = &'static str;

    fn try_from(o: OneOf) -> Result<Self, Self::Error> {
        match (o.file, o.xds) {
            (Some(f), None) => Ok(DiscoveryConfig::File(f)),
            (None, Some(x)) => Ok(DiscoveryConfig::Xds(x)),
            _ => Err("exactly one of `file` or `xds` is required"),
        }
    }
}

impl From<DiscoveryConfig> for OneOf {
    fn from(c: DiscoveryConfig) -> Self {
        match c {
            DiscoveryConfig::File(f) => OneOf {
                file: Some(f),
                xds: None,
            },
            DiscoveryConfig::Xds(x) => OneOf {
                file: None,
                xds: Some(x),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct XdsConfig {
    /// `https://host:port`, or `http://host:port` for HTTP/2 without TLS (h2c).
    pub address: String,
    /// PEM root CA(s) the control plane's certificate must chain to; required for `https://`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<PathBuf>,
    /// The name to verify the control plane's certificate against (TLS only).
    #[serde(default)]
    pub server_name: Option<String>,
    /// A file holding a bearer token (e.g. a projected service-account token).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// The xDS node id; Istio expects `type~ip~pod.namespace~namespace.svc.cluster.local`.
    #[serde(default)]
    pub node_id: Option<String>,
    /// The xDS node cluster.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Limit for connecting, TLS and the response headers (`"10s"`, `"500ms"`).
    #[serde(default, with = "opt_duration")]
    pub connect_timeout: Option<Duration>,
}

/// The node id sent when none is configured.
pub const DEFAULT_NODE_ID: &str = "waypoint~0.0.0.0~microwaf.default~default.svc.cluster.local";

/// A discovery setting that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The discovery file is missing or invalid.
    #[error("discovery.file: {0}")]
    File(#[from] ConfigError),
    #[error("discovery.xds.address: {address:?}: {reason}")]
    Address { address: String, reason: String },
    #[error("discovery.xds.root: {0}")]
    TlsRoot(#[source] TlsError),
    #[error("discovery.xds.server_name: {0:?} is not a valid TLS server name")]
    ServerName(String),
    #[error("discovery.xds.token_file: {file}: {source}")]
    Token {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

/// Starts the configured source publishing to `publisher`; relative paths are resolved
/// against `base_dir`. Must be called inside a tokio runtime. A file is loaded (and
/// published) before this returns; the xDS client publishes after its first response.
pub async fn start(
    cfg: &DiscoveryConfig,
    base_dir: &Path,
    publisher: Publisher,
) -> Result<JoinHandle<()>, DiscoveryError> {
    match cfg {
        DiscoveryConfig::File(path) => Ok(file::watch::watch(
            &base_dir.join(path),
            publisher,
            FILE_POLL,
        )?),
        DiscoveryConfig::Xds(x) => {
            let client = xds_client(x, base_dir, publisher)?;
            Ok(tokio::spawn(client.run()))
        }
    }
}

/// Validates an xDS setting into a client (not yet connected).
pub fn xds_client(
    x: &XdsConfig,
    base_dir: &Path,
    publisher: Publisher,
) -> Result<XdsClient, DiscoveryError> {
    let bad = |reason: &str| DiscoveryError::Address {
        address: x.address.clone(),
        reason: reason.into(),
    };
    let (https, authority) = match x.address.split_once("://") {
        Some(("https", rest)) => (true, rest),
        Some(("http", rest)) => (false, rest),
        _ => {
            return Err(bad(
                "expected https://host:port (or http://host:port for h2c)",
            ))
        }
    };
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| bad("expected https://host:port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains('/') || !port.parse::<u16>().is_ok_and(|p| p != 0) {
        return Err(bad("expected https://host:port"));
    }
    let tls = match (https, &x.root) {
        (false, _) => None,
        (true, None) => return Err(bad("https:// needs `root` to verify the control plane")),
        (true, Some(root)) => {
            let roots = crate::conn::tls::root_store(&DataSource::File(base_dir.join(root)))
                .map_err(DiscoveryError::TlsRoot)?;
            let mut config =
                rustls::ClientConfig::builder_with_provider(crate::conn::tls::provider())
                    .with_safe_default_protocol_versions()
                    .map_err(|e| DiscoveryError::TlsRoot(e.into()))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
            config.alpn_protocols = vec![b"h2".to_vec()];
            let name = x.server_name.clone().unwrap_or_else(|| host.to_owned());
            let server_name =
                ServerName::try_from(name.clone()).map_err(|_| DiscoveryError::ServerName(name))?;
            Some((Arc::new(config), server_name))
        }
    };
    let token_file = x.token_file.as_ref().map(|t| base_dir.join(t));
    if let Some(t) = &token_file {
        std::fs::File::open(t)
            .map(drop)
            .map_err(|source| DiscoveryError::Token {
                file: t.display().to_string(),
                source,
            })?;
    }
    let node = Node {
        id: x.node_id.clone().unwrap_or_else(|| DEFAULT_NODE_ID.into()),
        cluster: x.cluster.clone().unwrap_or_default(),
        user_agent_name: "microwaf".into(),
    };
    let target = Target {
        authority: authority.to_owned(),
        tls,
        connect_timeout: x.connect_timeout.unwrap_or(Duration::from_secs(10)),
    };
    Ok(XdsClient::new(target, node, token_file, publisher))
}

/// `Option<Duration>` as the configuration's duration strings.
mod opt_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| crate::config::duration::parse(&s).map_err(serde::de::Error::custom))
            .transpose()
    }

    pub fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_str(&crate::config::duration::format(*d)),
            None => s.serialize_none(),
        }
    }
}
