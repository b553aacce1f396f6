//! Adapter tests through real wasm: hand-written WAT forwarders, the real linker, a fake host.

mod memory_safety;

use crate::pairs;
use crate::testing::{i, Alloc, Harness, HEAP};
use crate::types::{AbiVersion, LogLevel, Status};
use wasmtime::Val;

const OK: u32 = Status::Ok as u32;
const BAD_ARGUMENT: u32 = Status::BadArgument as u32;
const INVALID_MEMORY: u32 = Status::InvalidMemoryAccess as u32;

/// Out-pointer slots used by the tests below.
const OUT_PTR: u32 = 16384;
const OUT_LEN: u32 = 16392;

fn get_pairs(alloc: Alloc) -> Harness {
    Harness::env("proxy_get_header_map_pairs", &["i32 i32 i32"], alloc)
}

#[test]
fn header_pairs_round_trip_through_guest_memory() {
    let mut set = Harness::env(
        "proxy_set_header_map_pairs",
        &["i32 i32 i32"],
        Alloc::Malloc,
    );
    let encoded = pairs::encode(&[("x-a", "1"), ("x-b", "")]).unwrap();
    set.write(1024, &encoded);
    assert_eq!(
        set.call(&[i(0), i(1024), i(encoded.len() as u32)]).unwrap(),
        OK
    );
    let headers = set.host().headers.clone();
    assert_eq!(
        headers,
        vec![(b"x-a".to_vec(), b"1".to_vec()), (b"x-b".to_vec(), vec![])]
    );

    let mut get = get_pairs(Alloc::Malloc);
    get.host().headers = headers;
    assert_eq!(get.call(&[i(2), i(OUT_PTR), i(OUT_LEN)]).unwrap(), OK);
    assert_eq!(get.read_u32(OUT_PTR), HEAP, "buffer allocated by malloc");
    assert_eq!(get.returned(OUT_PTR, OUT_LEN), encoded);
    assert_eq!(get.allocs(), 1);
}

#[test]
fn an_empty_header_map_is_zero_zero_like_envoy() {
    let mut h = get_pairs(Alloc::Malloc);
    h.host().headers.clear();
    h.write(OUT_PTR, &[0xff; 16]);
    assert_eq!(h.call(&[i(0), i(OUT_PTR), i(OUT_LEN)]).unwrap(), OK);
    assert_eq!((h.read_u32(OUT_PTR), h.read_u32(OUT_LEN)), (0, 0));
    assert_eq!(h.allocs(), 0);
}

#[test]
fn proxy_on_memory_allocate_is_used_when_malloc_is_absent() {
    let mut h = get_pairs(Alloc::ProxyOnMemoryAllocate);
    assert_eq!(h.call(&[i(0), i(OUT_PTR), i(OUT_LEN)]).unwrap(), OK);
    assert_eq!(h.allocs(), 1);
    let decoded = h.returned(OUT_PTR, OUT_LEN);
    assert_eq!(pairs::decode(&decoded).unwrap()[1], (&b"k"[..], &b"v"[..]));
}

#[test]
fn a_failing_allocator_is_invalid_memory_access_not_a_crash() {
    for alloc in [Alloc::Zero, Alloc::OutOfBounds, Alloc::Missing] {
        let mut h = get_pairs(alloc);
        assert_eq!(
            h.call(&[i(0), i(OUT_PTR), i(OUT_LEN)]).unwrap(),
            INVALID_MEMORY,
            "{alloc:?}"
        );
        assert_eq!(h.read_u32(OUT_PTR), 0, "{alloc:?}: nothing written");
    }
}

#[test]
fn cached_exports_replace_the_lookups() {
    // The module's own malloc returns 0; a cached allocator (a host function here) wins.
    let mut h = get_pairs(Alloc::Zero);
    let fixed = wasmtime::Func::wrap(&mut h.store, |_len: u32| 40000u32);
    let typed = fixed.typed::<u32, u32>(&h.store).unwrap();
    let memory = h.memory();
    h.host().exports = crate::GuestExports {
        memory: Some(memory),
        allocator: Some(typed),
    };
    assert_eq!(h.call(&[i(0), i(OUT_PTR), i(OUT_LEN)]).unwrap(), OK);
    assert_eq!(h.read_u32(OUT_PTR), 40000);
    assert_eq!(
        pairs::decode(&h.returned(OUT_PTR, OUT_LEN)).unwrap().len(),
        2
    );
}

