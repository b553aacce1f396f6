//! `impl Host for VmState`: one line per hostcall, routing to the area modules.

use bytes::Bytes;
use microwaf_abi::{
    AbiVersion, BufferType, CalloutHost, GeneralHost, GrpcCall, Host, HostBytes, HostResult,
    HttpCall, HttpHost, LocalResponse, LogLevel, MapType, MetricType, MetricsHost, PairRef,
    PropertyHost, SharedHost, StreamHost, StreamType,
};

use super::http::stream_pending;
use super::VmState;

impl Host for VmState {
    fn abi_version(&self) -> AbiVersion {
        self.abi
    }
}

impl GeneralHost for VmState {
    fn log(&mut self, level: LogLevel, message: &[u8]) -> HostResult<()> {
        self.write_log(level, message);
        Ok(())
    }
    fn get_log_level(&mut self) -> HostResult<LogLevel> {
        Ok(self.plugin.embedder.log_level())
    }
    fn get_current_time_nanoseconds(&mut self) -> HostResult<u64> {
        Ok(self.now_nanos())
    }
    fn set_tick_period_milliseconds(&mut self, millis: u32) -> HostResult<()> {
        self.tick(millis);
        Ok(())
    }
    fn set_effective_context(&mut self, context_id: u32) -> HostResult<()> {
        self.set_effective(context_id)
    }
    fn done(&mut self) -> HostResult<()> {
        VmState::done(self)
    }
}

impl HttpHost for VmState {
    fn get_buffer_bytes(&mut self, b: BufferType, start: u32, max: u32) -> HostResult<Bytes> {
        self.buffer_bytes(b, start, max)
    }
    fn get_buffer_bytes_ref(
        &mut self,
        b: BufferType,
        start: u32,
        max: u32,
    ) -> HostResult<HostBytes<'_>> {
        self.buffer_bytes_ref(b, start, max)
    }
    fn get_buffer_status(&mut self, b: BufferType) -> HostResult<(u32, u32)> {
        self.buffer_status(b)
    }
    fn set_buffer_bytes(
        &mut self,
        b: BufferType,
        start: u32,
        size: u32,
        data: &[u8],
    ) -> HostResult<()> {
        self.set_buffer(b, start, size, data)
    }
    fn get_header_map_pairs(&mut self, map: MapType) -> HostResult<Vec<u8>> {
        self.get_pairs(map)
    }
    fn set_header_map_pairs(&mut self, map: MapType, pairs: &[PairRef<'_>]) -> HostResult<()> {
        self.set_pairs(map, pairs)
    }
    fn get_header_map_size(&mut self, map: MapType) -> HostResult<u32> {
        self.map_size(map)
    }
    fn get_header_map_value(&mut self, map: MapType, key: &[u8]) -> HostResult<Bytes> {
        self.map_value(map, key)
    }
    fn get_header_map_value_ref(&mut self, map: MapType, key: &[u8]) -> HostResult<HostBytes<'_>> {
        self.map_value_ref(map, key)
    }
    fn add_header_map_value(&mut self, map: MapType, key: &[u8], value: &[u8]) -> HostResult<()> {
        self.map_add(map, key, value)
    }
    fn replace_header_map_value(
        &mut self,
        map: MapType,
        key: &[u8],
        value: &[u8],
    ) -> HostResult<()> {
        self.map_replace(map, key, value)
    }
    fn remove_header_map_value(&mut self, map: MapType, key: &[u8]) -> HostResult<()> {
        self.map_remove(map, key)
    }
}

impl StreamHost for VmState {
    fn continue_stream(&mut self, stream: StreamType) -> HostResult<()> {
        self.push_pending(stream_pending(stream, false))
    }
    fn close_stream(&mut self, stream: StreamType) -> HostResult<()> {
        self.push_pending(stream_pending(stream, true))
    }
    fn send_local_response(&mut self, response: LocalResponse<'_>) -> HostResult<()> {
        self.local_response(response)
    }
}

impl CalloutHost for VmState {
    fn http_call(&mut self, call: HttpCall<'_>) -> HostResult<u32> {
        self.start_http_call(call)
    }
    fn grpc_call(&mut self, call: GrpcCall<'_>) -> HostResult<u32> {
        self.start_grpc_call(call)
    }
    fn grpc_stream(&mut self, call: GrpcCall<'_>) -> HostResult<u32> {
        self.start_grpc_stream(call)
    }
    fn grpc_send(&mut self, token: u32, message: &[u8], end: bool) -> HostResult<()> {
        self.grpc_stream_send(token, message, end)
    }
    fn grpc_cancel(&mut self, token: u32) -> HostResult<()> {
        self.grpc_cancel_token(token)
    }
    fn grpc_close(&mut self, token: u32) -> HostResult<()> {
        self.grpc_close_token(token)
    }
    fn get_status(&mut self) -> HostResult<(u32, Bytes)> {
        Ok(self.status.clone())
    }
}

impl SharedHost for VmState {
    fn get_shared_data(&mut self, key: &[u8]) -> HostResult<(Bytes, u32)> {
        self.plugin.shared.data.get(self.vm_id(), key)
    }
    fn set_shared_data(&mut self, key: &[u8], value: &[u8], cas: u32) -> HostResult<()> {
        self.plugin.shared.data.set(self.vm_id(), key, value, cas)
    }
    fn register_shared_queue(&mut self, name: &[u8]) -> HostResult<u32> {
        self.register_queue(name)
    }
    fn resolve_shared_queue(&mut self, vm_id: &[u8], name: &[u8]) -> HostResult<u32> {
        self.plugin.shared.queues.resolve(vm_id, name)
    }
    fn enqueue_shared_queue(&mut self, queue_id: u32, value: &[u8]) -> HostResult<()> {
        self.plugin.shared.queues.enqueue(queue_id, value)
    }
    fn dequeue_shared_queue(&mut self, queue_id: u32) -> HostResult<Bytes> {
        self.plugin.shared.queues.dequeue(queue_id)
    }
}

impl MetricsHost for VmState {
    fn define_metric(&mut self, kind: MetricType, name: &[u8]) -> HostResult<u32> {
        self.metrics.define(kind, name)
    }
    fn increment_metric(&mut self, metric_id: u32, offset: i64) -> HostResult<()> {
        self.metrics.increment(metric_id, offset)
    }
    fn record_metric(&mut self, metric_id: u32, value: u64) -> HostResult<()> {
        self.metrics.record(metric_id, value)
    }
    fn get_metric(&mut self, metric_id: u32) -> HostResult<u64> {
        self.metrics.get(metric_id)
    }
}

impl PropertyHost for VmState {
    fn get_property(&mut self, path: &[u8]) -> HostResult<Bytes> {
        self.property(path)
    }
    fn set_property(&mut self, path: &[u8], value: &[u8]) -> HostResult<()> {
        self.store_property(path, value)
    }
    fn call_foreign_function(&mut self, name: &[u8], args: &[u8]) -> HostResult<Bytes> {
        self.foreign_call(name, args)
    }
}
