//! Parsing the status table's rows into WAT call expressions and static data.

use microwaf_abi::pairs;
use microwaf_runtime::Status;

/// Out-pointer slots (8 bytes each).
pub const OUT: [u32; 6] = [512, 520, 528, 536, 544, 552];
/// A pointer past the end of the probe module's memory.
pub const BAD: u32 = 0xffff_fff0;
/// Static data goes here and up.
pub const DATA: u32 = 1024;

/// The callback a row runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Configure,
    HttpResponse,
    GrpcInitial,
    GrpcReceive,
    GrpcTrailing,
    RequestHeaders,
    RequestBody,
    RequestTrailers,
    ResponseHeaders,
    ResponseTrailers,
    Log,
    Downstream,
    Upstream,
}

pub const PHASES: [Phase; 13] = [
    Phase::Configure,
    Phase::HttpResponse,
    Phase::GrpcInitial,
    Phase::GrpcReceive,
    Phase::GrpcTrailing,
    Phase::RequestHeaders,
    Phase::RequestBody,
    Phase::RequestTrailers,
    Phase::ResponseHeaders,
    Phase::ResponseTrailers,
    Phase::Log,
    Phase::Downstream,
    Phase::Upstream,
];

pub struct Row {
    pub phase: Phase,
    pub label: String,
    pub expect: Status,
    /// A WAT expression leaving the hostcall's status on the stack.
    pub call: String,
}

/// The probe module's static data: byte strings placed at known addresses.
#[derive(Default)]
pub struct Data {
    pub bytes: Vec<u8>,
}

impl Data {
    /// `(i32.const ptr) (i32.const len)` of `b`, stored in the data segment.
    fn place(&mut self, b: &[u8]) -> String {
        let ptr = DATA as usize + self.bytes.len();
        self.bytes.extend_from_slice(b);
        self.bytes.push(0);
        format!("(i32.const {ptr}) (i32.const {})", b.len())
    }
}

fn phase(name: &str) -> Phase {
    match name {
        "configure" => Phase::Configure,
        "http_response" => Phase::HttpResponse,
        "grpc_initial" => Phase::GrpcInitial,
        "grpc_receive" => Phase::GrpcReceive,
        "grpc_trailing" => Phase::GrpcTrailing,
        "req_headers" => Phase::RequestHeaders,
        "req_body" => Phase::RequestBody,
        "req_trailers" => Phase::RequestTrailers,
        "resp_headers" => Phase::ResponseHeaders,
        "resp_trailers" => Phase::ResponseTrailers,
        "log" => Phase::Log,
        "downstream" => Phase::Downstream,
        "upstream" => Phase::Upstream,
        other => panic!("unknown phase {other}"),
    }
}

fn status(name: &str) -> Status {
    use Status::*;
    let all = [
        Ok,
        NotFound,
        BadArgument,
        SerializationFailure,
        ParseFailure,
        BadExpression,
        InvalidMemoryAccess,
        Empty,
        CasMismatch,
        ResultMismatch,
        InternalFailure,
        BrokenConnection,
        Unimplemented,
    ];
    let found = all.into_iter().find(|s| format!("{s:?}") == name);
    found.unwrap_or_else(|| panic!("unknown status {name}"))
}

fn slot(n: &str) -> u32 {
    OUT[n.parse::<usize>().expect("out slot number")]
}

/// One argument token as WAT.
fn arg(token: &str, data: &mut Data) -> String {
    if let Some(text) = token.strip_prefix("s:") {
        return data.place(text.replace("\\0", "\0").as_bytes());
    }
    if let Some(list) = token.strip_prefix("p:") {
        let pairs: Vec<(&str, &str)> = list
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').expect("pair is k=v"))
            .collect();
        return data.place(&pairs::encode(&pairs).unwrap());
    }
    if let Some(n) = token.strip_prefix("L:") {
        return format!("(i64.const {n})");
    }
    if let Some(n) = token.strip_prefix("*o") {
        return format!("(i32.load (i32.const {}))", slot(n));
    }
    if let Some(n) = token.strip_prefix('o') {
        return format!("(i32.const {})", slot(n));
    }
    if token == "bad" {
        return format!("(i32.const {BAD})");
    }
    let n: i64 = token
        .parse()
        .unwrap_or_else(|_| panic!("bad argument {token}"));
    format!("(i32.const {n})")
}

/// Parses `phase label expected hostcall args…` lines.
pub fn parse_table(table: &str, data: &mut Data) -> Vec<Row> {
    table
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut t = line.split_whitespace();
            let (p, label, expect, call) = (t.next(), t.next(), t.next(), t.next());
            let (Some(p), Some(label), Some(expect), Some(call)) = (p, label, expect, call) else {
                panic!("short row: {line}");
            };
            let args: Vec<String> = t.map(|a| arg(a, data)).collect();
            Row {
                phase: phase(p),
                label: label.to_string(),
                expect: status(expect),
                call: format!("(call ${call} {})", args.join(" ")),
            }
        })
        .collect()
}
