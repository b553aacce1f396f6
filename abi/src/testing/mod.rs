//! Test harness: a hand-written WAT module that forwards an exported `call` to one import, with
//! a chosen allocator, instantiated against [`FakeHost`]/[`FakeWasi`] through the real linker.

pub mod fake;

use wasmtime::{Engine, Instance, Linker, Memory, Module, Store, Val};

pub use fake::{FakeHost, FakeWasi};

/// Guest memory layout of the harness module (one 64 KiB page).
pub const PAGE: u32 = 65536;
/// The bump allocator hands out memory from here up.
pub const HEAP: u32 = 32768;

/// Which allocator the module exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alloc {
    Malloc,
    ProxyOnMemoryAllocate,
    /// `malloc` that always returns 0.
    Zero,
    /// `malloc` returning a pointer past the end of memory.
    OutOfBounds,
    /// `malloc` that traps.
    Trapping,
    Missing,
}

#[derive(Default)]
pub struct Data {
    pub host: FakeHost,
    pub wasi: FakeWasi,
}

fn allocator(alloc: Alloc) -> String {
    let bump = "(local $p i32)
        global.get $next local.set $p
        global.get $next local.get 0 i32.add global.set $next
        global.get $allocs i32.const 1 i32.add global.set $allocs
        local.get $p";
    let (name, body) = match alloc {
        Alloc::Malloc => ("malloc", bump.to_string()),
        Alloc::ProxyOnMemoryAllocate => ("proxy_on_memory_allocate", bump.to_string()),
        Alloc::Zero => ("malloc", "i32.const 0".into()),
        Alloc::OutOfBounds => ("malloc", format!("i32.const {}", PAGE - 2)),
        Alloc::Trapping => ("malloc", "unreachable".into()),
        Alloc::Missing => return String::new(),
    };
    format!("(func (export \"{name}\") (param i32) (result i32) {body})")
}

/// A module importing `module`.`name` with `params` (WAT types) and exporting `call`, which
/// forwards its arguments and returns the import's result (0 if it has none).
pub fn forwarder(module: &str, name: &str, params: &[&str], result: bool, alloc: Alloc) -> String {
    let params = params.join(" ");
    let n = params.split_whitespace().count();
    let gets: String = (0..n).map(|i| format!("(local.get {i}) ")).collect();
    let (res, tail) = if result {
        ("(result i32)", "")
    } else {
        ("", "i32.const 0")
    };
    format!(
        r#"(module
  (import "{module}" "{name}" (func $f (param {params}) {res}))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const {HEAP}))
  (global $allocs (export "allocs") (mut i32) (i32.const 0))
  {alloc}
  (func (export "call") (param {params}) (result i32) (call $f {gets}) {tail}))"#,
        alloc = allocator(alloc),
    )
}

pub struct Harness {
    pub store: Store<Data>,
    instance: Instance,
    memory: Memory,
}

impl Harness {
    pub fn new(wat: &str, data: Data) -> Harness {
        let engine = Engine::default();
        let mut linker = Linker::new(&engine);
        crate::add_to_linker(&mut linker, |d: &mut Data| &mut d.host).unwrap();
        crate::add_wasi_to_linker(&mut linker, |d: &mut Data| &mut d.wasi).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, data);
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        Harness {
            store,
            instance,
            memory,
        }
    }

    /// A harness forwarding to one `env` import, with default fakes.
    pub fn env(name: &str, params: &[&str], alloc: Alloc) -> Harness {
        Harness::new(
            &forwarder("env", name, params, true, alloc),
            Data::default(),
        )
    }

    pub fn call(&mut self, args: &[Val]) -> wasmtime::Result<u32> {
        let f = self.instance.get_func(&mut self.store, "call").unwrap();
        let mut out = [Val::I32(0)];
        f.call(&mut self.store, args, &mut out)?;
        Ok(out[0].unwrap_i32() as u32)
    }

    pub fn write(&mut self, ptr: u32, bytes: &[u8]) {
        self.memory
            .write(&mut self.store, ptr as usize, bytes)
            .unwrap();
    }

    pub fn read(&self, ptr: u32, len: u32) -> Vec<u8> {
        let mut buf = vec![0; len as usize];
        self.memory
            .read(&self.store, ptr as usize, &mut buf)
            .unwrap();
        buf
    }

    pub fn read_u32(&self, ptr: u32) -> u32 {
        u32::from_le_bytes(self.read(ptr, 4).try_into().unwrap())
    }

    pub fn read_u64(&self, ptr: u32) -> u64 {
        u64::from_le_bytes(self.read(ptr, 8).try_into().unwrap())
    }

    /// The buffer a hostcall returned through (ptr, len) out-pointers.
    pub fn returned(&self, ptr_ptr: u32, len_ptr: u32) -> Vec<u8> {
        let (ptr, len) = (self.read_u32(ptr_ptr), self.read_u32(len_ptr));
        self.read(ptr, len)
    }

    /// How many times the guest allocator ran.
    pub fn allocs(&mut self) -> i32 {
        let g = self.instance.get_global(&mut self.store, "allocs").unwrap();
        g.get(&mut self.store).unwrap_i32()
    }

    pub fn memory(&self) -> Memory {
        self.memory
    }

    pub fn host(&mut self) -> &mut FakeHost {
        &mut self.store.data_mut().host
    }
}

/// An i32 argument from a `u32`.
pub fn i(v: u32) -> Val {
    Val::I32(v as i32)
}