#[test]
fn a_trapping_allocator_traps_the_call() {
    let mut h = get_pairs(Alloc::Trapping);
    assert!(h.call(&[i(0), i(OUT_PTR), i(OUT_LEN)]).is_err());
}

#[test]
fn empty_results_are_zero_zero_without_allocating() {
    let mut h = Harness::env(
        "proxy_get_buffer_bytes",
        &["i32 i32 i32 i32 i32"],
        Alloc::Zero,
    );
    h.write(OUT_PTR, &[0xff; 16]);
    // Start past the end of the body: empty, so the (broken) allocator is never called.
    assert_eq!(
        h.call(&[i(0), i(1000), i(10), i(OUT_PTR), i(OUT_LEN)])
            .unwrap(),
        OK
    );
    assert_eq!((h.read_u32(OUT_PTR), h.read_u32(OUT_LEN)), (0, 0));
}

#[test]
fn buffer_bytes_slice_and_missing_buffer() {
    let mut h = Harness::env(
        "proxy_get_buffer_bytes",
        &["i32 i32 i32 i32 i32"],
        Alloc::Malloc,
    );
    assert_eq!(
        h.call(&[i(0), i(6), i(100), i(OUT_PTR), i(OUT_LEN)])
            .unwrap(),
        OK
    );
    assert_eq!(h.returned(OUT_PTR, OUT_LEN), b"body");
    let not_found = Status::NotFound as u32;
    assert_eq!(
        h.call(&[i(1), i(0), i(1), i(OUT_PTR), i(OUT_LEN)]).unwrap(),
        not_found
    );
    assert_eq!(
        h.call(&[i(9), i(0), i(1), i(OUT_PTR), i(OUT_LEN)]).unwrap(),
        BAD_ARGUMENT
    );
}

#[test]
fn missing_header_is_not_found_except_in_abi_0_1_0() {
    for (abi, status) in [
        (AbiVersion::V0_2_1, Status::NotFound),
        (AbiVersion::V0_1_0, Status::Ok),
    ] {
        let params = ["i32 i32 i32 i32 i32"];
        let mut h = Harness::env("proxy_get_header_map_value", &params, Alloc::Malloc);
        h.host().abi = abi;
        h.write(1024, b"missing");
        h.write(OUT_PTR, &[0xff; 16]);
        let r = h
            .call(&[i(0), i(1024), i(7), i(OUT_PTR), i(OUT_LEN)])
            .unwrap();
        assert_eq!(r, status as u32, "{abi:?}");
        if status == Status::Ok {
            assert_eq!((h.read_u32(OUT_PTR), h.read_u32(OUT_LEN)), (0, 0));
        }
        h.write(1024, b"k");
        assert_eq!(
            h.call(&[i(0), i(1024), i(1), i(OUT_PTR), i(OUT_LEN)])
                .unwrap(),
            OK
        );
        assert_eq!(h.returned(OUT_PTR, OUT_LEN), b"v");
    }
}

#[test]
fn unknown_enum_values_are_bad_argument() {
    let cases: [(&str, &[&str], Vec<Val>); 6] = [
        ("proxy_log", &["i32 i32 i32"], vec![i(6), i(0), i(0)]),
        (
            "proxy_get_header_map_size",
            &["i32 i32"],
            vec![i(8), i(OUT_PTR)],
        ),
        (
            "proxy_get_buffer_status",
            &["i32 i32 i32"],
            vec![i(9), i(OUT_PTR), i(OUT_LEN)],
        ),
        ("proxy_continue_stream", &["i32"], vec![i(4)]),
        ("proxy_close_stream", &["i32"], vec![i(u32::MAX)]),
        (
            "proxy_define_metric",
            &["i32 i32 i32 i32"],
            vec![i(3), i(0), i(1), i(OUT_PTR)],
        ),
    ];
    for (name, params, args) in cases {
        let mut h = Harness::env(name, params, Alloc::Malloc);
        assert_eq!(h.call(&args).unwrap(), BAD_ARGUMENT, "{name}");
        assert!(h.host().calls.is_empty(), "{name}: host not called");
    }
}

