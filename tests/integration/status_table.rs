//! The status table: every hostcall, on its happy path and its documented error paths, returns
//! the status Envoy returns (docs/abi.md) — driven through real wasm against the real runtime.
//!
//! [`TABLE`] lists one probe per line: the callback it runs in, a label, Envoy's status, the
//! hostcall and its arguments. A probe module is generated from it (see `status_table/`): after
//! each call it logs `label=NN`; the test collects those lines and compares every row.

#[path = "status_table/module.rs"]
mod module;
#[path = "status_table/row.rs"]
mod row;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use microwaf_runtime::{
    CalloutReply, CalloutResponse, CalloutResult, Decision, Embedder, GrpcCalloutRequest,
    GrpcStreamHandle, GrpcStreamRequest, GrpcStreamSink, HttpCalloutRequest, LogLevel,
    NetworkDecision, NoEvents, NoProperties, PluginConfig, PropertySource, Runtime, RuntimeConfig,
    Status, Value, WasmSource,
};

/// `phase label expected hostcall args…`. Phases, in the order they run: `configure` (root
/// context; its HTTP and gRPC calls are answered inline), `http_response`, `grpc_initial`,
/// `grpc_receive`, `grpc_trailing` (root context, delivering those answers), then stream 1:
/// `req_headers`, `req_body` (body "hello body", more to come), `req_trailers` (ends with a
/// local reply), `resp_headers` (of that local reply), `log`; stream 2: `resp_trailers`; an L4
/// connection: `downstream` ("hello down"), `upstream` ("hello up"). Arguments: `N` i32,
/// `L:N` i64, `s:TEXT` (ptr, len) of TEXT (`\0` = NUL), `p:k=v,k=v` (ptr, len) of encoded
/// pairs, `oN` out-slot N, `*oN` the u32 a call stored in out-slot N, `bad` a pointer past the
/// end of memory. Maps: 0–3 request/response headers/trailers, 4/5 gRPC initial/trailing
/// metadata, 6/7 HTTP-call response headers/trailers. Buffers: 0/1 request/response body, 2/3
/// downstream/upstream data, 4 callout body, 5 gRPC message, 7 plugin config.
///
/// One documented deviation (docs/abi.md): reading a callout map (4–7) while no callout response
/// is being delivered is NotFound here, BadArgument in Envoy (the SDKs trap on it).
const TABLE: &str = r"
configure log                        Ok                  proxy_log 2 s:hello
configure log_bad_level              BadArgument         proxy_log 9 s:hello
configure log_oob                    InvalidMemoryAccess proxy_log 2 bad 4
configure get_log_level              Ok                  proxy_get_log_level o0
configure time                       Ok                  proxy_get_current_time_nanoseconds o0
configure time_oob                   InvalidMemoryAccess proxy_get_current_time_nanoseconds bad
configure tick_off                   Ok                  proxy_set_tick_period_milliseconds 0
configure effective_self             Ok                  proxy_set_effective_context 1
configure effective_unknown          BadArgument         proxy_set_effective_context 9999
configure done_not_pending           NotFound            proxy_done
configure plugin_config              Ok                  proxy_get_buffer_bytes 7 0 100 o0 o1
configure plugin_config_status       Ok                  proxy_get_buffer_status 7 o0 o1
configure get_configuration          Ok                  proxy_get_configuration o0 o1
configure body_in_root               Ok                  proxy_get_buffer_bytes 0 0 1 o0 o1
configure body_status_in_root        Ok                  proxy_get_buffer_status 1 o0 o1
configure downstream_in_root         Ok                  proxy_get_buffer_bytes 2 0 1 o0 o1
configure buffer_type_unknown        BadArgument         proxy_get_buffer_bytes 9 0 1 o0 o1
configure headers_in_root            BadArgument         proxy_get_header_map_value 0 s::path o0 o1
configure pairs_in_root              Ok                  proxy_get_header_map_pairs 0 o0 o1
configure map_type_unknown           BadArgument         proxy_get_header_map_value 8 s::path o0 o1
configure continue_in_root           Ok                  proxy_continue_stream 0
configure close_in_root              Ok                  proxy_close_stream 1
configure shared_set                 Ok                  proxy_set_shared_data s:status_key s:v1 0
configure shared_get                 Ok                  proxy_get_shared_data s:status_key o0 o1 o2
configure shared_set_cas             Ok                  proxy_set_shared_data s:status_key s:v2 *o2
configure shared_set_stale_cas       CasMismatch         proxy_set_shared_data s:status_key s:v3 *o2
configure shared_get_missing         NotFound            proxy_get_shared_data s:status_missing o0 o1 o2
configure queue_register             Ok                  proxy_register_shared_queue s:status_queue o3
configure queue_resolve              Ok                  proxy_resolve_shared_queue s:status_vm s:status_queue o4
configure queue_resolve_unknown      NotFound            proxy_resolve_shared_queue s:status_vm s:nope o4
configure queue_dequeue_empty        Empty               proxy_dequeue_shared_queue *o3 o0 o1
configure queue_enqueue              Ok                  proxy_enqueue_shared_queue *o3 s:hello
configure queue_dequeue              Ok                  proxy_dequeue_shared_queue *o3 o0 o1
configure queue_enqueue_unknown      NotFound            proxy_enqueue_shared_queue 9999 s:hello
configure queue_dequeue_unknown      NotFound            proxy_dequeue_shared_queue 9999 o0 o1
configure metric_define              Ok                  proxy_define_metric 0 s:status_counter o3
configure metric_define_histogram    Ok                  proxy_define_metric 2 s:status_histogram o4
configure metric_define_bad_type     BadArgument         proxy_define_metric 3 s:status_counter o5
configure metric_increment           Ok                  proxy_increment_metric *o3 L:1
configure metric_increment_zero      BadArgument         proxy_increment_metric *o3 L:0
configure metric_increment_negative  BadArgument         proxy_increment_metric *o3 L:-1
configure metric_increment_unknown   NotFound            proxy_increment_metric 400 L:1
configure metric_increment_histogram BadArgument         proxy_increment_metric *o4 L:1
configure metric_record_histogram    Ok                  proxy_record_metric *o4 L:7
configure metric_record_unknown      NotFound            proxy_record_metric 401 L:1
configure metric_record_counter      Ok                  proxy_record_metric *o3 L:2
configure metric_get                 Ok                  proxy_get_metric *o3 o0
configure metric_get_unknown         NotFound            proxy_get_metric 400 o0
configure metric_get_histogram       BadArgument         proxy_get_metric *o4 o0
configure property_plugin_root_id    Ok                  proxy_get_property s:plugin_root_id o0 o1
configure property_unknown           NotFound            proxy_get_property s:status_no_such_property o0 o1
configure property_path_oob          InvalidMemoryAccess proxy_get_property bad 4 o0 o1
configure set_property_root          NotFound            proxy_set_property s:status_prop s:hello
configure foreign_compress           Ok                  proxy_call_foreign_function s:compress s:hello o0 o1
configure foreign_unknown            NotFound            proxy_call_foreign_function s:status_no_such_fn s:hello o0 o1
configure http_call                  Ok                  proxy_http_call s:known p::method=GET,:path=/,:authority=a s:hi p: 1000 o5
configure http_call_no_path          BadArgument         proxy_http_call s:known p::method=GET,:authority=a s:hi p: 1000 o5
configure http_call_unknown_cluster  BadArgument         proxy_http_call s:status_nowhere p::method=GET,:path=/,:authority=a s:hi p: 1000 o5
configure grpc_call                  Ok                  proxy_grpc_call s:known s:svc s:m p: s:msg 1000 o5
configure grpc_send_on_call          BadArgument         proxy_grpc_send *o5 s:msg 0
configure grpc_call_unknown_cluster  ParseFailure        proxy_grpc_call s:status_nowhere s:svc s:m p: s:msg 1000 o5
configure grpc_stream                Ok                  proxy_grpc_stream s:known s:svc s:m p:x-md=1 o5
configure grpc_send                  Ok                  proxy_grpc_send *o5 s:msg 0
configure grpc_send_end              Ok                  proxy_grpc_send *o5 s:last 1
configure grpc_cancel_stream         Ok                  proxy_grpc_cancel *o5
configure grpc_send_cancelled        NotFound            proxy_grpc_send *o5 s:msg 0
configure grpc_stream_unknown_cluster ParseFailure       proxy_grpc_stream s:status_nowhere s:svc s:m p: o5
configure grpc_stream_to_close       Ok                  proxy_grpc_stream s:known s:svc s:m p: o5
configure grpc_close_stream          Ok                  proxy_grpc_close *o5
configure grpc_send_unknown          NotFound            proxy_grpc_send 9999 s:msg 0
configure grpc_cancel_unknown        NotFound            proxy_grpc_cancel 9999
configure grpc_close_unknown         NotFound            proxy_grpc_close 9999
configure get_status                 Ok                  proxy_get_status o2 o0 o1
http_response callout_header_get     Ok                  proxy_get_header_map_value 6 s::status o0 o1
http_response callout_header_missing NotFound            proxy_get_header_map_value 6 s:x-status-absent o0 o1
http_response callout_trailer_get    Ok                  proxy_get_header_map_value 7 s:x-trailer o0 o1
http_response callout_pairs          Ok                  proxy_get_header_map_pairs 6 o0 o1
http_response callout_header_add     BadArgument         proxy_add_header_map_value 6 s:x s:y
http_response callout_header_size    BadArgument         proxy_get_header_map_size 6 o0
http_response callout_body           Ok                  proxy_get_buffer_bytes 4 0 10 o0 o1
http_response callout_status         Ok                  proxy_get_status o2 o0 o1
grpc_initial grpc_initial_get        Ok                  proxy_get_header_map_value 4 s:x-md o0 o1
grpc_initial grpc_initial_replace    BadArgument         proxy_replace_header_map_value 4 s:x-md s:2
grpc_receive grpc_receive_body       Ok                  proxy_get_buffer_bytes 5 0 100 o0 o1
grpc_receive grpc_receive_status     Ok                  proxy_get_buffer_status 5 o0 o1
grpc_trailing grpc_trailing_get      Ok                  proxy_get_header_map_value 5 s:x-tr o0 o1
grpc_trailing grpc_trailing_remove   BadArgument         proxy_remove_header_map_value 5 s:x-tr
req_headers header_get               Ok                  proxy_get_header_map_value 0 s::path o0 o1
req_headers header_get_missing       NotFound            proxy_get_header_map_value 0 s:x-status-absent o0 o1
req_headers header_get_out_oob       InvalidMemoryAccess proxy_get_header_map_value 0 s::path bad o1
req_headers header_get_response_map  BadArgument         proxy_get_header_map_value 2 s::path o0 o1
req_headers request_trailers_early   BadArgument         proxy_get_header_map_value 1 s:x-t o0 o1
req_headers grpc_initial_outside     NotFound            proxy_get_header_map_value 4 s:x-md o0 o1
req_headers grpc_trailing_outside    NotFound            proxy_get_header_map_value 5 s:x-tr o0 o1
req_headers callout_headers_outside  NotFound            proxy_get_header_map_value 6 s::status o0 o1
req_headers callout_trailers_outside NotFound            proxy_get_header_map_value 7 s:x-trailer o0 o1
req_headers callout_map_write        BadArgument         proxy_add_header_map_value 7 s:x s:y
req_headers pairs_unavailable        Ok                  proxy_get_header_map_pairs 3 o0 o1
req_headers header_add               Ok                  proxy_add_header_map_value 0 s:x-status s:1
req_headers header_replace           Ok                  proxy_replace_header_map_value 0 s:x-status s:2
req_headers header_remove_absent     Ok                  proxy_remove_header_map_value 0 s:x-status-absent
req_headers header_size              Ok                  proxy_get_header_map_size 0 o0
req_headers header_pairs             Ok                  proxy_get_header_map_pairs 0 o0 o1
req_headers header_pairs_set         Ok                  proxy_set_header_map_pairs 0 p::method=POST,:path=/,:authority=a
req_headers body_during_headers      Ok                  proxy_get_buffer_bytes 0 0 10 o0 o1
req_headers l4_buffer_in_http        Ok                  proxy_get_buffer_bytes 2 0 1 o0 o1
req_headers callout_body_no_callout  NotFound            proxy_get_buffer_bytes 4 0 10 o0 o1
req_headers property_request_path    Ok                  proxy_get_property s:request\0path o0 o1
req_headers set_property             Ok                  proxy_set_property s:status_prop s:hello
req_headers clear_route_cache        Ok                  proxy_clear_route_cache
req_headers continue_upstream        Unimplemented       proxy_continue_stream 3
req_headers continue_unknown         BadArgument         proxy_continue_stream 9
req_headers close_unknown            BadArgument         proxy_close_stream 9
req_headers continue_request         Ok                  proxy_continue_stream 0
req_headers headers_after_continue   BadArgument         proxy_get_header_map_value 0 s::path o0 o1
req_headers continue_request_v010    Ok                  proxy_continue_request
req_headers continue_response_v010   Ok                  proxy_continue_response
req_body    body_status              Ok                  proxy_get_buffer_status 0 o0 o1
req_body    body_get                 Ok                  proxy_get_buffer_bytes 0 0 5 o0 o1
req_body    body_get_overflow        BadArgument         proxy_get_buffer_bytes 0 -1 2 o0 o1
req_body    body_prepend             Ok                  proxy_set_buffer_bytes 0 0 0 s:pre
req_body    body_append              Ok                  proxy_set_buffer_bytes 0 1000 0 s:post
req_body    body_set_middle          BadArgument         proxy_set_buffer_bytes 0 1 1 s:x
req_body    body_replace_all         Ok                  proxy_set_buffer_bytes 0 0 1000 s:whole
req_body    request_headers_gone     BadArgument         proxy_get_header_map_value 0 s::path o0 o1
req_body    request_headers_gone_add BadArgument         proxy_add_header_map_value 0 s:x s:y
req_trailers request_trailer_get     Ok                  proxy_get_header_map_value 1 s:x-t o0 o1
req_trailers request_trailer_add     Ok                  proxy_add_header_map_value 1 s:x-added s:1
req_trailers body_after_body         Ok                  proxy_get_buffer_bytes 0 0 10 o0 o1
req_trailers local_response          Ok                  proxy_send_local_response 403 s:status_table s:denied p: -1
resp_headers response_header_get     Ok                  proxy_get_header_map_value 2 s:content-type o0 o1
resp_headers response_header_missing NotFound            proxy_get_header_map_value 2 s:x-status-absent o0 o1
resp_headers response_remove_absent  Ok                  proxy_remove_header_map_value 2 s:x-status-absent
resp_headers response_body_in_headers Ok                 proxy_get_buffer_bytes 1 0 10 o0 o1
resp_headers response_trailers_early BadArgument         proxy_get_header_map_value 3 s:x-rt o0 o1
resp_headers close_response          Ok                  proxy_close_stream 1
log         log_request_headers      Ok                  proxy_get_header_map_value 0 s::path o0 o1
log         log_response_headers     Ok                  proxy_get_header_map_value 2 s:content-type o0 o1
log         log_request_trailers     NotFound            proxy_get_header_map_value 1 s:x-t o0 o1
log         log_header_write         BadArgument         proxy_add_header_map_value 0 s:x s:y
resp_trailers response_trailer_get   Ok                  proxy_get_header_map_value 3 s:x-rt o0 o1
resp_trailers response_trailer_replace Ok                proxy_replace_header_map_value 3 s:x-rt s:2
resp_trailers response_headers_gone  BadArgument         proxy_get_header_map_value 2 s::status o0 o1
downstream  l4_downstream_get        Ok                  proxy_get_buffer_bytes 2 0 5 o0 o1
downstream  l4_downstream_status     Ok                  proxy_get_buffer_status 2 o0 o1
downstream  l4_downstream_replace    Ok                  proxy_set_buffer_bytes 2 0 100 s:replaced
downstream  l4_upstream_in_downstream Ok                 proxy_get_buffer_bytes 3 0 5 o0 o1
downstream  l4_http_body             Ok                  proxy_get_buffer_bytes 0 0 5 o0 o1
downstream  l4_headers               BadArgument         proxy_get_header_map_value 0 s::path o0 o1
downstream  l4_continue_downstream   Ok                  proxy_continue_stream 2
downstream  l4_continue_upstream     Unimplemented       proxy_continue_stream 3
upstream    l4_upstream_get          Ok                  proxy_get_buffer_bytes 3 0 5 o0 o1
upstream    l4_upstream_append       Ok                  proxy_set_buffer_bytes 3 1000 0 s:+tail
upstream    l4_upstream_prepend      Ok                  proxy_set_buffer_bytes 3 0 0 s:head+
upstream    l4_close_upstream        Ok                  proxy_close_stream 3
";

