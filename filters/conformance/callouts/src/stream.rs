//! gRPC streams (`proxy_grpc_stream`/`proxy_grpc_send`): the stream is opened from request
//! headers, every message of `x-grpc-message` (comma separated, default `one,two`) is sent, the
//! last one with end of stream, and everything the stream delivers is recorded until it closes.

use fixture_support::render;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType, Status};

/// Opens a stream on `cluster` and sends `messages`; returns the stream's token.
pub(crate) fn open(
    cluster: &str,
    service: &str,
    method: &str,
    messages: &[String],
) -> Result<u32, Status> {
    let token =
        hostcalls::open_grpc_stream(cluster, service, method, vec![("x-fixture-md", b"1")])?;
    for (i, message) in messages.iter().enumerate() {
        let last = i + 1 == messages.len();
        hostcalls::send_grpc_stream_message(token, Some(message.as_bytes()), last)?;
    }
    Ok(token)
}

/// What one stream delivered so far.
#[derive(Debug, Default)]
pub(crate) struct Received {
    initial: Vec<(String, String)>,
    messages: Vec<Vec<u8>>,
    trailers: Vec<(String, String)>,
}

fn read_map(map: MapType) -> Vec<(String, String)> {
    hostcalls::get_map_bytes(map)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, render(&v)))
        .collect()
}

impl Received {
    pub(crate) fn initial_metadata(&mut self) {
        self.initial = read_map(MapType::GrpcReceiveInitialMetadata);
    }

    /// Records the message of `size` bytes; returns it rendered for the log.
    pub(crate) fn message(&mut self, size: usize) -> String {
        let message = hostcalls::get_buffer(BufferType::GrpcReceiveBuffer, 0, size)
            .ok()
            .flatten()
            .unwrap_or_default();
        let rendered = render(&message);
        self.messages.push(message);
        rendered
    }

    pub(crate) fn trailing_metadata(&mut self) {
        self.trailers = read_map(MapType::GrpcReceiveTrailingMetadata);
    }

    /// The response headers reporting the stream, and the messages concatenated as a body.
    pub(crate) fn report(self, status: u32, message: String) -> (Vec<(String, String)>, Vec<u8>) {
        let mut headers: Vec<(String, String)> = self
            .initial
            .into_iter()
            .map(|(k, v)| (format!("x-grpc-stream-initial-{k}"), v))
            .collect();
        let rendered: Vec<String> = self.messages.iter().map(|m| render(m)).collect();
        headers.push(("x-grpc-stream-messages".into(), rendered.len().to_string()));
        headers.push(("x-grpc-stream-body".into(), rendered.join(",")));
        headers.extend(
            self.trailers
                .into_iter()
                .map(|(k, v)| (format!("x-grpc-stream-trailer-{k}"), v)),
        );
        headers.push(("x-grpc-stream-status".into(), status.to_string()));
        headers.push(("x-grpc-stream-status-message".into(), message));
        (headers, self.messages.concat())
    }
}
