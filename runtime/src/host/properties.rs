//! [`PropertyHost`] for the VM state: properties answered on demand from the plugin, the
//! stream's own heads and the embedder (`crate::properties`), and foreign functions, which act
//! on the same filter state and declarations.

use bytes::Bytes;
use microwaf_abi::{HostResult, PropertyHost, Status};

use super::{ContextKind, StreamMap, VmState};
use crate::embedder::NoProperties;
use crate::foreign::ForeignCall;
use crate::properties::{self, HeadProperties, PropertySource};

impl PropertyHost for VmState {
    /// The plugin's own attributes, then the stream's heads, then the embedder's, then filter
    /// state.
    fn get_property(&mut self, path: &[u8]) -> HostResult<Bytes> {
        let ctx = self.contexts.get(&self.effective).ok_or(Status::NotFound)?;
        let heads = HeadProperties {
            request: match &ctx.maps[0] {
                Some(StreamMap::Request { head, .. }) => Some(head),
                _ => None,
            },
            response: match &ctx.maps[2] {
                Some(StreamMap::Response { head, .. }) => Some(head),
                _ => None,
            },
        };
        // The embedder's source last: what the stream's heads say wins over its copy.
        let embedder: &dyn PropertySource = match &ctx.props {
            Some(p) => p.as_ref(),
            None => &NoProperties,
        };
        let sources: [&dyn PropertySource; 3] = [&self.plugin_props, &heads, embedder];
        let state = (ctx.kind != ContextKind::Root).then_some(&ctx.filter_state);
        properties::get_property(path, &sources, state)
    }

    /// Writes land in the context's filter state; a root context has none.
    fn set_property(&mut self, path: &[u8], value: &[u8]) -> HostResult<()> {
        let ctx = self
            .contexts
            .get_mut(&self.effective)
            .ok_or(Status::NotFound)?;
        let state = (ctx.kind != ContextKind::Root).then_some(&mut ctx.filter_state);
        properties::set_property(path, value, state, &self.declared)
    }

    fn call_foreign_function(&mut self, name: &[u8], args: &[u8]) -> HostResult<Bytes> {
        let ctx = self
            .contexts
            .get_mut(&self.effective)
            .ok_or(Status::NotFound)?;
        let filter_state = (ctx.kind != ContextKind::Root).then_some(&mut ctx.filter_state);
        let cx = ForeignCall {
            declared: &mut self.declared,
            filter_state,
        };
        self.foreign.call(name, args, cx)
    }
}
