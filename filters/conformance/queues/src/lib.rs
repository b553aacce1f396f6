//! Shared queues: a consumer root context registers a queue and drains it in `on_queue_ready`;
//! producer stream contexts resolve the queue and enqueue one message per request.
//!
//! Plugin configuration (JSON): `{"role": "consumer"|"producer"|"both", "queue": NAME,
//! "vm_id": VM_ID}` (defaults `both`, `fixture_queue`, empty vm_id).

use fixture_support::{info, Config};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { role: String::new(), queue: String::new(), vm_id: String::new(), dequeued: None })
    });
}}

struct Root {
    role: String,
    queue: String,
    vm_id: String,
    /// Counter metric `fixture_queue_dequeued`, defined by consumers.
    dequeued: Option<u32>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = Config::parse(self.get_plugin_configuration().as_deref());
        self.role = config.str("role", "both");
        self.queue = config.str("queue", "fixture_queue");
        self.vm_id = config.str("vm_id", "");
        if self.role != "producer" {
            let id = self.register_shared_queue(&self.queue);
            self.dequeued =
                hostcalls::define_metric(MetricType::Counter, "fixture_queue_dequeued").ok();
            info(&format!("queues: registered {} id={id}", self.queue));
        }
        true
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        info(&format!("queues: ready id={queue_id}"));
        loop {
            match self.dequeue_shared_queue(queue_id) {
                Ok(Some(message)) => {
                    info(&format!(
                        "queues: dequeued {}",
                        String::from_utf8_lossy(&message)
                    ));
                    if let Some(metric) = self.dequeued {
                        let _ = hostcalls::increment_metric(metric, 1);
                    }
                }
                Ok(None) => {
                    info("queues: drained");
                    break;
                }
                Err(status) => {
                    info(&format!("queues: dequeue failed {status:?}"));
                    break;
                }
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Producer {
            produce: self.role != "consumer",
            queue: self.queue.clone(),
            vm_id: self.vm_id.clone(),
            result: None,
        }))
    }
}

struct Producer {
    produce: bool,
    queue: String,
    vm_id: String,
    /// The `x-queue-enqueue` response header value.
    result: Option<String>,
}

impl Context for Producer {}

impl HttpContext for Producer {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if !self.produce {
            return Action::Continue;
        }
        let message = self
            .get_http_request_header("x-queue-message")
            .or_else(|| self.get_http_request_header(":path"))
            .unwrap_or_default();
        let result = match self.resolve_shared_queue(&self.vm_id, &self.queue) {
            None => "unresolved".to_string(),
            Some(id) => match self.enqueue_shared_queue(id, Some(message.as_bytes())) {
                Ok(()) => "ok".to_string(),
                Err(status) => format!("{status:?}"),
            },
        };
        info(&format!("queues: enqueue {message} -> {result}"));
        self.result = Some(result);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(result) = self.result.take() {
            self.add_http_response_header("x-queue-enqueue", &result);
        }
        Action::Continue
    }
}
