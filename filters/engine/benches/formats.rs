//! Parser throughput: JSON (4 KiB, 64 KiB), gzip-compressed JSON, gRPC frames and JSON
//! redaction. Values go to a sink that only sums their lengths, so this measures parsing,
//! not detection.

use std::hint::black_box;
use std::io::Write;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use microwaf_engine::formats::{
    BodyParser, ContentInfo, Encoding, GrpcParser, JsonParser, Limits, PushParser, Value,
};
use microwaf_engine::redact::{redact, Mask, RedactFormat};

/// An API-like JSON document of about `size` bytes: users with strings, numbers, nested
/// objects, arrays, and a few escapes.
fn api_json(size: usize) -> Vec<u8> {
    let mut out = b"{\"page\":1,\"users\":[".to_vec();
    let mut i = 0;
    while out.len() < size - 300 {
        if i > 0 {
            out.push(b',');
        }
        write!(
            out,
            "{{\"id\":{i},\"name\":\"User {i}\",\"email\":\"user{i}@example.com\",\"active\":true,\
             \"balance\":{}.{:02},\"tags\":[\"alpha\",\"beta\"],\"address\":{{\"street\":\"{i} Main St\",\
             \"city\":\"Springfield\",\"zip\":\"{:05}\"}},\"note\":\"said \\\"hi\\\" at 10:{:02}\"}}",
            i * 37 % 10_000,
            i % 100,
            i * 7919 % 100_000,
            i % 60
        )
        .unwrap();
        i += 1;
    }
    out.extend_from_slice(b"],\"total\":12345}");
    out
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field(n: u64, payload: &[u8], out: &mut Vec<u8>) {
    varint(n << 3 | 2, out);
    varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

/// A gRPC stream of about `size` bytes: framed messages with strings, numbers and a
/// nested message each.
fn grpc_stream(size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0u64;
    while out.len() < size {
        let mut inner = Vec::new();
        field(1, format!("{i} Main St").as_bytes(), &mut inner);
        field(2, b"Springfield", &mut inner);
        let mut msg = Vec::new();
        varint(1 << 3, &mut msg);
        varint(i, &mut msg);
        field(2, format!("user{i}@example.com").as_bytes(), &mut msg);
        field(3, &inner, &mut msg);
        field(4, b"some longer free text note for the record", &mut msg);
        out.push(0);
        out.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        out.extend_from_slice(&msg);
        i += 1;
    }
    out
}

fn drive(p: &mut dyn PushParser, body: &[u8], chunk: usize) -> usize {
    let mut seen = 0usize;
    let mut sink = |v: &Value<'_>| seen += v.text.len() + v.path.len();
    for c in body.chunks(chunk) {
        p.push(c, &mut sink).unwrap();
    }
    p.finish(&mut sink).unwrap();
    seen
}

fn benches(c: &mut Criterion) {
    let limits = Limits::default();
    let mut g = c.benchmark_group("formats");
    for size in [4 * 1024, 64 * 1024] {
        let body = api_json(size);
        g.throughput(Throughput::Bytes(body.len() as u64));
        // One parser reused across bodies, as a filter worker would (steady state: no
        // allocation per body).
        let mut parser = JsonParser::new(&limits);
        g.bench_function(format!("json_{}k", size / 1024), |b| {
            b.iter(|| {
                parser.reset();
                drive(&mut parser, black_box(&body), 16 * 1024)
            })
        });
    }

    let body = api_json(64 * 1024);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&body).unwrap();
    let gz = e.finish().unwrap();
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("json_64k_gzip", |b| {
        let info = ContentInfo {
            content_type: Some("application/json"),
            content_encoding: Some("gzip"),
            grpc_encoding: None,
        };
        b.iter(|| {
            drive(
                &mut BodyParser::new(&info, &limits).unwrap(),
                black_box(&gz),
                16 * 1024,
            )
        })
    });

    let stream = grpc_stream(64 * 1024);
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("grpc_64k", |b| {
        b.iter(|| {
            drive(
                &mut GrpcParser::new(&limits, Encoding::Identity),
                black_box(&stream),
                16 * 1024,
            )
        })
    });

    let masks: Vec<Mask> = memchr::memmem::find_iter(&body, b"@example.com")
        .map(|at| Mask::Bytes(at as u64..at as u64 + 12))
        .collect();
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("redact_json_64k", |b| {
        b.iter(|| redact(black_box(&body), RedactFormat::Json, &masks))
    });
    g.finish();
}

criterion_group!(formats, benches);
criterion_main!(formats);
