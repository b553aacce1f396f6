//! A scripted [`Host`] (every area trait) and [`WasiHost`] for adapter tests: small realistic behaviour (a header
//! map, a body, shared data, a queue) plus a call log the tests assert on.

use bytes::Bytes;

use crate::host::{
    CalloutHost, GeneralHost, GrpcCall, GuestExports, Host, HostResult, HttpCall, HttpHost,
    LocalResponse, MetricsHost, PairRef, PropertyHost, SharedHost, StreamHost,
};
use crate::pairs;
use crate::types::{AbiVersion, BufferType, LogLevel, MapType, MetricType, Status, StreamType};
use crate::wasi::WasiHost;

pub struct FakeHost {
    pub abi: AbiVersion,
    pub exports: GuestExports,
    pub calls: Vec<String>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
    pub logs: Vec<(LogLevel, String)>,
}

impl Default for FakeHost {
    fn default() -> Self {
        FakeHost {
            abi: AbiVersion::V0_2_1,
            exports: GuestExports::default(),
            calls: Vec::new(),
            headers: vec![
                (b":path".to_vec(), b"/".to_vec()),
                (b"k".to_vec(), b"v".to_vec()),
            ],
            body: b"hello body".to_vec(),
            logs: Vec::new(),
        }
    }
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn pairs_str(p: &[PairRef<'_>]) -> String {
    p.iter()
        .map(|(k, v)| format!("{}={}", s(k), s(v)))
        .collect::<Vec<_>>()
        .join(",")
}

impl FakeHost {
    fn record(&mut self, call: String) -> HostResult<()> {
        self.calls.push(call);
        Ok(())
    }
}

impl Host for FakeHost {
    fn abi_version(&self) -> AbiVersion {
        self.abi
    }
    fn guest_exports(&self) -> GuestExports {
        self.exports.clone()
    }
}

impl GeneralHost for FakeHost {
    fn log(&mut self, level: LogLevel, message: &[u8]) -> HostResult<()> {
        self.logs.push((level, s(message)));
        Ok(())
    }
    fn get_log_level(&mut self) -> HostResult<LogLevel> {
        Ok(LogLevel::Warn)
    }
    fn get_current_time_nanoseconds(&mut self) -> HostResult<u64> {
        Ok(0x1122_3344_5566_7788)
    }
    fn set_tick_period_milliseconds(&mut self, millis: u32) -> HostResult<()> {
        self.record(format!("tick({millis})"))
    }
    fn set_effective_context(&mut self, context_id: u32) -> HostResult<()> {
        if context_id == 0 {
            return Err(Status::BadArgument);
        }
        self.record(format!("effective({context_id})"))
    }
    fn done(&mut self) -> HostResult<()> {
        self.record("done".into())
    }
}

impl HttpHost for FakeHost {
    fn get_buffer_bytes(&mut self, buffer: BufferType, start: u32, max: u32) -> HostResult<Bytes> {
        if buffer != BufferType::HttpRequestBody {
            return Err(Status::NotFound);
        }
        let start = (start as usize).min(self.body.len());
        let end = start.saturating_add(max as usize).min(self.body.len());
        Ok(Bytes::copy_from_slice(&self.body[start..end]))
    }
    fn get_buffer_status(&mut self, buffer: BufferType) -> HostResult<(u32, u32)> {
        match buffer {
            BufferType::HttpRequestBody => Ok((self.body.len() as u32, 1)),
            _ => Err(Status::NotFound),
        }
    }
    fn set_buffer_bytes(
        &mut self,
        b: BufferType,
        start: u32,
        size: u32,
        data: &[u8],
    ) -> HostResult<()> {
        self.record(format!("set_buffer({b:?},{start},{size},{})", s(data)))
    }
    fn get_header_map_pairs(&mut self, _map: MapType) -> HostResult<Vec<u8>> {
        Ok(pairs::encode(&self.headers)?)
    }
    fn set_header_map_pairs(&mut self, _map: MapType, p: &[PairRef<'_>]) -> HostResult<()> {
        self.headers = p.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        Ok(())
    }
    fn get_header_map_size(&mut self, _map: MapType) -> HostResult<u32> {
        Ok(pairs::encoded_len(&self.headers) as u32)
    }
    fn get_header_map_value(&mut self, _map: MapType, key: &[u8]) -> HostResult<Bytes> {
        let found = self.headers.iter().find(|(k, _)| k == key);
        found
            .map(|(_, v)| Bytes::copy_from_slice(v))
            .ok_or(Status::NotFound)
    }
    fn add_header_map_value(&mut self, m: MapType, key: &[u8], value: &[u8]) -> HostResult<()> {
        self.record(format!("add({m:?},{}={})", s(key), s(value)))
    }
    fn replace_header_map_value(&mut self, m: MapType, key: &[u8], value: &[u8]) -> HostResult<()> {
        self.record(format!("replace({m:?},{}={})", s(key), s(value)))
    }
    fn remove_header_map_value(&mut self, m: MapType, key: &[u8]) -> HostResult<()> {
        self.record(format!("remove({m:?},{})", s(key)))
    }
}

impl StreamHost for FakeHost {
    fn continue_stream(&mut self, stream: StreamType) -> HostResult<()> {
        self.record(format!("continue({stream:?})"))
    }
    fn close_stream(&mut self, stream: StreamType) -> HostResult<()> {
        self.record(format!("close({stream:?})"))
    }
    fn send_local_response(&mut self, r: LocalResponse<'_>) -> HostResult<()> {
        let headers = pairs_str(&r.headers);
        let (code, details, body, grpc) = (r.status_code, s(r.details), s(r.body), r.grpc_status);
        self.record(format!("local({code},{details},{body},[{headers}],{grpc})"))
    }
    fn clear_route_cache(&mut self) -> HostResult<()> {
        self.record("clear_route_cache".into())
    }
}

impl CalloutHost for FakeHost {
    fn http_call(&mut self, call: HttpCall<'_>) -> HostResult<u32> {
        if !call.headers.iter().any(|(k, _)| *k == b":method") {
            return Err(Status::BadArgument);
        }
        let headers = pairs_str(&call.headers);
        let (up, body, t) = (s(call.upstream), s(call.body), call.timeout_ms);
        self.record(format!("http_call({up},[{headers}],{body},{t})"))?;
        Ok(7)
    }
    fn grpc_call(&mut self, call: GrpcCall<'_>) -> HostResult<u32> {
        let (svc, method) = (s(call.service), s(call.method));
        self.record(format!("grpc_call({svc}/{method},{})", s(call.message)))?;
        Ok(8)
    }
    fn grpc_stream(&mut self, call: GrpcCall<'_>) -> HostResult<u32> {
        let (svc, method) = (s(call.service), s(call.method));
        self.record(format!("grpc_stream({svc}/{method})"))?;
        Ok(9)
    }
    fn grpc_send(&mut self, token: u32, message: &[u8], end: bool) -> HostResult<()> {
        self.record(format!("grpc_send({token},{},{end})", s(message)))
    }
    fn grpc_cancel(&mut self, token: u32) -> HostResult<()> {
        self.record(format!("grpc_cancel({token})"))
    }
    fn grpc_close(&mut self, token: u32) -> HostResult<()> {
        self.record(format!("grpc_close({token})"))
    }
    fn get_status(&mut self) -> HostResult<(u32, Bytes)> {
        Ok((14, Bytes::from_static(b"unavailable")))
    }
}

impl SharedHost for FakeHost {
    fn get_shared_data(&mut self, key: &[u8]) -> HostResult<(Bytes, u32)> {
        match key {
            b"k" => Ok((Bytes::from_static(b"shared"), 3)),
            _ => Err(Status::NotFound),
        }
    }
    fn set_shared_data(&mut self, key: &[u8], value: &[u8], cas: u32) -> HostResult<()> {
        self.record(format!("set_shared({}={},{cas})", s(key), s(value)))
    }
    fn register_shared_queue(&mut self, name: &[u8]) -> HostResult<u32> {
        self.record(format!("register({})", s(name)))?;
        Ok(11)
    }
    fn resolve_shared_queue(&mut self, vm_id: &[u8], name: &[u8]) -> HostResult<u32> {
        self.record(format!("resolve({},{})", s(vm_id), s(name)))?;
        Ok(12)
    }
    fn enqueue_shared_queue(&mut self, id: u32, value: &[u8]) -> HostResult<()> {
        self.record(format!("enqueue({id},{})", s(value)))
    }
    fn dequeue_shared_queue(&mut self, id: u32) -> HostResult<Bytes> {
        match id {
            11 => Ok(Bytes::from_static(b"item")),
            12 => Err(Status::Empty),
            _ => Err(Status::NotFound),
        }
    }
}

impl MetricsHost for FakeHost {
    fn define_metric(&mut self, kind: MetricType, name: &[u8]) -> HostResult<u32> {
        self.record(format!("define({kind:?},{})", s(name)))?;
        Ok(0x10 | kind as u32)
    }
    fn increment_metric(&mut self, id: u32, offset: i64) -> HostResult<()> {
        if offset <= 0 {
            return Err(Status::BadArgument);
        }
        self.record(format!("increment({id},{offset})"))
    }
    fn record_metric(&mut self, id: u32, value: u64) -> HostResult<()> {
        self.record(format!("record({id},{value})"))
    }
    fn get_metric(&mut self, _id: u32) -> HostResult<u64> {
        Ok(u64::MAX - 1)
    }
}

impl PropertyHost for FakeHost {
    fn get_property(&mut self, path: &[u8]) -> HostResult<Bytes> {
        Ok(Bytes::from(format!("prop:{}", s(path).replace('\0', "."))))
    }
    fn set_property(&mut self, path: &[u8], value: &[u8]) -> HostResult<()> {
        self.record(format!("set_property({}={})", s(path), s(value)))
    }
    fn call_foreign_function(&mut self, name: &[u8], args: &[u8]) -> HostResult<Bytes> {
        match name {
            b"echo" => Ok(Bytes::copy_from_slice(args)),
            _ => Err(Status::NotFound),
        }
    }
}

#[derive(Default)]
pub struct FakeWasi {
    pub logs: Vec<(u32, String)>,
    pub env: Vec<(String, String)>,
}

impl WasiHost for FakeWasi {
    fn wasi_log(&mut self, fd: u32, bytes: &[u8]) {
        self.logs.push((fd, s(bytes)));
    }
    fn environ(&self) -> &[(String, String)] {
        &self.env
    }
    fn random(&mut self, buf: &mut [u8]) {
        buf.iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = 0xa0 ^ i as u8);
    }
    fn now_realtime(&self) -> u64 {
        1_700_000_000_000_000_000
    }
    fn now_monotonic(&self) -> u64 {
        42
    }
}
