//! Every pointer-taking `env` import, driven with one bad pointer or length at a time, answers
//! `InvalidMemoryAccess` — never a trap, never a host panic — while the same call with valid
//! arguments succeeds (so the status is caused by the pointer, not by something else).

use super::{INVALID_MEMORY, OK};
use crate::pairs;
use crate::testing::{i, Alloc, Harness, PAGE};
use wasmtime::Val;

/// One argument of an import, as the table describes it.
#[derive(Clone, Copy)]
enum Arg {
    /// A (ptr, len) pair pointing at these bytes.
    In(&'static [u8]),
    /// An out-pointer.
    Out,
    /// A plain i32 value (enum, token, size).
    V(u32),
}
use Arg::{In, Out, V};

fn headers() -> &'static [u8] {
    let enc = pairs::encode(&[(":method", "GET"), (":path", "/"), (":authority", "a")]).unwrap();
    Box::leak(enc.into_boxed_slice())
}

fn table() -> Vec<(&'static str, Vec<Arg>)> {
    let h = headers();
    vec![
        ("proxy_log", vec![V(2), In(b"hello")]),
        ("proxy_get_log_level", vec![Out]),
        ("proxy_get_current_time_nanoseconds", vec![Out]),
        ("proxy_get_configuration", vec![Out, Out]),
        ("proxy_get_property", vec![In(b"request\0path"), Out, Out]),
        ("proxy_set_property", vec![In(b"a"), In(b"b")]),
        (
            "proxy_call_foreign_function",
            vec![In(b"echo"), In(b"x"), Out, Out],
        ),
        ("proxy_get_header_map_pairs", vec![V(0), Out, Out]),
        ("proxy_set_header_map_pairs", vec![V(0), In(h)]),
        ("proxy_get_header_map_size", vec![V(0), Out]),
        ("proxy_get_header_map_value", vec![V(0), In(b"k"), Out, Out]),
        ("proxy_add_header_map_value", vec![V(0), In(b"k"), In(b"v")]),
        (
            "proxy_replace_header_map_value",
            vec![V(0), In(b"k"), In(b"v")],
        ),
        ("proxy_remove_header_map_value", vec![V(0), In(b"k")]),
        ("proxy_get_buffer_bytes", vec![V(0), V(0), V(100), Out, Out]),
        ("proxy_get_buffer_status", vec![V(0), Out, Out]),
        ("proxy_set_buffer_bytes", vec![V(0), V(0), V(0), In(b"pre")]),
        (
            "proxy_send_local_response",
            vec![V(403), In(b"d"), In(b"b"), In(h), V(u32::MAX)],
        ),
        (
            "proxy_http_call",
            vec![In(b"c"), In(h), In(b"body"), In(h), V(1000), Out],
        ),
        (
            "proxy_grpc_call",
            vec![
                In(b"c"),
                In(b"svc"),
                In(b"m"),
                In(h),
                In(b"msg"),
                V(1000),
                Out,
            ],
        ),
        (
            "proxy_grpc_stream",
            vec![In(b"c"), In(b"svc"), In(b"m"), In(h), Out],
        ),
        ("proxy_grpc_send", vec![V(8), In(b"msg"), V(1)]),
        ("proxy_get_status", vec![Out, Out, Out]),
        ("proxy_get_shared_data", vec![In(b"k"), Out, Out, Out]),
        ("proxy_set_shared_data", vec![In(b"k"), In(b"v"), V(0)]),
        ("proxy_register_shared_queue", vec![In(b"q"), Out]),
        ("proxy_resolve_shared_queue", vec![In(b"vm"), In(b"q"), Out]),
        ("proxy_enqueue_shared_queue", vec![V(11), In(b"item")]),
        ("proxy_dequeue_shared_queue", vec![V(11), Out, Out]),
        (
            "proxy_define_metric",
            vec![V(0), In(b"requests_total"), Out],
        ),
        ("proxy_get_metric", vec![V(0x10), Out]),
    ]
}

/// What to break in one call.
#[derive(Clone, Copy, PartialEq)]
enum Break {
    Nothing,
    Pointer(usize),
    Length(usize),
}

/// Writes inputs to guest memory and builds the argument list, breaking one argument.
fn args(h: &mut Harness, spec: &[Arg], brk: Break) -> Vec<Val> {
    let (mut data_at, mut out_at) = (1024u32, 16384u32);
    let mut vals = Vec::new();
    for (idx, arg) in spec.iter().enumerate() {
        match *arg {
            In(bytes) => {
                h.write(data_at, bytes);
                let ptr = if brk == Break::Pointer(idx) {
                    u32::MAX - 1
                } else {
                    data_at
                };
                let len = if brk == Break::Length(idx) {
                    u32::MAX
                } else {
                    bytes.len() as u32
                };
                vals.extend([i(ptr), i(len)]);
                data_at += 256;
            }
            Out => {
                // Straddles the end of memory: the first bytes are valid, the last are not.
                vals.push(i(if brk == Break::Pointer(idx) {
                    PAGE - 2
                } else {
                    out_at
                }));
                out_at += 16;
            }
            V(v) => vals.push(i(v)),
        }
    }
    vals
}

fn params(spec: &[Arg]) -> Vec<&'static str> {
    spec.iter()
        .map(|a| match a {
            In(_) => "i32 i32",
            Out | V(_) => "i32",
        })
        .collect()
}

#[test]
fn every_pointer_taking_import_answers_invalid_memory_access() {
    for (name, spec) in table() {
        let mut h = Harness::env(name, &params(&spec), Alloc::Malloc);
        let ok = args(&mut h, &spec, Break::Nothing);
        assert_eq!(h.call(&ok).unwrap(), OK, "{name} with valid arguments");
        for (idx, arg) in spec.iter().enumerate() {
            let mut breaks = vec![Break::Pointer(idx)];
            match arg {
                In(_) => breaks.push(Break::Length(idx)),
                Out => {}
                V(_) => continue,
            }
            for brk in breaks {
                let bad = args(&mut h, &spec, brk);
                let status = h
                    .call(&bad)
                    .unwrap_or_else(|e| panic!("{name}: trapped: {e}"));
                assert_eq!(status, INVALID_MEMORY, "{name}, argument {idx}");
            }
        }
    }
}

#[test]
fn a_module_without_memory_gets_invalid_memory_access() {
    let wat = r#"(module
      (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
      (func (export "call") (result i32) (call $log (i32.const 2) (i32.const 0) (i32.const 0))))"#;
    let engine = wasmtime::Engine::default();
    let mut linker = wasmtime::Linker::new(&engine);
    crate::add_to_linker(&mut linker, |d: &mut crate::testing::Data| &mut d.host).unwrap();
    let module = wasmtime::Module::new(&engine, wat).unwrap();
    let mut store = wasmtime::Store::new(&engine, crate::testing::Data::default());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let call = instance
        .get_typed_func::<(), u32>(&mut store, "call")
        .unwrap();
    assert_eq!(call.call(&mut store, ()).unwrap(), INVALID_MEMORY);
}
