//! Timers: `set_tick_period` in `on_configure`, counted ticks in `on_tick`.
//!
//! Plugin configuration (JSON): `{"period_ms": N, "stop_after": M}` (defaults 10 and 0 = never).
//! After M ticks the root context sets the period to 0, which must stop further ticks.

use fixture_support::{info, Config};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|context_id| -> Box<dyn RootContext> {
        Box::new(Root { context_id, ticks: Rc::new(Cell::new(0)), stop_after: 0, metric: None })
    });
}}

struct Root {
    context_id: u32,
    /// Ticks seen by this VM's root context, shared with its stream contexts.
    ticks: Rc<Cell<u64>>,
    stop_after: u64,
    metric: Option<u32>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = Config::parse(self.get_plugin_configuration().as_deref());
        let period = config.u64("period_ms", 10);
        self.stop_after = config.u64("stop_after", 0);
        self.metric = hostcalls::define_metric(MetricType::Counter, "fixture_ticks").ok();
        self.set_tick_period(Duration::from_millis(period));
        info(&format!(
            "ticks: root #{} period_ms={period} stop_after={}",
            self.context_id, self.stop_after
        ));
        true
    }

    fn on_tick(&mut self) {
        let n = self.ticks.get() + 1;
        self.ticks.set(n);
        if let Some(id) = self.metric {
            let _ = hostcalls::increment_metric(id, 1);
        }
        info(&format!("ticks: tick {n} root #{}", self.context_id));
        if n == self.stop_after {
            self.set_tick_period(Duration::ZERO);
            info(&format!("ticks: stopped after {n}"));
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Report {
            ticks: Rc::clone(&self.ticks),
        }))
    }
}

struct Report {
    ticks: Rc<Cell<u64>>,
}

impl Context for Report {}

impl HttpContext for Report {
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.add_http_response_header("x-ticks", &self.ticks.get().to_string());
        Action::Continue
    }
}