/// Collects the probe module's `label=NN` log lines; knows one cluster, `known`, which answers
/// HTTP and unary gRPC calls inline and accepts gRPC streams (recording what the guest does).
#[derive(Default)]
struct Recorder {
    lines: Mutex<Vec<String>>,
    /// What the guest did on its gRPC streams: `send:<msg>:<end>`, `close`, `cancel`.
    stream_ops: Arc<Mutex<Vec<String>>>,
}

fn pairs(list: &[(&'static str, &'static str)]) -> Vec<(Bytes, Bytes)> {
    list.iter()
        .map(|(k, v)| {
            (
                Bytes::from_static(k.as_bytes()),
                Bytes::from_static(v.as_bytes()),
            )
        })
        .collect()
}

struct RecordedStream(Arc<Mutex<Vec<String>>>);

impl GrpcStreamHandle for RecordedStream {
    fn send(&mut self, message: Bytes, end_stream: bool) {
        let m = String::from_utf8_lossy(&message);
        self.0
            .lock()
            .unwrap()
            .push(format!("send:{m}:{end_stream}"));
    }
    fn close(&mut self) {
        self.0.lock().unwrap().push("close".into());
    }
    fn cancel(&mut self) {
        self.0.lock().unwrap().push("cancel".into());
    }
}

