//! The root context: loads the policy in `on_configure` and hands each stream the VM's shared
//! state.

use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;

use crate::stream::Stream;
use crate::vm::Vm;

#[derive(Default)]
pub struct Root {
    vm: Option<Rc<Vm>>,
}

impl Context for Root {}

impl RootContext for Root {
    /// An invalid policy fails the plugin load with a message naming the field, because that
    /// log line is all an operator gets.
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        match Vm::new(&config) {
            Ok(vm) => {
                log::info!(
                    "microwaf: policy loaded ({} endpoints, {} categories)",
                    vm.inspector.policy().endpoints().len(),
                    vm.inspector.policy().enabled_categories().count()
                );
                self.vm = Some(Rc::new(vm));
                true
            }
            Err(e) => {
                log::error!("microwaf: invalid policy: {e}");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream::new(self.vm.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
