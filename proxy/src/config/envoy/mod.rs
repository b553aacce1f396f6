//! The Envoy v3 static bootstrap subset: `static_resources` (listeners, clusters),
//! `bootstrap_extensions` (`envoy.bootstrap.wasm`), `admin`, `stats_config`, `node`.
//!
//! The YAML is walked as a `serde_json::Value` with a path-tracking cursor ([`value::At`]):
//! Envoy's schema is huge and we implement a slice of it, so each object states which fields
//! are implemented, which are cosmetic, and refuses the rest with the field path and why.

mod cluster;
mod hcm;
mod listener;
mod route;
mod tls;
mod typed;
mod value;
mod wasm;

use std::net::{IpAddr, SocketAddr};

use self::typed::typed;
use self::value::{At, Fields};
use super::error::FieldResult;
use super::files::{self, ClusterRefs, Resolver, Unique};
use super::model::{Config, NodeInfo, StatsTag};
use super::pattern::Pattern;

const WASM_SERVICE: &str = "envoy.extensions.wasm.v3.WasmService";

pub fn parse(doc: &serde_json::Value, files: &Resolver) -> FieldResult<Config> {
    let root = At::root(doc);
    let o = root.obj()?;
    o.fields(&Fields {
        known: &[
            "static_resources",
            "bootstrap_extensions",
            "admin",
            "stats_config",
            "node",
        ],
        cosmetic: &[
            "layered_runtime",
            "stats_flush_interval",
            "watchdog",
            "watchdogs",
            "cluster_manager",
            "default_regex_engine",
            "application_log_config",
            "enable_dispatcher_stats",
            "header_prefix",
        ],
        ignored: &["overload_manager", "stats_sinks", "tracing"],
        effect: "not part of the supported static subset",
    })?;
    let mut refs = ClusterRefs::default();
    let mut listeners = Vec::new();
    let mut clusters = Vec::new();
    if let Some(sr) = o.get("static_resources") {
        let sr = sr.obj()?;
        sr.fields(&Fields {
            known: &["listeners", "clusters"],
            cosmetic: &[],
            ignored: &[],
            effect: "not part of the supported static subset",
        })?;
        let mut names = Unique::default();
        for (i, l) in sr.items("listeners")?.iter().enumerate() {
            let listener = listener::listener(l, i, files, &mut refs)?;
            names.insert("listener", &listener.name, l.path())?;
            listeners.push(listener);
        }
        let mut names = Unique::default();
        for c in sr.items("clusters")? {
            let cluster = cluster::cluster(&c, files)?;
            names.insert("cluster", &cluster.name, &format!("{}.name", c.path()))?;
            clusters.push(cluster);
        }
    }
    let config = Config {
        listeners,
        clusters,
        admin: o.get("admin").map(|a| admin(&a)).transpose()?,
        stats_tags: o
            .get("stats_config")
            .map(|s| stats_tags(&s))
            .transpose()?
            .unwrap_or_default(),
        singletons: o
            .get("bootstrap_extensions")
            .map(|b| singletons(&b, files))
            .transpose()?
            .unwrap_or_default(),
        node: o
            .get("node")
            .map(|n| node(&n))
            .transpose()?
            .unwrap_or_default(),
        waypoint: None,
        module_cache: None,
    };
    refs.check(&config)?;
    let listener_paths: Vec<String> = match o
        .get("static_resources")
        .and_then(|s| s.obj().ok()?.get("listeners"))
    {
        Some(l) => l
            .list()?
            .iter()
            .map(|l| format!("{}.address", l.path()))
            .collect(),
        None => Vec::new(),
    };
    files::check_listener_addresses(&config, |i| listener_paths[i].clone())?;
    Ok(config)
}

fn admin(at: &At) -> FieldResult<SocketAddr> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &["address"],
        cosmetic: &[
            "access_log_path",
            "access_log",
            "profile_path",
            "socket_options",
            "ignore_global_conn_limit",
        ],
        ignored: &[],
        effect: "changes the admin server",
    })?;
    let addr = o.req("address")?;
    let (host, port) = cluster::socket_address(&addr)?;
    let ip: IpAddr = host
        .parse()
        .map_err(|_| addr.err(format!("{host:?} is not an IP address")))?;
    Ok(SocketAddr::new(ip, port))
}

/// `stats_config.stats_tags`: `tag_name` + `regex` (fixed_value tags are not supported).
fn stats_tags(at: &At) -> FieldResult<Vec<StatsTag>> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &["stats_tags"],
        cosmetic: &[
            "use_all_default_tags",
            "stats_matcher",
            "histogram_bucket_settings",
        ],
        ignored: &[],
        effect: "changes metric names",
    })?;
    let mut tags = Vec::new();
    for t in o.items("stats_tags")? {
        let to = t.obj()?;
        to.fields(&Fields {
            known: &["tag_name", "regex"],
            cosmetic: &[],
            ignored: &[],
            effect: "changes metric names",
        })?;
        let re = to.req("regex")?;
        tags.push(StatsTag {
            tag_name: to.req("tag_name")?.str()?.to_owned(),
            regex: Pattern::search(re.str()?).map_err(|e| re.err(e))?,
        });
    }
    Ok(tags)
}

/// `bootstrap_extensions`: `envoy.bootstrap.wasm` services (`WasmService{config, singleton}`).
fn singletons(at: &At, files: &Resolver) -> FieldResult<Vec<super::model::WasmPlugin>> {
    let mut out = Vec::new();
    for ext in at.list()? {
        let eo = ext.obj()?;
        eo.fields(&Fields {
            known: &["name", "typed_config"],
            cosmetic: &[],
            ignored: &[],
            effect: "unknown bootstrap extension field",
        })?;
        let (ty, svc) = typed(&eo.req("typed_config")?)?;
        if ty != WASM_SERVICE {
            return Err(ext.err(format!("bootstrap extension {ty:?} not supported")));
        }
        svc.fields(&Fields {
            known: &["config", "singleton"],
            cosmetic: &[],
            ignored: &[],
            effect: "changes plugin behaviour",
        })?;
        let singleton = svc
            .get("singleton")
            .map(|s| s.bool())
            .transpose()?
            .unwrap_or(false);
        out.push(wasm::plugin(&svc.req("config")?, files, singleton)?);
    }
    Ok(out)
}

fn node(at: &At) -> FieldResult<NodeInfo> {
    let o = at.obj()?;
    o.fields(&Fields {
        known: &["id", "cluster", "metadata"],
        cosmetic: &[
            "locality",
            "user_agent_name",
            "user_agent_version",
            "extensions",
            "client_features",
        ],
        ignored: &[],
        effect: "unknown node field",
    })?;
    let text = |k: &str| o.get(k).map(|v| v.str().map(str::to_owned)).transpose();
    Ok(NodeInfo {
        id: text("id")?.unwrap_or_default(),
        cluster: text("cluster")?.unwrap_or_default(),
        metadata: match o.get("metadata") {
            Some(m) => m.obj()?.map.clone(),
            None => Default::default(),
        },
    })
}

#[cfg(test)]
mod field_tests;
#[cfg(test)]
mod tests;
