use wasmtime::Val;

use super::{errno, stubs, ProcExit, WASI_MODULES};
use crate::testing::{forwarder, i, Alloc, Data, Harness};

fn wasi(name: &str, params: &[&str]) -> Harness {
    wasi_with(name, params, Data::default())
}

fn wasi_with(name: &str, params: &[&str], data: Data) -> Harness {
    let wat = forwarder("wasi_snapshot_preview1", name, params, true, Alloc::Missing);
    Harness::new(&wat, data)
}

#[test]
fn fd_write_to_stdout_and_stderr_logs_one_line_per_write() {
    let mut h = wasi("fd_write", &["i32 i32 i32 i32"]);
    h.write(100, b"hello, ");
    h.write(200, b"world\n");
    // Two iovecs at 300: (100, 7), (200, 6).
    for (at, v) in [(300, 100u32), (304, 7), (308, 200), (312, 6)] {
        h.write(at, &v.to_le_bytes());
    }
    assert_eq!(
        h.call(&[i(1), i(300), i(2), i(400)]).unwrap(),
        errno::SUCCESS
    );
    assert_eq!(h.read_u32(400), 13, "nwritten counts the newline");
    assert_eq!(
        h.call(&[i(2), i(300), i(1), i(400)]).unwrap(),
        errno::SUCCESS
    );
    assert_eq!(
        h.store.data().wasi.logs,
        [(1, "hello, world".to_string()), (2, "hello, ".to_string())]
    );
    assert_eq!(h.call(&[i(3), i(300), i(1), i(400)]).unwrap(), errno::BADF);
    // An iovec pointing outside memory is EFAULT, not a trap.
    h.write(304, &u32::MAX.to_le_bytes());
    assert_eq!(h.call(&[i(1), i(300), i(1), i(400)]).unwrap(), errno::FAULT);
    assert_eq!(
        h.call(&[i(1), i(u32::MAX - 3), i(1), i(400)]).unwrap(),
        errno::FAULT
    );
}

#[test]
fn fd_write_of_a_huge_iovec_list_is_a_short_write() {
    let mut h = wasi("fd_write", &["i32 i32 i32 i32"]);
    // 4096 iovecs, each the same 1 KiB region: 4 MiB requested, capped at 64 KiB.
    for n in 0..4096u32 {
        h.write(8192 + n * 8, &0u32.to_le_bytes());
        h.write(8192 + n * 8 + 4, &1024u32.to_le_bytes());
    }
    assert_eq!(
        h.call(&[i(1), i(8192), i(4096), i(400)]).unwrap(),
        errno::SUCCESS
    );
    assert_eq!(h.read_u32(400), super::io::MAX_WRITE as u32);
}

#[test]
fn clocks_and_random() {
    let mut h = wasi("clock_time_get", &["i32 i64 i32"]);
    assert_eq!(
        h.call(&[i(0), Val::I64(1), i(100)]).unwrap(),
        errno::SUCCESS
    );
    assert_eq!(h.read_u64(100), 1_700_000_000_000_000_000);
    assert_eq!(
        h.call(&[i(1), Val::I64(1), i(100)]).unwrap(),
        errno::SUCCESS
    );
    assert_eq!(h.read_u64(100), 42);
    assert_eq!(h.call(&[i(2), Val::I64(1), i(100)]).unwrap(), errno::INVAL);

    let mut h = wasi("clock_res_get", &["i32 i32"]);
    assert_eq!(h.call(&[i(1), i(100)]).unwrap(), errno::SUCCESS);
    assert_eq!(h.read_u64(100), 1);

    let mut h = wasi("random_get", &["i32 i32"]);
    assert_eq!(h.call(&[i(100), i(4)]).unwrap(), errno::SUCCESS);
    assert_eq!(h.read(100, 4), [0xa0, 0xa1, 0xa2, 0xa3]);
    assert_eq!(h.call(&[i(65530), i(100)]).unwrap(), errno::FAULT);
}

