//! Network (L4) filter callbacks with buffer rewrites.
//!
//! Downstream data (client → upstream) is upper-cased in place (replace-all form); the first
//! upstream chunk (upstream → client) gets `l4:` prepended (prepend form). Both rewrites are
//! independent of how the bytes are chunked, so tests can assert exact output. Byte and
//! connection counts go to counters `fixture_l4_connections`, `fixture_l4_downstream_bytes`
//! and `fixture_l4_upstream_bytes`. Plugin configuration `route=<cluster>` and/or `idle=<ms>`
//! make each new connection set Envoy's `envoy.tcp_proxy.cluster` /
//! `envoy.tcp_proxy.per_connection_idle_timeout_ms` filter state (foreign function
//! `set_envoy_filter_state`), so `tcp_proxy` connects to that cluster, with that idle timeout.

use fixture_support::info;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, RootContext, StreamContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType, PeerType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { metrics: None, route: None, idle: None })
    });
}}

#[derive(Debug, Clone, Copy)]
struct Metrics {
    connections: u32,
    downstream: u32,
    upstream: u32,
}

struct Root {
    metrics: Option<Metrics>,
    /// `route=<cluster>` from the plugin configuration.
    route: Option<String>,
    /// `idle=<ms>` from the plugin configuration.
    idle: Option<String>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self
            .get_plugin_configuration()
            .and_then(|c| String::from_utf8(c).ok())
            .unwrap_or_default();
        let setting = |name: &str| {
            config
                .split_whitespace()
                .find_map(|t| t.strip_prefix(name).map(str::to_owned))
        };
        self.route = setting("route=");
        self.idle = setting("idle=");
        let define = |name| hostcalls::define_metric(MetricType::Counter, name);
        if let (Ok(connections), Ok(downstream), Ok(upstream)) = (
            define("fixture_l4_connections"),
            define("fixture_l4_downstream_bytes"),
            define("fixture_l4_upstream_bytes"),
        ) {
            self.metrics = Some(Metrics {
                connections,
                downstream,
                upstream,
            });
        }
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::StreamContext)
    }

    fn create_stream_context(&self, context_id: u32) -> Option<Box<dyn StreamContext>> {
        Some(Box::new(Connection {
            context_id,
            metrics: self.metrics,
            upstream_started: false,
            route: self.route.clone(),
            idle: self.idle.clone(),
        }))
    }
}

struct Connection {
    context_id: u32,
    metrics: Option<Metrics>,
    upstream_started: bool,
    route: Option<String>,
    idle: Option<String>,
}

fn peer(peer: PeerType) -> &'static str {
    match peer {
        PeerType::Local => "local",
        PeerType::Remote => "remote",
        _ => "unknown",
    }
}

impl Connection {
    fn count(&self, pick: fn(&Metrics) -> u32, amount: usize) {
        if let (Some(metrics), true) = (self.metrics, amount > 0) {
            let _ = hostcalls::increment_metric(pick(&metrics), amount as i64);
        }
    }
}

impl Context for Connection {}

impl StreamContext for Connection {
    fn on_new_connection(&mut self) -> Action {
        info(&format!("l4: new connection #{}", self.context_id));
        self.count(|m| m.connections, 1);
        let keys = [
            ("envoy.tcp_proxy.cluster", &self.route),
            ("envoy.tcp_proxy.per_connection_idle_timeout_ms", &self.idle),
        ];
        for (key, value) in keys {
            let Some(value) = value else { continue };
            // SetEnvoyFilterStateArguments: path = 1, value = 2 (both length-delimited).
            let mut args = Vec::new();
            for (tag, field) in [(0x0a, key), (0x12, value.as_str())] {
                args.push(tag);
                args.push(field.len() as u8);
                args.extend_from_slice(field.as_bytes());
            }
            let status = hostcalls::call_foreign_function("set_envoy_filter_state", Some(&args));
            info(&format!(
                "l4: set {key}={value} #{}: {}",
                self.context_id,
                if status.is_ok() { "ok" } else { "refused" }
            ));
        }
        Action::Continue
    }

    fn on_downstream_data(&mut self, data_size: usize, end_of_stream: bool) -> Action {
        info(&format!(
            "l4: downstream data #{} size={data_size} end_of_stream={end_of_stream}",
            self.context_id
        ));
        self.count(|m| m.downstream, data_size);
        if let Some(data) = self.get_downstream_data(0, data_size) {
            self.set_downstream_data(0, data.len(), &data.to_ascii_uppercase());
        }
        Action::Continue
    }

    fn on_downstream_close(&mut self, peer_type: PeerType) {
        info(&format!(
            "l4: downstream close #{} peer={}",
            self.context_id,
            peer(peer_type)
        ));
    }

    fn on_upstream_data(&mut self, data_size: usize, end_of_stream: bool) -> Action {
        info(&format!(
            "l4: upstream data #{} size={data_size} end_of_stream={end_of_stream}",
            self.context_id
        ));
        self.count(|m| m.upstream, data_size);
        if !self.upstream_started && data_size > 0 {
            self.upstream_started = true;
            self.set_upstream_data(0, 0, b"l4:");
        }
        Action::Continue
    }

    fn on_upstream_close(&mut self, peer_type: PeerType) {
        info(&format!(
            "l4: upstream close #{} peer={}",
            self.context_id,
            peer(peer_type)
        ));
    }

    fn on_log(&mut self) {
        info(&format!("l4: log #{}", self.context_id));
    }
}
