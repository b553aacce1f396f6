//! Metrics: a counter, a gauge and a histogram defined in `on_configure`, updated per request,
//! read back with `get_metric`, plus probes of the documented error statuses.

use fixture_support::{info, result_name};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { ids: None })
    });
}}

/// Metric ids of one VM.
#[derive(Debug, Clone, Copy)]
struct Ids {
    requests: u32,
    inflight: u32,
    headers: u32,
}

struct Root {
    ids: Option<Ids>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let define = |kind, name| hostcalls::define_metric(kind, name);
        let (Ok(requests), Ok(inflight), Ok(headers), Ok(fixed)) = (
            define(MetricType::Counter, "fixture_requests_total"),
            define(MetricType::Gauge, "fixture_inflight"),
            define(MetricType::Histogram, "fixture_request_headers"),
            define(MetricType::Gauge, "fixture_gauge_fixed"),
        ) else {
            info("metrics: define failed");
            return false;
        };
        let record = hostcalls::record_metric(fixed, 42);
        let zero = hostcalls::increment_metric(requests, 0);
        let negative = hostcalls::increment_metric(requests, -1);
        let fixed_value = hostcalls::get_metric(fixed);
        info(&format!(
            "metrics: defined requests={requests} inflight={inflight} headers={headers} fixed={fixed}"
        ));
        info(&format!(
            "metrics: probes record_gauge={} counter_increment_zero={} counter_increment_negative={} gauge_value={}",
            result_name(&record),
            result_name(&zero),
            result_name(&negative),
            fixed_value.map_or_else(|s| format!("{s:?}"), |v| v.to_string())
        ));
        self.ids = Some(Ids {
            requests,
            inflight,
            headers,
        });
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            ids: self.ids?,
            counted: false,
        }))
    }
}

struct Stream {
    ids: Ids,
    /// Whether this stream incremented the in-flight gauge (decremented in `on_log`).
    counted: bool,
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, num_headers: usize, _end_of_stream: bool) -> Action {
        let _ = hostcalls::increment_metric(self.ids.requests, 1);
        let _ = hostcalls::increment_metric(self.ids.inflight, 1);
        let _ = hostcalls::record_metric(self.ids.headers, num_headers as u64);
        self.counted = true;
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let read =
            |id| hostcalls::get_metric(id).map_or_else(|s| format!("{s:?}"), |v| v.to_string());
        self.add_http_response_header("x-metric-requests", &read(self.ids.requests));
        self.add_http_response_header("x-metric-inflight", &read(self.ids.inflight));
        Action::Continue
    }

    fn on_log(&mut self) {
        if self.counted {
            let _ = hostcalls::increment_metric(self.ids.inflight, -1);
        }
    }
}
