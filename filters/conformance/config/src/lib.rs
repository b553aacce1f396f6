//! VM and plugin configuration: both are read and echoed back in logs and response headers.
//!
//! The text `fail` as VM configuration makes `on_vm_start` return false; as plugin
//! configuration it makes `on_configure` return false. Either must make the plugin fail to load.

use fixture_support::{info, render};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { vm: String::new(), plugin: String::new(), configures: 0 })
    });
}}

struct Root {
    vm: String,
    plugin: String,
    configures: u32,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_vm_start(&mut self, vm_configuration_size: usize) -> bool {
        self.vm = render(&self.get_vm_configuration().unwrap_or_default());
        info(&format!(
            "config: vm_start size={vm_configuration_size} vm={}",
            self.vm
        ));
        self.vm != "fail"
    }

    fn on_configure(&mut self, plugin_configuration_size: usize) -> bool {
        self.plugin = render(&self.get_plugin_configuration().unwrap_or_default());
        self.configures += 1;
        info(&format!(
            "config: configure #{} size={plugin_configuration_size} plugin={}",
            self.configures, self.plugin
        ));
        self.plugin != "fail"
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Echo {
            vm: self.vm.clone(),
            plugin: self.plugin.clone(),
            configures: self.configures,
        }))
    }
}

struct Echo {
    vm: String,
    plugin: String,
    configures: u32,
}

impl Context for Echo {}

impl HttpContext for Echo {
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.add_http_response_header("x-vm-config", &self.vm);
        self.add_http_response_header("x-plugin-config", &self.plugin);
        self.add_http_response_header("x-configure-count", &self.configures.to_string());
        Action::Continue
    }
}
