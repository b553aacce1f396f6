//! L4 (network filter) connections: new connection, data in both directions with buffer
//! rewrite, and close notifications.

use bytes::BytesMut;
use microwaf_abi::PeerType;

use crate::config::FailPolicy;
use crate::exports::{Pick, F2, F3R};
use crate::stream::StreamCore;

/// What to do with a connection after a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkDecision {
    /// Forward the (possibly rewritten) data.
    Continue,
    /// Hold the data (kept by the runtime and passed again, accumulated, next call).
    Pause,
    /// The plugin failed closed: close the connection.
    Close,
}

/// One L4 connection's context. Dropping it runs `on_log`, `on_done` and `on_delete`.
pub struct NetworkStream {
    core: StreamCore,
}

impl NetworkStream {
    pub(crate) fn new(core: StreamCore) -> Self {
        NetworkStream { core }
    }

    pub fn context_id(&self) -> u32 {
        self.core.id
    }

    pub fn is_failed(&self) -> bool {
        self.core.is_failed()
    }

    fn fail_decision(&self) -> NetworkDecision {
        match self.core.policy() {
            FailPolicy::FailOpen => NetworkDecision::Continue,
            FailPolicy::FailClosed => NetworkDecision::Close,
        }
    }

    /// The filter-state value this connection's filter stored under `key` (Envoy's
    /// `set_envoy_filter_state`, e.g. `envoy.tcp_proxy.cluster`), read by the embedder's
    /// `tcp_proxy` after the new-connection callbacks, as Envoy's reads it when it connects.
    pub fn filter_state(&mut self, key: &str) -> Option<bytes::Bytes> {
        self.core
            .run(|vm, id| {
                Ok(vm
                    .ctx(id)
                    .and_then(|c| c.filter_state.get(key.as_bytes()))
                    .map(|e| e.value.clone()))
            })
            .flatten()
    }

    /// `proxy_on_new_connection`.
    pub fn on_new_connection(&mut self) -> NetworkDecision {
        let r = self.core.run(|vm, id| {
            vm.state().enter(id);
            Ok(vm.call(|e| e.new_connection.as_ref(), id)?.unwrap_or(0))
        });
        match r {
            Some(1) => NetworkDecision::Pause,
            Some(_) => NetworkDecision::Continue,
            None => self.fail_decision(),
        }
    }

    fn data(&mut self, d: usize, data: &mut BytesMut, eos: bool) -> NetworkDecision {
        let r = self.core.run(|vm, id| {
            let ctx = vm.ctx(id).expect("own context exists");
            ctx.bodies[d].extend_from_slice(&data.split());
            ctx.end_of_stream[d] = eos;
            let size = ctx.bodies[d].len() as u32;
            let f: Pick<F3R> = if d == 0 {
                |e| e.downstream_data.as_ref()
            } else {
                |e| e.upstream_data.as_ref()
            };
            vm.state().enter(id);
            let result = vm.call(f, (id, size, eos as u32));
            let ctx = vm.ctx(id).expect("own context exists");
            match result {
                Ok(Some(1)) => Ok(NetworkDecision::Pause),
                Ok(_) => {
                    *data = ctx.bodies[d].split();
                    Ok(NetworkDecision::Continue)
                }
                Err(e) => {
                    *data = ctx.bodies[d].split();
                    Err(e)
                }
            }
        });
        r.unwrap_or_else(|| {
            let mut rescued = self.core.rescued(d);
            rescued.extend_from_slice(data);
            *data = rescued;
            self.fail_decision()
        })
    }

    /// `proxy_on_downstream_data` (client → upstream).
    pub fn on_downstream_data(
        &mut self,
        data: &mut BytesMut,
        end_of_stream: bool,
    ) -> NetworkDecision {
        self.data(0, data, end_of_stream)
    }

    /// `proxy_on_upstream_data` (upstream → client).
    pub fn on_upstream_data(
        &mut self,
        data: &mut BytesMut,
        end_of_stream: bool,
    ) -> NetworkDecision {
        self.data(1, data, end_of_stream)
    }

    fn close(&mut self, downstream: bool, peer: PeerType) {
        self.core.run(|vm, id| {
            vm.state().enter(id);
            let f: Pick<F2> = if downstream {
                |e| e.downstream_close.as_ref()
            } else {
                |e| e.upstream_close.as_ref()
            };
            vm.call(f, (id, peer as u32)).map(|_| ())
        });
    }

    pub fn on_downstream_close(&mut self, peer: PeerType) {
        self.close(true, peer)
    }

    pub fn on_upstream_close(&mut self, peer: PeerType) {
        self.close(false, peer)
    }

    pub fn finish(mut self) {
        self.core.finish();
    }
}

impl Drop for NetworkStream {
    fn drop(&mut self) {
        self.core.finish();
    }
}
