//! `static_resources.listeners[]`: address, one filter chain, TLS, and either an
//! `http_connection_manager` or a `tcp_proxy` (with network wasm filters before it).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::cluster::socket_address;
use super::typed::{metadata, typed};
use super::value::{At, Fields};
use crate::config::error::FieldResult;
use crate::config::files::{ClusterRefs, Resolver};
use crate::config::model::*;

const HCM: &str =
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const TCP_PROXY: &str = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
const NETWORK_WASM: &str = "envoy.extensions.filters.network.wasm.v3.Wasm";
/// Listener filters that only sniff the protocol; our listeners do that themselves.
const SNIFFERS: [&str; 2] = [
    "envoy.filters.listener.tls_inspector",
    "envoy.filters.listener.http_inspector",
];

pub fn listener(
    at: &At,
    index: usize,
    files: &Resolver,
    refs: &mut ClusterRefs,
) -> FieldResult<Listener> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &[
            "name",
            "address",
            "metadata",
            "filter_chains",
            "per_connection_buffer_limit_bytes",
            "listener_filters",
        ],
        cosmetic: &[
            "stat_prefix",
            "traffic_direction",
            "enable_reuse_port",
            "reuse_port",
            "tcp_backlog_size",
            "continue_on_listener_filters_timeout",
            "listener_filters_timeout",
            "freebind",
            "transparent",
            "socket_options",
            "drain_type",
            "ignore_global_conn_limit",
            "bind_to_port",
        ],
        ignored: &["access_log"],
        effect: "changes traffic handling",
    })?;
    let name = match o.get("name") {
        Some(n) => n.str()?.to_owned(),
        None => format!("listener_{index}"),
    };
    let address_at = o.req("address")?;
    let (host, port) = socket_address(&address_at)?;
    let ip: IpAddr = host.parse().map_err(|_| {
        address_at.err(format!(
            "{host:?} is not an IP address (listeners bind IPs)"
        ))
    })?;
    if let Some(filters) = o.get("listener_filters") {
        for f in filters.list()? {
            let fname = f.obj()?.req("name")?.str()?;
            if !SNIFFERS.contains(&fname) {
                return Err(f.err(format!("listener filter {fname:?} not supported")));
            }
        }
    }
    let chains = o.req("filter_chains")?.list()?;
    if chains.len() != 1 {
        return Err(o
            .req("filter_chains")?
            .err("exactly one filter chain is supported"));
    }
    let chain = chains[0].obj()?;
    chain.fields(&Fields {
        known: &["filters", "transport_socket", "filter_chain_match"],
        cosmetic: &["name", "transport_socket_connect_timeout", "metadata"],
        ignored: &[],
        effect: "changes traffic handling",
    })?;
    if let Some(m) = chain.get("filter_chain_match") {
        if !m.obj()?.map.is_empty() {
            return Err(m.err("not supported (changes routing)"));
        }
    }
    let tls = chain
        .get("transport_socket")
        .map(|t| super::tls::downstream(&t, files))
        .transpose()?;
    let buffer_limit = o
        .get("per_connection_buffer_limit_bytes")
        .map(|b| b.u32_wrapper())
        .transpose()?;
    let kind = filters(&chain.req("filters")?, files, refs, buffer_limit)?;
    Ok(Listener {
        name,
        address: SocketAddr::new(ip, port),
        tls,
        kind,
        metadata: o
            .get("metadata")
            .map(|m| metadata(&m))
            .transpose()?
            .unwrap_or_default(),
    })
}

/// The network filter list: zero or more network wasm filters, then exactly one terminal
/// filter (`http_connection_manager` or `tcp_proxy`).
fn filters(
    at: &At,
    files: &Resolver,
    refs: &mut ClusterRefs,
    buffer_limit: Option<u32>,
) -> FieldResult<ListenerKind> {
    let list = at.list()?;
    let mut wasm = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let fo = f.obj()?;
        fo.fields(&Fields {
            known: &["name", "typed_config"],
            cosmetic: &[],
            ignored: &[],
            effect: "changes traffic handling",
        })?;
        let name = fo.req("name")?.str()?;
        let (ty, cfg) = typed(&fo.req("typed_config")?)?;
        let last = i + 1 == list.len();
        match ty.as_str() {
            NETWORK_WASM => wasm.push(super::wasm::filter(&cfg, files)?),
            HCM if last => {
                if !wasm.is_empty() {
                    return Err(f.err(
                        "network wasm filters before an http_connection_manager are not supported",
                    ));
                }
                let mut hcm = super::hcm::hcm(&cfg, files, refs)?;
                if let Some(limit) = buffer_limit {
                    hcm.limits.buffer_limit_bytes = limit;
                }
                return Ok(ListenerKind::Http(hcm));
            }
            TCP_PROXY if last => {
                return tcp_proxy(&cfg.at, wasm, refs, files).map(ListenerKind::Tcp)
            }
            HCM | TCP_PROXY => {
                return Err(f.err(format!("{name}: must be the last filter of the chain")))
            }
            other => {
                return Err(f.err(format!(
                    "network filter {name:?} ({other}) not supported; microwaf runs network wasm \
                     filters before a tcp_proxy or http_connection_manager"
                )))
            }
        }
    }
    Err(at.err("the chain needs an http_connection_manager or tcp_proxy filter last"))
}

fn tcp_proxy(
    at: &At,
    network_filters: Vec<WasmPlugin>,
    refs: &mut ClusterRefs,
    files: &Resolver,
) -> FieldResult<TcpProxy> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &["cluster", "idle_timeout", "access_log"],
        cosmetic: &[
            "stat_prefix",
            "max_connect_attempts",
            "access_log_flush_interval",
        ],
        ignored: &[],
        effect: "changes traffic handling",
    })?;
    let cluster_at = o.req("cluster")?;
    let cluster = cluster_at.str()?.to_owned();
    refs.add(&cluster, cluster_at.path().to_owned());
    let idle = o
        .get("idle_timeout")
        .map(|t| t.duration())
        .transpose()?
        .unwrap_or(Duration::from_secs(3600));
    let access_log = o
        .get("access_log")
        .map(|a| super::hcm::access_log(&a, files))
        .transpose()?
        .flatten();
    Ok(TcpProxy {
        cluster,
        network_filters,
        idle_timeout: Some(idle).filter(|t| !t.is_zero()),
        access_log,
    })
}