#[test]
fn environ_layout_matches_wasi_libc_expectations() {
    let mut data = Data::default();
    data.wasi.env = vec![("A".into(), "1".into()), ("NAME".into(), "waf".into())];
    let mut sizes = wasi_with("environ_sizes_get", &["i32 i32"], data);
    assert_eq!(sizes.call(&[i(100), i(104)]).unwrap(), errno::SUCCESS);
    assert_eq!((sizes.read_u32(100), sizes.read_u32(104)), (2, 13));

    let mut data = Data::default();
    data.wasi.env = vec![("A".into(), "1".into()), ("NAME".into(), "waf".into())];
    let mut get = wasi_with("environ_get", &["i32 i32"], data);
    assert_eq!(get.call(&[i(100), i(200)]).unwrap(), errno::SUCCESS);
    assert_eq!((get.read_u32(100), get.read_u32(104)), (200, 204));
    assert_eq!(get.read(200, 13), b"A=1\0NAME=waf\0");

    // Envoy passes no arguments.
    let mut args = wasi("args_sizes_get", &["i32 i32"]);
    args.write(100, &[0xff; 8]);
    assert_eq!(args.call(&[i(100), i(104)]).unwrap(), errno::SUCCESS);
    assert_eq!((args.read_u32(100), args.read_u32(104)), (0, 0));
}

#[test]
fn startup_probes_answer_like_envoy() {
    let mut h = wasi("fd_prestat_get", &["i32 i32"]);
    assert_eq!(h.call(&[i(3), i(100)]).unwrap(), errno::BADF);
    let mut h = wasi("fd_fdstat_get", &["i32 i32"]);
    assert_eq!(h.call(&[i(1), i(100)]).unwrap(), errno::SUCCESS);
    assert_eq!(h.read_u64(108), 1 << 6, "rights: FD_WRITE");
    assert_eq!(h.call(&[i(0), i(100)]).unwrap(), errno::BADF);
    let mut h = wasi("sched_yield", &[]);
    assert_eq!(h.call(&[]).unwrap(), errno::SUCCESS);
}

#[test]
fn poll_oneoff_completes_clock_subscriptions_at_once() {
    let mut h = wasi("poll_oneoff", &["i32 i32 i32 i32"]);
    h.write(1000, &77u64.to_le_bytes()); // userdata, tag 0 = clock
    h.write(1048, &78u64.to_le_bytes());
    h.write(1056, &[1]); // tag 1 = fd_read
    assert_eq!(
        h.call(&[i(1000), i(2000), i(2), i(3000)]).unwrap(),
        errno::SUCCESS
    );
    assert_eq!(h.read_u32(3000), 2);
    assert_eq!((h.read_u64(2000), h.read(2008, 3)), (77, vec![0, 0, 0]));
    assert_eq!((h.read_u64(2032), h.read(2040, 3)), (78, vec![8, 0, 1]));
    assert_eq!(
        h.call(&[i(1000), i(2000), i(0), i(3000)]).unwrap(),
        errno::INVAL
    );
    assert_eq!(
        h.call(&[i(65000), i(2000), i(100), i(3000)]).unwrap(),
        errno::FAULT
    );
}

#[test]
fn proc_exit_is_a_recognisable_trap() {
    let wat = forwarder(
        "wasi_unstable",
        "proc_exit",
        &["i32"],
        false,
        Alloc::Missing,
    );
    let mut h = Harness::new(&wat, Data::default());
    let err = h.call(&[i(3)]).unwrap_err();
    assert_eq!(err.downcast_ref::<ProcExit>(), Some(&ProcExit(3)));
}

#[test]
fn every_stub_links_under_both_names_with_an_errno() {
    // A module importing every stubbed function (signatures resolved by the linker itself).
    let engine = wasmtime::Engine::default();
    let mut linker = wasmtime::Linker::<Data>::new(&engine);
    crate::add_wasi_to_linker(&mut linker, |d: &mut Data| &mut d.wasi).unwrap();
    let mut store = wasmtime::Store::new(&engine, Data::default());
    for module in WASI_MODULES {
        for name in stubs::names() {
            let f = linker
                .get(&mut store, module, name)
                .unwrap()
                .into_func()
                .unwrap();
            let ty = f.ty(&store);
            let args: Vec<Val> = ty
                .params()
                .map(|p| Val::default_for_ty(&p).unwrap())
                .collect();
            let mut out = [Val::I32(-1)];
            f.call(&mut store, &args, &mut out).unwrap();
            assert!(
                [8, 44, 52].contains(&out[0].unwrap_i32()),
                "{module}.{name}"
            );
        }
    }
    assert_eq!(stubs::names().count() + 13, 46, "the whole preview1 table");
}
