//! The guest's callback exports, looked up once per instance with their typed signatures.
//! A missing export (or one with an unexpected signature) is simply not called, as in Envoy.

use microwaf_abi::AbiVersion;
use wasmtime::{Instance, Store, TypedFunc};

use crate::host::VmState;

type F1 = TypedFunc<u32, ()>;
type F1R = TypedFunc<u32, u32>;
pub(crate) type F2 = TypedFunc<(u32, u32), ()>;
pub(crate) type F2R = TypedFunc<(u32, u32), u32>;
pub(crate) type F3 = TypedFunc<(u32, u32, u32), ()>;
pub(crate) type F3R = TypedFunc<(u32, u32, u32), u32>;
type F5 = TypedFunc<(u32, u32, u32, u32, u32), ()>;

/// Selects one export of [`Exports`] for [`crate::vm::Vm::call`] when the callback depends on
/// the direction or the event (the export is borrowed, never cloned).
pub(crate) type Pick<F> = fn(&Exports) -> Option<&F>;

/// Headers callbacks: 0.1.0 takes (context, headers); 0.2.x adds end_of_stream.
#[derive(Clone)]
pub(crate) enum HeadersFn {
    V010(F2R),
    V02(F3R),
}

#[derive(Default)]
pub(crate) struct Exports {
    pub initialize: Option<TypedFunc<(), ()>>,
    pub start: Option<TypedFunc<(), ()>>,
    pub main: Option<F2R>,
    pub context_create: Option<F2>,
    pub vm_start: Option<F2R>,
    pub configure: Option<F2R>,
    pub validate: Option<F2R>,
    pub tick: Option<F1>,
    pub queue_ready: Option<F2>,
    pub request_headers: Option<HeadersFn>,
    pub response_headers: Option<HeadersFn>,
    pub request_body: Option<F3R>,
    pub response_body: Option<F3R>,
    pub request_trailers: Option<F2R>,
    pub response_trailers: Option<F2R>,
    /// Envoy's HTTP/2 METADATA callbacks: (context, elements) → FilterMetadataStatus.
    pub request_metadata: Option<F2R>,
    pub response_metadata: Option<F2R>,
    /// (root context, function id, call-data size): an embedder-defined asynchronous callback.
    pub foreign_function: Option<F3>,
    pub log: Option<F1>,
    pub done: Option<F1R>,
    pub delete: Option<F1>,
    pub http_call_response: Option<F5>,
    pub grpc_initial_metadata: Option<F3>,
    pub grpc_receive: Option<F3>,
    pub grpc_trailing_metadata: Option<F3>,
    pub grpc_close: Option<F3>,
    pub new_connection: Option<F1R>,
    pub downstream_data: Option<F3R>,
    pub upstream_data: Option<F3R>,
    pub downstream_close: Option<F2>,
    pub upstream_close: Option<F2>,
}

impl Exports {
    pub fn lookup(instance: &Instance, store: &mut Store<VmState>, abi: AbiVersion) -> Exports {
        macro_rules! f {
            ($name:expr) => {
                instance.get_typed_func(&mut *store, $name).ok()
            };
        }
        let mut headers = |name: &str| -> Option<HeadersFn> {
            if abi == AbiVersion::V0_1_0 {
                instance
                    .get_typed_func(&mut *store, name)
                    .ok()
                    .map(HeadersFn::V010)
            } else {
                instance
                    .get_typed_func(&mut *store, name)
                    .ok()
                    .map(HeadersFn::V02)
            }
        };
        let request_headers = headers("proxy_on_request_headers");
        let response_headers = headers("proxy_on_response_headers");
        Exports {
            initialize: f!("_initialize"),
            start: f!("_start"),
            main: f!("main"),
            context_create: f!("proxy_on_context_create"),
            vm_start: f!("proxy_on_vm_start"),
            configure: f!("proxy_on_configure"),
            validate: f!("proxy_validate_configuration"),
            tick: f!("proxy_on_tick"),
            queue_ready: f!("proxy_on_queue_ready"),
            request_headers,
            response_headers,
            request_body: f!("proxy_on_request_body"),
            response_body: f!("proxy_on_response_body"),
            request_trailers: f!("proxy_on_request_trailers"),
            response_trailers: f!("proxy_on_response_trailers"),
            request_metadata: f!("proxy_on_request_metadata"),
            response_metadata: f!("proxy_on_response_metadata"),
            foreign_function: f!("proxy_on_foreign_function"),
            log: f!("proxy_on_log"),
            done: f!("proxy_on_done"),
            delete: f!("proxy_on_delete"),
            http_call_response: f!("proxy_on_http_call_response"),
            grpc_initial_metadata: f!("proxy_on_grpc_receive_initial_metadata"),
            grpc_receive: f!("proxy_on_grpc_receive"),
            grpc_trailing_metadata: f!("proxy_on_grpc_receive_trailing_metadata"),
            grpc_close: f!("proxy_on_grpc_close"),
            new_connection: f!("proxy_on_new_connection"),
            downstream_data: f!("proxy_on_downstream_data"),
            upstream_data: f!("proxy_on_upstream_data"),
            downstream_close: f!("proxy_on_downstream_connection_close"),
            upstream_close: f!("proxy_on_upstream_connection_close"),
        }
    }
}
