;; ABI 0.2.0 filter shaped like a Go SDK (TinyGo) module: exports proxy_abi_version_0_2_0,
;; proxy_on_memory_allocate (no malloc) and `_start` (a WASI command, not a reactor), and
;; writes to stdout through WASI fd_write. Three-argument headers callbacks; a missing header
;; answers NotFound (1). See filters/FIXTURES.md for what a host must show.
;;
;; Memory map: 0x10/0x14 return slots; 0x30 iovec; 0x400.. NUL-terminated strings; 0x1000
;; 4 KiB line buffer; 0x2000 digit scratch; heap from 0x4000.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_log" (func $proxy_log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $proxy_get_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $proxy_get_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $proxy_add_header_map_value (param i32 i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)

  (data (i32.const 0x400) "abi_0_2_0: \00")
  (data (i32.const 0x420) "_start ran\0a\00")
  (data (i32.const 0x440) "configure status=\00")
  (data (i32.const 0x460) " config=\00")
  (data (i32.const 0x480) "request headers #\00")
  (data (i32.const 0x4a0) " headers=\00")
  (data (i32.const 0x4c0) " end_of_stream=\00")
  (data (i32.const 0x4e0) " missing status=\00")
  (data (i32.const 0x500) "x-missing\00")
  (data (i32.const 0x520) "x-abi-missing\00")
  (data (i32.const 0x540) "x-abi-version\00")
  (data (i32.const 0x560) "0.2.0\00")
  (data (i32.const 0x580) "x-abi-config\00")
  (data (i32.const 0x5a0) "status=\00")

  ;; Set by _start; on_vm_start fails the load when the host skipped _start.
  (global $started (mut i32) (i32.const 0))
  (global $config_ptr (mut i32) (i32.const 0))
  (global $config_len (mut i32) (i32.const 0))

  ;; ---- allocator and line building (same helpers in every WAT fixture) ----
  (global $heap (mut i32) (i32.const 0x4000))
  (func $malloc (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32) (local $end i32) (local $have i32)
    (if (i32.gt_u (local.get $size) (i32.const 0x1000000)) (then (return (i32.const 0))))
    (local.set $p (global.get $heap))
    (local.set $end (i32.add (local.get $p) (local.get $size)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (local.get $have)) (i32.const 16)) (i32.const 1)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (i32.and (i32.add (local.get $end) (i32.const 7)) (i32.const -8)))
    (local.get $p))

  (global $out (mut i32) (i32.const 0))
  (func $put (param $p i32) (param $n i32)
    (if (i32.gt_u (i32.add (global.get $out) (local.get $n)) (i32.const 4096))
      (then (local.set $n (i32.sub (i32.const 4096) (global.get $out)))))
    (memory.copy (i32.add (i32.const 0x1000) (global.get $out)) (local.get $p) (local.get $n))
    (global.set $out (i32.add (global.get $out) (local.get $n))))
  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))
  (func $puts (param $p i32) (call $put (local.get $p) (call $strlen (local.get $p))))
  (func $putn (param $v i32)
    (local $i i32)
    (local.set $i (i32.const 0x2010))
    (loop $digit
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (local.get $i) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $digit (local.get $v)))
    (call $put (local.get $i) (i32.sub (i32.const 0x2010) (local.get $i))))
  (func $log_line
    (drop (call $proxy_log (i32.const 2) (i32.const 0x1000) (global.get $out)))
    (global.set $out (i32.const 0)))
  (func $add_line_header (param $map i32) (param $name i32)
    (drop (call $proxy_add_header_map_value (local.get $map)
      (local.get $name) (call $strlen (local.get $name))
      (i32.const 0x1000) (global.get $out)))
    (global.set $out (i32.const 0)))

  ;; Reads `x-missing` from `map`, adds `x-abi-missing: status=S` to the same map.
  (func $probe_missing (param $map i32) (result i32)
    (local $status i32)
    (local.set $status (call $proxy_get_header_map_value (local.get $map)
      (i32.const 0x500) (call $strlen (i32.const 0x500)) (i32.const 0x10) (i32.const 0x14)))
    (call $puts (i32.const 0x5a0))
    (call $putn (local.get $status))
    (call $add_line_header (local.get $map) (i32.const 0x520))
    (local.get $status))

  (func (export "proxy_abi_version_0_2_0"))

  ;; TinyGo's entry point: run by the host before any callback.
  (func (export "_start")
    (global.set $started (i32.const 1))
    (call $puts (i32.const 0x400))
    (call $puts (i32.const 0x420))
    (i32.store (i32.const 0x30) (i32.const 0x1000))
    (i32.store (i32.const 0x34) (global.get $out))
    (drop (call $fd_write (i32.const 1) (i32.const 0x30) (i32.const 1) (i32.const 0x38)))
    (global.set $out (i32.const 0)))

  (func (export "proxy_on_context_create") (param $context i32) (param $parent i32))

  (func (export "proxy_on_vm_start") (param $context i32) (param $size i32) (result i32)
    (global.get $started))

  (func (export "proxy_on_configure") (param $context i32) (param $size i32) (result i32)
    (local $status i32)
    (i32.store (i32.const 0x10) (i32.const 0))
    (i32.store (i32.const 0x14) (i32.const 0))
    (local.set $status (call $proxy_get_buffer_bytes (i32.const 7) (i32.const 0) (local.get $size)
      (i32.const 0x10) (i32.const 0x14)))
    (global.set $config_ptr (i32.load (i32.const 0x10)))
    (global.set $config_len (i32.load (i32.const 0x14)))
    (call $puts (i32.const 0x400))
    (call $puts (i32.const 0x440))
    (call $putn (local.get $status))
    (call $puts (i32.const 0x460))
    (call $put (global.get $config_ptr) (global.get $config_len))
    (call $log_line)
    (i32.const 1))

  (func (export "proxy_on_request_headers")
    (param $context i32) (param $headers i32) (param $end_of_stream i32) (result i32)
    (local $status i32)
    (local.set $status (call $probe_missing (i32.const 0)))
    (call $put (global.get $config_ptr) (global.get $config_len))
    (call $add_line_header (i32.const 0) (i32.const 0x580))
    (call $puts (i32.const 0x400))
    (call $puts (i32.const 0x480))
    (call $putn (local.get $context))
    (call $puts (i32.const 0x4a0))
    (call $putn (local.get $headers))
    (call $puts (i32.const 0x4c0))
    (call $putn (local.get $end_of_stream))
    (call $puts (i32.const 0x4e0))
    (call $putn (local.get $status))
    (call $log_line)
    (i32.const 0))

  (func (export "proxy_on_response_headers")
    (param $context i32) (param $headers i32) (param $end_of_stream i32) (result i32)
    (drop (call $probe_missing (i32.const 2)))
    (call $puts (i32.const 0x560))
    (call $add_line_header (i32.const 2) (i32.const 0x540))
    (i32.const 0))

  (func (export "proxy_on_done") (param $context i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param $context i32))
  (func (export "proxy_on_delete") (param $context i32))
)
