;; A module whose *initial* memory is 2 GiB (32768 pages): a memory bomb at instantiation
;; rather than at run time. A host with a per-VM memory cap must refuse to load it with a clear
;; error (never crash or hang); otherwise it behaves as a filter that adds `x-huge-memory: loaded`
;; to every response.
(module
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 32768)
  (data (i32.const 0x400) "x-huge-memory")
  (data (i32.const 0x420) "loaded")
  (global $heap (mut i32) (i32.const 0x4000))
  ;; Bump allocator; the memory is already larger than anything a test hands back.
  (func (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $add (i32.const 2) (i32.const 0x400) (i32.const 13) (i32.const 0x420) (i32.const 6)))
    (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
)