impl Embedder for Recorder {
    fn http_call(&self, request: HttpCalloutRequest, reply: CalloutReply) -> Result<(), Status> {
        if &request.cluster[..] != b"known" {
            return Err(Status::BadArgument);
        }
        reply(CalloutResponse {
            result: Some(CalloutResult {
                headers: pairs(&[(":status", "200")]),
                body: Bytes::from_static(b"callout body"),
                trailers: pairs(&[("x-trailer", "t")]),
                ..Default::default()
            }),
        });
        Ok(())
    }

    fn grpc_call(&self, request: GrpcCalloutRequest, reply: CalloutReply) -> Result<(), Status> {
        // Envoy: a name that is neither a GrpcService nor a known cluster is a ParseFailure.
        if &request.cluster[..] != b"known" {
            return Err(Status::ParseFailure);
        }
        reply(CalloutResponse {
            result: Some(CalloutResult {
                headers: pairs(&[("x-md", "1")]),
                body: Bytes::from_static(b"grpc reply"),
                trailers: pairs(&[("x-tr", "1")]),
                ..Default::default()
            }),
        });
        Ok(())
    }

    fn grpc_stream(
        &self,
        request: GrpcStreamRequest,
        _events: GrpcStreamSink,
    ) -> Result<Box<dyn GrpcStreamHandle>, Status> {
        if &request.cluster[..] != b"known" {
            return Err(Status::ParseFailure);
        }
        Ok(Box::new(RecordedStream(self.stream_ops.clone())))
    }

