//! The native YAML schema, as serde types. Unknown fields are errors (typos must not pass
//! silently); values are parsed here (durations, addresses, regexes) so that
//! `serde_path_to_error` reports the exact field of any bad value.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::config::model::{Codec, Discovery, LbPolicy, Metadata};
use crate::config::pattern::Pattern;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[serde(default)]
    pub listeners: Vec<Listener>,
    #[serde(default)]
    pub clusters: Vec<Cluster>,
    pub admin: Option<SocketAddr>,
    #[serde(default)]
    pub stats_tags: Vec<StatsTag>,
    #[serde(default)]
    pub singletons: Vec<Plugin>,
    #[serde(default)]
    pub node: Node,
    pub waypoint: Option<super::waypoint::Waypoint>,
    /// A directory (relative to the configuration file), created when missing.
    pub module_cache: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Node {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub cluster: String,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsTag {
    pub tag_name: String,
    #[serde(deserialize_with = "search_pattern")]
    pub regex: Pattern,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    #[default]
    Http,
    Tcp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    pub name: Option<String>,
    pub address: SocketAddr,
    #[serde(default)]
    pub protocol: Protocol,
    pub tls: Option<DownstreamTls>,
    pub codec: Option<Codec>,
    pub stat_prefix: Option<String>,
    #[serde(default)]
    pub filters: Vec<Plugin>,
    pub routes: Option<Vec<Route>>,
    pub virtual_hosts: Option<Vec<VirtualHost>>,
    pub limits: Option<Limits>,
    pub access_log: Option<String>,
    /// TCP listeners: the upstream cluster.
    pub cluster: Option<String>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub idle_timeout: Option<Duration>,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownstreamTls {
    pub cert: String,
    pub key: String,
    pub client_ca: Option<String>,
    #[serde(default)]
    pub require_client_cert: bool,
    #[serde(default)]
    pub alpn: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub buffer_limit_bytes: Option<u32>,
    pub max_request_headers_kb: Option<u32>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub request_headers_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub idle_timeout: Option<Duration>,
    pub max_concurrent_streams: Option<u32>,
    pub max_headers_count: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plugin {
    pub name: String,
    pub code: String,
    #[serde(default)]
    pub root_id: String,
    #[serde(default)]
    pub vm_id: String,
    pub vm_config: Option<serde_json::Value>,
    pub config: Option<serde_json::Value>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub fail_open: bool,
    pub vm_count: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualHost {
    pub name: Option<String>,
    pub domains: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    #[serde(default)]
    pub name: String,
    pub prefix: Option<String>,
    pub path: Option<String>,
    #[serde(default, deserialize_with = "opt_full_pattern")]
    pub regex: Option<Pattern>,
    #[serde(default)]
    pub headers: Vec<Header>,
    #[serde(default = "yes")]
    pub case_sensitive: bool,
    pub cluster: Option<String>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub timeout: Option<Duration>,
    pub prefix_rewrite: Option<String>,
    pub host_rewrite: Option<String>,
    pub retry: Option<Retry>,
    pub direct: Option<Direct>,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: String,
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub contains: Option<String>,
    #[serde(default, deserialize_with = "opt_full_pattern")]
    pub regex: Option<Pattern>,
    pub present: Option<bool>,
    #[serde(default)]
    pub invert: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    pub on: Vec<String>,
    #[serde(default = "one")]
    pub num_retries: u32,
    #[serde(default, deserialize_with = "opt_duration")]
    pub per_try_timeout: Option<Duration>,
    #[serde(default)]
    pub status_codes: Vec<u16>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Direct {
    pub status: u16,
    pub body: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    pub name: String,
    pub endpoints: Vec<String>,
    pub discovery: Option<Discovery>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub connect_timeout: Option<Duration>,
    pub lb: Option<LbPolicy>,
    #[serde(default)]
    pub http2: bool,
    pub tls: Option<UpstreamTls>,
    #[serde(default)]
    pub circuit_breakers: CircuitBreakers,
    #[serde(default, deserialize_with = "opt_duration")]
    pub dns_refresh_rate: Option<Duration>,
    #[serde(default)]
    pub dns_lookup_family: crate::config::model::DnsLookupFamily,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTls {
    pub sni: Option<String>,
    pub ca: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    #[serde(default)]
    pub alpn: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreakers {
    pub max_connections: Option<u32>,
    pub max_pending_requests: Option<u32>,
    pub max_requests: Option<u32>,
    pub max_retries: Option<u32>,
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

pub(super) fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    crate::config::duration::parse(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn opt_full_pattern<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Pattern>, D::Error> {
    let text = String::deserialize(d)?;
    Pattern::full(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn search_pattern<'de, D: Deserializer<'de>>(d: D) -> Result<Pattern, D::Error> {
    let text = String::deserialize(d)?;
    Pattern::search(&text).map_err(serde::de::Error::custom)
}