#[test]
fn malformed_pairs_are_bad_argument_and_leave_headers_alone() {
    let mut h = Harness::env(
        "proxy_set_header_map_pairs",
        &["i32 i32 i32"],
        Alloc::Malloc,
    );
    h.write(1024, &[5, 0, 0, 0, 1, 0]);
    assert_eq!(h.call(&[i(0), i(1024), i(6)]).unwrap(), BAD_ARGUMENT);
    assert_eq!(h.host().headers.len(), 2);
    // Size 0 is an empty map, as in Envoy.
    assert_eq!(h.call(&[i(0), i(0), i(0)]).unwrap(), OK);
    assert!(h.host().headers.is_empty());
}

#[test]
fn scalar_results_are_written_with_their_width() {
    let mut h = Harness::env(
        "proxy_get_current_time_nanoseconds",
        &["i32"],
        Alloc::Malloc,
    );
    assert_eq!(h.call(&[i(OUT_PTR)]).unwrap(), OK);
    assert_eq!(h.read_u64(OUT_PTR), 0x1122_3344_5566_7788);

    let mut h = Harness::env("proxy_get_metric", &["i32 i32"], Alloc::Malloc);
    assert_eq!(h.call(&[i(0x10), i(OUT_PTR)]).unwrap(), OK);
    assert_eq!(h.read_u64(OUT_PTR), u64::MAX - 1);

    let mut h = Harness::env("proxy_get_log_level", &["i32"], Alloc::Malloc);
    assert_eq!(h.call(&[i(OUT_PTR)]).unwrap(), OK);
    assert_eq!(h.read_u32(OUT_PTR), LogLevel::Warn as u32);
}

#[test]
fn metric_offsets_and_values_keep_their_sign_and_width() {
    let mut h = Harness::env("proxy_increment_metric", &["i32 i64"], Alloc::Malloc);
    assert_eq!(h.call(&[i(0x10), Val::I64(-1)]).unwrap(), BAD_ARGUMENT);
    assert_eq!(h.call(&[i(0x10), Val::I64(1 << 40)]).unwrap(), OK);
    let mut r = Harness::env("proxy_record_metric", &["i32 i64"], Alloc::Malloc);
    assert_eq!(r.call(&[i(0x12), Val::I64(-1)]).unwrap(), OK);
    assert_eq!(h.host().calls, ["increment(16,1099511627776)"]);
    assert_eq!(r.host().calls, ["record(18,18446744073709551615)"]);
}

#[test]
fn no_argument_imports_reach_the_host() {
    let cases = [
        ("proxy_continue_request", "continue(Request)"),
        ("proxy_continue_response", "continue(Response)"),
        ("proxy_clear_route_cache", "clear_route_cache"),
        ("proxy_done", "done"),
    ];
    for (name, call) in cases {
        let mut h = Harness::env(name, &[], Alloc::Malloc);
        assert_eq!(h.call(&[]).unwrap(), OK, "{name}");
        assert_eq!(h.host().calls, [call]);
    }
    let mut h = Harness::env("proxy_set_effective_context", &["i32"], Alloc::Malloc);
    assert_eq!(h.call(&[i(0)]).unwrap(), BAD_ARGUMENT);
    assert_eq!(h.call(&[i(2)]).unwrap(), OK);
}

