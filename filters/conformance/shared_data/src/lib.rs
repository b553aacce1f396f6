//! Shared data: a process-wide counter (per vm_id) incremented with a CAS retry loop, so
//! concurrent VMs never lose an increment, plus deterministic probes of the CAS rules.
//!
//! Plugin configuration (JSON): `{"key": NAME}` (default `fixture_counter`).

use fixture_support::{info, result_name, Config};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, Status};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { key: String::new() })
    });
}}

/// Key counting the VMs whose `on_configure` ran, across all VMs of this vm_id.
const VMS_KEY: &str = "fixture_vms";
/// Retries before giving up: far above any real contention, low enough to never hang.
const MAX_ATTEMPTS: u32 = 1000;

/// Adds one to the decimal counter under `key` with compare-and-swap; returns the new value
/// and the number of CAS mismatches retried, or the first unexpected status.
fn increment(ctx: &dyn Context, key: &str) -> Result<(u64, u32), Status> {
    for attempt in 0..MAX_ATTEMPTS {
        let (value, cas) = ctx.get_shared_data(key);
        let current: u64 = value
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let next = current + 1;
        match ctx.set_shared_data(key, Some(next.to_string().as_bytes()), cas) {
            Ok(()) => return Ok((next, attempt)),
            Err(Status::CasMismatch) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(Status::CasMismatch)
}

struct Root {
    key: String,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = Config::parse(self.get_plugin_configuration().as_deref());
        self.key = config.str("key", "fixture_counter");
        // The first write of a key cannot be a CAS (cas 0 means "unconditional"), so create the
        // counter here, before any request, instead of racing on it under load.
        if self.get_shared_data(&self.key).0.is_none() {
            let _ = self.set_shared_data(&self.key, Some(b"0"), None);
        }
        match increment(self, VMS_KEY) {
            Ok((vms, _)) => info(&format!("shared_data: vm configured vms={vms}")),
            Err(status) => info(&format!("shared_data: vm count failed {status:?}")),
        }
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Counter {
            context_id,
            key: self.key.clone(),
            headers: Vec::new(),
        }))
    }
}

struct Counter {
    context_id: u32,
    key: String,
    /// Response headers computed in the request phase.
    headers: Vec<(&'static str, String)>,
}

impl Counter {
    /// A stale CAS must be refused: write with the current CAS (Ok), then again with the same,
    /// now stale, CAS (CasMismatch). The key is per context so concurrent streams don't race.
    fn stale_cas_probe(&self, key: &str) -> (String, String) {
        let _ = self.set_shared_data(key, Some(b"0"), None);
        let (_, cas) = self.get_shared_data(key);
        let first = self.set_shared_data(key, Some(b"1"), cas);
        let second = self.set_shared_data(key, Some(b"2"), cas);
        (result_name(&first), result_name(&second))
    }
}

impl Context for Counter {}

impl HttpContext for Counter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let key = self.key.clone();
        match increment(self, &key) {
            Ok((value, retries)) => {
                info(&format!("shared_data: {key}={value} retries={retries}"));
                self.headers.push(("x-shared-counter", value.to_string()));
                self.headers
                    .push(("x-shared-cas-retries", retries.to_string()));
            }
            Err(status) => self
                .headers
                .push(("x-shared-counter", format!("error:{status:?}"))),
        }
        let (missing, missing_cas) = self.get_shared_data("fixture_never_set");
        let missing = match (missing, missing_cas) {
            (None, None) => "none".to_string(),
            (value, cas) => format!("found:{value:?}:{cas:?}"),
        };
        self.headers.push(("x-shared-missing", missing));
        if self.get_http_request_header("x-shared-stale-cas").is_some() {
            let probe_key = format!("{key}_probe_{}", self.context_id);
            let (first, second) = self.stale_cas_probe(&probe_key);
            self.headers.push(("x-shared-cas-first", first));
            self.headers.push(("x-shared-cas-stale", second));
        }
        let (vms, _) = self.get_shared_data(VMS_KEY);
        let vms = vms.map(|v| String::from_utf8_lossy(&v).into_owned());
        self.headers
            .push(("x-shared-vms", vms.unwrap_or_else(|| "none".into())));
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        for (name, value) in std::mem::take(&mut self.headers) {
            self.add_http_response_header(name, &value);
        }
        Action::Continue
    }
}
