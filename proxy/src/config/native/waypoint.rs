//! The native `waypoint:` section: schema and conversion to [`WaypointConfig`].

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::schema::{opt_duration, Plugin};
use super::{access_log, plugins};
use crate::config::error::{FieldError, FieldResult};
use crate::config::files::Resolver;
use crate::config::model::{
    DataSource, DiscoverySource, MeshCertFiles, WaypointConfig, DEFAULT_CONNECT_TIMEOUT, HBONE_PORT,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waypoint {
    pub address: Option<SocketAddr>,
    pub trust_domain: Option<String>,
    pub hbone_port: Option<u16>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub connect_timeout: Option<Duration>,
    #[serde(default)]
    pub http_filters: Vec<Plugin>,
    #[serde(default)]
    pub network_filters: Vec<Plugin>,
    pub access_log: Option<String>,
    pub certs: Option<Certs>,
    pub discovery: Option<Discovery>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certs {
    pub cert: String,
    pub key: String,
    pub root: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discovery {
    pub file: String,
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
        .map(|c| {
            let file = |v: &str, f: &str| {
                files
                    .file(v, &format!("{at}.certs.{f}"))
                    .map(DataSource::File)
            };
            Ok::<_, FieldError>(MeshCertFiles {
                cert: file(&c.cert, "cert")?,
                key: file(&c.key, "key")?,
                root: file(&c.root, "root")?,
            })
        })
        .transpose()?;
    let discovery = w
        .discovery
        .map(|d| {
            files
                .file(&d.file, &format!("{at}.discovery.file"))
                .map(DiscoverySource::File)
        })
        .transpose()?;
    Ok(WaypointConfig {
        address: w
            .address
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], HBONE_PORT))),
        trust_domain,
        hbone_port: w.hbone_port.unwrap_or(HBONE_PORT),
        connect_timeout: w.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
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