#[test]
fn local_response_arguments_are_decoded() {
    let params = ["i32 i32 i32 i32 i32 i32 i32 i32"];
    let mut h = Harness::env("proxy_send_local_response", &params, Alloc::Malloc);
    let headers = pairs::encode(&[("x-why", "waf")]).unwrap();
    h.write(1024, b"blocked");
    h.write(2048, b"denied");
    h.write(3072, &headers);
    let args = [
        i(403),
        i(1024),
        i(7),
        i(2048),
        i(6),
        i(3072),
        i(headers.len() as u32),
        i(u32::MAX),
    ];
    assert_eq!(h.call(&args).unwrap(), OK);
    assert_eq!(h.host().calls, ["local(403,blocked,denied,[x-why=waf],-1)"]);
}

#[test]
fn http_call_writes_the_token_and_passes_host_errors_through() {
    let params = ["i32 i32 i32 i32 i32 i32 i32 i32 i32 i32"];
    let mut h = Harness::env("proxy_http_call", &params, Alloc::Malloc);
    let good = pairs::encode(&[(":method", "GET"), (":path", "/")]).unwrap();
    let bad = pairs::encode(&[(":path", "/")]).unwrap();
    h.write(1024, b"authz");
    h.write(2048, &good);
    h.write(3072, &bad);
    let call = |h: &mut Harness, headers: u32, len: usize| {
        let args = [
            i(1024),
            i(5),
            i(headers),
            i(len as u32),
            i(0),
            i(0),
            i(0),
            i(0),
            i(500),
            i(OUT_PTR),
        ];
        h.call(&args).unwrap()
    };
    assert_eq!(call(&mut h, 2048, good.len()), OK);
    assert_eq!(h.read_u32(OUT_PTR), 7);
    assert_eq!(call(&mut h, 3072, bad.len()), BAD_ARGUMENT);
    assert_eq!(
        h.host().calls,
        ["http_call(authz,[:method=GET,:path=/],,500)"]
    );
}

#[test]
fn foreign_function_results_and_unknown_names() {
    let params = ["i32 i32 i32 i32 i32 i32"];
    let mut h = Harness::env("proxy_call_foreign_function", &params, Alloc::Malloc);
    h.write(1024, b"echo");
    h.write(1100, b"payload");
    h.write(1200, b"nope");
    assert_eq!(
        h.call(&[i(1024), i(4), i(1100), i(7), i(OUT_PTR), i(OUT_LEN)])
            .unwrap(),
        OK
    );
    assert_eq!(h.returned(OUT_PTR, OUT_LEN), b"payload");
    // A caller that ignores the result passes null out-pointers.
    assert_eq!(
        h.call(&[i(1024), i(4), i(1100), i(7), i(0), i(0)]).unwrap(),
        OK
    );
    let not_found = Status::NotFound as u32;
    assert_eq!(
        h.call(&[i(1200), i(4), i(1100), i(7), i(OUT_PTR), i(OUT_LEN)])
            .unwrap(),
        not_found
    );
}

#[test]
fn shared_data_and_queue_results() {
    let mut h = Harness::env(
        "proxy_get_shared_data",
        &["i32 i32 i32 i32 i32"],
        Alloc::Malloc,
    );
    h.write(1024, b"k");
    assert_eq!(
        h.call(&[i(1024), i(1), i(OUT_PTR), i(OUT_LEN), i(OUT_LEN + 8)])
            .unwrap(),
        OK
    );
    assert_eq!(h.returned(OUT_PTR, OUT_LEN), b"shared");
    assert_eq!(h.read_u32(OUT_LEN + 8), 3);

    let mut q = Harness::env(
        "proxy_dequeue_shared_queue",
        &["i32 i32 i32"],
        Alloc::Malloc,
    );
    assert_eq!(q.call(&[i(11), i(OUT_PTR), i(OUT_LEN)]).unwrap(), OK);
    assert_eq!(q.returned(OUT_PTR, OUT_LEN), b"item");
    assert_eq!(
        q.call(&[i(12), i(OUT_PTR), i(OUT_LEN)]).unwrap(),
        Status::Empty as u32
    );
}

#[test]
fn emscripten_shims() {
    let mut h = Harness::env("pthread_equal", &["i32 i32"], Alloc::Malloc);
    assert_eq!(h.call(&[i(3), i(3)]).unwrap(), 1);
    assert_eq!(h.call(&[i(3), i(4)]).unwrap(), 0);
}