    fn log(&self, _plugin: &str, _context: u32, _level: LogLevel, message: &str) {
        self.lines.lock().unwrap().push(message.to_string());
    }
}

struct RequestProps;

impl PropertySource for RequestProps {
    fn attribute(&self, name: &str) -> Option<Value> {
        (name == "request.path").then(|| Value::Str("/".to_owned()))
    }
}

/// Loads the probe module and drives every phase; returns label → status and the recorder.
fn run_probes(rows: &[row::Row], data: &[u8]) -> (BTreeMap<String, u32>, Arc<Recorder>) {
    let wasm = wat::parse_str(module::probe_module(rows, data)).expect("probe module assembles");
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let recorder = Arc::new(Recorder::default());
    let mut config = PluginConfig::new("status_table", WasmSource::Bytes(wasm.into()));
    config.vm_id = "status_vm".into();
    config.root_id = "status_root".into();
    config.plugin_config = Bytes::from_static(b"{}");
    config.vm_count = Some(1);
    let plugin = runtime
        .load_plugin(config, recorder.clone())
        .expect("probe plugin loads");

    // Stream 1: request headers, body, trailers (local reply), the reply's headers, log.
    let mut stream = plugin.http_stream(Arc::new(RequestProps), Arc::new(NoEvents));
    let mut headers = pairs(&[(":method", "POST"), (":path", "/"), (":authority", "a")]);
    assert_eq!(
        stream.on_request_headers(&mut headers, false),
        Decision::Continue
    );
    let mut body = BytesMut::from(&b"hello body"[..]);
    assert_eq!(stream.on_request_body(&mut body, false), Decision::Continue);
    assert_eq!(&body[..], b"whole", "prepend, append, then replace-all");
    let mut trailers = pairs(&[("x-t", "1")]);
    let decision = stream.on_request_trailers(&mut trailers);
    assert!(
        matches!(decision, Decision::LocalReply(ref r) if r.status == 403),
        "{decision:?}"
    );
    assert!(trailers.iter().any(|(k, _)| &k[..] == b"x-added"));
    stream.finish();

    // Stream 2: a real response with trailers.
    let mut stream = plugin.http_stream(Arc::new(RequestProps), Arc::new(NoEvents));
    let mut response = pairs(&[(":status", "200")]);
    assert_eq!(
        stream.on_response_headers(&mut response, false),
        Decision::Continue
    );
    let mut trailers = pairs(&[("x-rt", "1")]);
    assert_eq!(
        stream.on_response_trailers(&mut trailers),
        Decision::Continue
    );
    assert_eq!(trailers, pairs(&[("x-rt", "2")]));
    stream.finish();

    // An L4 connection: data both ways, rewritten by the probes.
    let mut conn = plugin.network_stream(Arc::new(NoProperties), Arc::new(NoEvents));
    let mut down = BytesMut::from(&b"hello down"[..]);
    assert_eq!(
        conn.on_downstream_data(&mut down, false),
        NetworkDecision::Continue
    );
    assert_eq!(&down[..], b"replaced");
    let mut up = BytesMut::from(&b"hello up"[..]);
    assert_eq!(
        conn.on_upstream_data(&mut up, false),
        NetworkDecision::Continue
    );
    assert_eq!(&up[..], b"head+hello up+tail");
    conn.finish();

    let lines = recorder.lines.lock().unwrap();
    let parse = |l: &String| {
        let (k, v) = l.rsplit_once('=')?;
        Some((k.to_string(), v.parse().ok()?))
    };
    let seen = lines.iter().filter_map(parse).collect();
    drop(lines);
    (seen, recorder)
}

#[test]
fn every_hostcall_returns_envoys_status() {
    let mut data = row::Data::default();
    let rows = row::parse_table(TABLE, &mut data);
    assert!(rows.len() > 150, "the whole table parsed");
    let (seen, recorder) = run_probes(&rows, &data.bytes);
    let mismatches: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            let want = r.expect as u32;
            match seen.get(&r.label) {
                None => Some(format!("{}: never ran", r.label)),
                Some(got) if *got != want => Some(format!(
                    "{}: got {got}, Envoy returns {:?} ({want})",
                    r.label, r.expect
                )),
                _ => None,
            }
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "status mismatches:\n{}",
        mismatches.join("\n")
    );
    // The gRPC stream rows reached the embedder: two sends (the second ending the stream),
    // then the cancel; the second stream's close, and its reset when the plugin went away with
    // the stream still open on the remote side.
    assert_eq!(
        *recorder.stream_ops.lock().unwrap(),
        [
            "send:msg:false",
            "send:last:true",
            "cancel",
            "close",
            "cancel"
        ]
    );
}
