//! The native `waypoint:` section: schema and conversion to [`WaypointConfig`].

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::schema::{opt_duration, Plugin};
use super::{access_log, plugins};
use crate::config::error::{FieldError, FieldResult};
use crate::config::files::Resolver;
use crate::config::model::{
    WaypointConfig, DEFAULT_CONNECT_TIMEOUT, HBONE_PORT, HEALTH_PORT, METRICS_PORT,
};
use crate::waypoint::certs::{CaConfig, CertsConfig, FilesConfig};
use crate::waypoint::discovery::{DiscoveryConfig, XdsConfig};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waypoint {
    pub address: Option<SocketAddr>,
    pub trust_domain: Option<String>,
    pub health: Option<SocketAddr>,
    pub metrics: Option<SocketAddr>,
    pub hbone_port: Option<u16>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub connect_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub tcp_idle_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub protocol_detection_timeout: Option<Duration>,
    #[serde(default)]
    pub http_filters: Vec<Plugin>,
    #[serde(default)]
    pub network_filters: Vec<Plugin>,
    pub access_log: Option<String>,
    /// Deserialised as the certificate sources define it, so the two cannot drift.
    pub certs: Option<CertsConfig>,
    pub discovery: Option<DiscoveryConfig>,
}

pub fn waypoint(w: Waypoint, files: &Resolver) -> FieldResult<WaypointConfig> {
    let at = "waypoint";
    let trust_domain = w.trust_domain.unwrap_or_else(|| "cluster.local".into());
    let probe = format!("spiffe://{trust_domain}/ns/a/sa/b");
    if probe
        .parse::<crate::waypoint::identity::SpiffeId>()
        .is_err()
    {
        return Err(FieldError::new(
            format!("{at}.trust_domain"),
            "not a valid trust domain (lower-case letters, digits, '-', '.', '_')",
        ));
    }
    let certs = w
        .certs
        .map(|c| certs(c, files, &format!("{at}.certs")))
        .transpose()?;
    let discovery = w
        .discovery
        .map(|d| discovery(d, files, &format!("{at}.discovery")))
        .transpose()?;
    Ok(WaypointConfig {
        address: w
            .address
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], HBONE_PORT))),
        trust_domain,
        health: w
            .health
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], HEALTH_PORT))),
        metrics: w
            .metrics
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], METRICS_PORT))),
        hbone_port: w.hbone_port.unwrap_or(HBONE_PORT),
        connect_timeout: w.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        tcp_idle_timeout: w
            .tcp_idle_timeout
            .unwrap_or(std::time::Duration::from_secs(3600)),
        protocol_detection_timeout: match w.protocol_detection_timeout {
            Some(d) if d.is_zero() => {
                return Err(FieldError::new(
                    format!("{at}.protocol_detection_timeout"),
                    "must be above zero (declare the port's protocol instead)",
                ))
            }
            Some(d) => d,
            None => crate::waypoint::detect::DETECT_TIMEOUT,
        },
        http_filters: plugins(w.http_filters, &format!("{at}.http_filters"), files, false)?,
        network_filters: plugins(
            w.network_filters,
            &format!("{at}.network_filters"),
            files,
            false,
        )?,
        access_log: w.access_log.map(|a| access_log(&a, files)),
        certs,
        discovery,
    })
}

/// Checks that every file the certificate source reads exists (so a typo fails at load, with
/// its field path) and makes the paths absolute, so the source does not depend on the
/// working directory.
fn certs(c: CertsConfig, files: &Resolver, at: &str) -> FieldResult<CertsConfig> {
    let file =
        |p: &std::path::Path, f: &str| files.file(&p.to_string_lossy(), &format!("{at}.{f}"));
    Ok(match c {
        CertsConfig::Files(f) => CertsConfig::Files(FilesConfig {
            cert: file(&f.cert, "cert")?,
            key: file(&f.key, "key")?,
            root: file(&f.root, "root")?,
        }),
        CertsConfig::Ca(ca) => CertsConfig::Ca(CaConfig {
            root: ca.root.as_deref().map(|r| file(r, "ca.root")).transpose()?,
            token_file: file(&ca.token_file, "ca.token_file")?,
            ..ca
        }),
    })
}

/// As [`certs`], for the discovery source's files.
fn discovery(d: DiscoveryConfig, files: &Resolver, at: &str) -> FieldResult<DiscoveryConfig> {
    let file =
        |p: &std::path::Path, f: &str| files.file(&p.to_string_lossy(), &format!("{at}.{f}"));
    Ok(match d {
        DiscoveryConfig::File(p) => DiscoveryConfig::File(file(&p, "file")?),
        DiscoveryConfig::Xds(x) => DiscoveryConfig::Xds(XdsConfig {
            root: x.root.as_deref().map(|r| file(r, "xds.root")).transpose()?,
            token_file: x
                .token_file
                .as_deref()
                .map(|t| file(t, "xds.token_file"))
                .transpose()?,
            ..x
        }),
    })
}
