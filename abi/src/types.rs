//! The ABI's enums, mirrored from the proxy-wasm Rust SDK (`proxy_wasm::types`) so that host and
//! guest code read alike. Values are the wire values; never renumber them.

/// Log level as passed to `proxy_log` and returned by `proxy_get_log_level`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Critical = 5,
}

/// What a filter callback returns: keep going, or stop iteration until `proxy_continue_stream`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Continue = 0,
    Pause = 1,
}

/// Hostcall result codes. They must equal Envoy's: the SDKs trap on any code they do not expect.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Ok = 0,
    NotFound = 1,
    BadArgument = 2,
    SerializationFailure = 3,
    ParseFailure = 4,
    BadExpression = 5,
    InvalidMemoryAccess = 6,
    Empty = 7,
    CasMismatch = 8,
    ResultMismatch = 9,
    InternalFailure = 10,
    BrokenConnection = 11,
    Unimplemented = 12,
}

/// The kind of context created by `proxy_on_context_create` (SDK `ContextType`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextType {
    HttpContext = 0,
    StreamContext = 1,
}

/// Direction argument of `proxy_continue_stream` / `proxy_close_stream`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamType {
    Request = 0,
    Response = 1,
    Downstream = 2,
    Upstream = 3,
}

/// Which byte buffer `proxy_get_buffer_bytes` / `proxy_set_buffer_bytes` address.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BufferType {
    HttpRequestBody = 0,
    HttpResponseBody = 1,
    DownstreamData = 2,
    UpstreamData = 3,
    HttpCallResponseBody = 4,
    GrpcReceiveBuffer = 5,
    VmConfiguration = 6,
    PluginConfiguration = 7,
    CallData = 8,
}

/// Which header map the `proxy_*_header_map_*` calls address.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapType {
    HttpRequestHeaders = 0,
    HttpRequestTrailers = 1,
    HttpResponseHeaders = 2,
    HttpResponseTrailers = 3,
    GrpcReceiveInitialMetadata = 4,
    GrpcReceiveTrailingMetadata = 5,
    HttpCallResponseHeaders = 6,
    HttpCallResponseTrailers = 7,
}

/// Which side closed a connection (L4 close callbacks).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerType {
    Unknown = 0,
    Local = 1,
    Remote = 2,
}

/// Metric kind passed to `proxy_define_metric`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter = 0,
    Gauge = 1,
    Histogram = 2,
}

/// The ABI a module declares through its exported `proxy_abi_version_*` marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AbiVersion {
    /// 0.1.0: two-argument headers callbacks; a missing header is `Ok` with an empty value.
    V0_1_0,
    /// 0.2.0: as emitted by the Go SDKs.
    V0_2_0,
    /// 0.2.1: as emitted by the Rust, C++ and AssemblyScript SDKs.
    V0_2_1,
}

impl AbiVersion {
    /// The export name a module uses to declare this version.
    pub const fn marker(self) -> &'static str {
        match self {
            AbiVersion::V0_1_0 => "proxy_abi_version_0_1_0",
            AbiVersion::V0_2_0 => "proxy_abi_version_0_2_0",
            AbiVersion::V0_2_1 => "proxy_abi_version_0_2_1",
        }
    }

    /// Detects the version from a module's export names; `None` if no marker is exported.
    pub fn detect<'a>(mut exports: impl Iterator<Item = &'a str>) -> Option<AbiVersion> {
        exports.find_map(|name| {
            [AbiVersion::V0_2_1, AbiVersion::V0_2_0, AbiVersion::V0_1_0]
                .into_iter()
                .find(|v| v.marker() == name)
        })
    }
}

macro_rules! try_from_u32 {
    ($($ty:ident { $($variant:ident),* $(,)? })*) => {$(
        impl TryFrom<u32> for $ty {
            type Error = Status;
            /// Unknown wire values are a guest bug the host answers with `BadArgument`.
            fn try_from(v: u32) -> Result<Self, Status> {
                $(if v == $ty::$variant as u32 { return Ok($ty::$variant); })*
                Err(Status::BadArgument)
            }
        }
    )*};
}

try_from_u32! {
    LogLevel { Trace, Debug, Info, Warn, Error, Critical }
    Action { Continue, Pause }
    StreamType { Request, Response, Downstream, Upstream }
    BufferType { HttpRequestBody, HttpResponseBody, DownstreamData, UpstreamData,
        HttpCallResponseBody, GrpcReceiveBuffer, VmConfiguration, PluginConfiguration, CallData }
    MapType { HttpRequestHeaders, HttpRequestTrailers, HttpResponseHeaders, HttpResponseTrailers,
        GrpcReceiveInitialMetadata, GrpcReceiveTrailingMetadata, HttpCallResponseHeaders,
        HttpCallResponseTrailers }
    PeerType { Unknown, Local, Remote }
    MetricType { Counter, Gauge, Histogram }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip_and_unknown_values_are_bad_arguments() {
        assert_eq!(MapType::try_from(7), Ok(MapType::HttpCallResponseTrailers));
        assert_eq!(BufferType::try_from(8), Ok(BufferType::CallData));
        assert_eq!(MapType::try_from(8), Err(Status::BadArgument));
        assert_eq!(LogLevel::try_from(6), Err(Status::BadArgument));
    }

    #[test]
    fn detects_the_abi_marker_among_other_exports() {
        let exports = ["memory", "proxy_abi_version_0_2_0", "malloc"];
        assert_eq!(
            AbiVersion::detect(exports.into_iter()),
            Some(AbiVersion::V0_2_0)
        );
        assert_eq!(AbiVersion::detect(["memory"].into_iter()), None);
    }
}
