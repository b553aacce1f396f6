;; Imports functions no host provides: `env.proxy_fixture_no_such_hostcall` and
;; `fixture_vendor.anything`. Loading must still succeed (docs/abi.md: a missing import never
;; fails a load); only calling one may fail. With plugin configuration `call`, request headers
;; call the missing hostcall: a correct host turns that into a trap of this VM (failure policy
;; applies), not a crash. Otherwise request headers add `x-unknown-import: loaded` to the
;; request and log `unknown_import: loaded`.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_fixture_no_such_hostcall" (func $missing (param i32) (result i32)))
  (import "fixture_vendor" "anything" (func $vendor))
  (memory (export "memory") 1)
  (data (i32.const 0x400) "x-unknown-import")
  (data (i32.const 0x420) "loaded")
  (data (i32.const 0x440) "unknown_import: loaded")
  (data (i32.const 0x460) "call")
  ;; Plugin configuration is `call`.
  (global $call (mut i32) (i32.const 0))
  (global $heap (mut i32) (i32.const 0x4000))
  (func (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (if (i32.gt_u (local.get $size) (i32.const 0x8000)) (then (return (i32.const 0))))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
    (if (i32.eq (local.get $size) (i32.const 4))
      (then
        (if (i32.eqz (call $get_buffer (i32.const 7) (i32.const 0) (i32.const 4) (i32.const 0x10) (i32.const 0x14)))
          (then
            (global.set $call (i32.eq (i32.load (i32.load (i32.const 0x10))) (i32.load (i32.const 0x460))))))))
    (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (global.get $call)
      (then
        (drop (call $missing (i32.const 0)))
        (call $vendor)))
    (drop (call $add (i32.const 0) (i32.const 0x400) (i32.const 16) (i32.const 0x420) (i32.const 6)))
    (drop (call $log (i32.const 2) (i32.const 0x440) (i32.const 22)))
    (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
)
