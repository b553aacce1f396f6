;; An allocator that always fails: both `malloc` and `proxy_on_memory_allocate` return 0.
;; Every hostcall that has to hand the guest a buffer must then answer InvalidMemoryAccess (6)
;; (Envoy: copyToPointerSize fails) instead of writing through a null pointer or trapping.
;; Calls that return no buffer keep working.
;;
;; on_configure reads the plugin configuration (must be non-empty) and logs
;; `alloc_zero: configure get_buffer=<status>`; on_request_headers reads `:path` (value) and the
;; whole request map (pairs) and logs `alloc_zero: request get_header=<s> get_pairs=<s>`;
;; on_response_headers adds `x-alloc-zero: get_buffer=<s>,get_header=<s>,get_pairs=<s>`.
;;
;; Memory map: 0x10.. return slots; 0x400.. strings; 0x1000 line buffer; 0x2000 digits.
(module
  (import "env" "proxy_log" (func $proxy_log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $proxy_get_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $proxy_get_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $proxy_get_header_map_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $proxy_add_header_map_value (param i32 i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)

  (data (i32.const 0x400) "alloc_zero: \00")
  (data (i32.const 0x420) "configure get_buffer=\00")
  (data (i32.const 0x440) "request get_header=\00")
  (data (i32.const 0x460) " get_pairs=\00")
  (data (i32.const 0x480) "get_buffer=\00")
  (data (i32.const 0x4a0) ",get_header=\00")
  (data (i32.const 0x4c0) ",get_pairs=\00")
  (data (i32.const 0x4e0) ":path\00")
  (data (i32.const 0x500) "x-alloc-zero\00")

  (global $get_buffer (mut i32) (i32.const -1))
  (global $get_header (mut i32) (i32.const -1))
  (global $get_pairs (mut i32) (i32.const -1))

  ;; The failing allocator, under both names a host may look for.
  (func $malloc (export "malloc") (param $size i32) (result i32) (i32.const 0))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32) (i32.const 0))

  ;; ---- line building (same helpers in every WAT fixture) ----
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

  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param $context i32) (param $parent i32))
  (func (export "proxy_on_vm_start") (param $context i32) (param $size i32) (result i32) (i32.const 1))

  (func (export "proxy_on_configure") (param $context i32) (param $size i32) (result i32)
    (global.set $get_buffer (call $proxy_get_buffer_bytes (i32.const 7) (i32.const 0) (local.get $size)
      (i32.const 0x10) (i32.const 0x14)))
    (call $puts (i32.const 0x400))
    (call $puts (i32.const 0x420))
    (call $putn (global.get $get_buffer))
    (call $log_line)
    (i32.const 1))

  (func (export "proxy_on_request_headers")
    (param $context i32) (param $headers i32) (param $end_of_stream i32) (result i32)
    (global.set $get_header (call $proxy_get_header_map_value (i32.const 0)
      (i32.const 0x4e0) (i32.const 5) (i32.const 0x10) (i32.const 0x14)))
    (global.set $get_pairs (call $proxy_get_header_map_pairs (i32.const 0)
      (i32.const 0x10) (i32.const 0x14)))
    (call $puts (i32.const 0x400))
    (call $puts (i32.const 0x440))
    (call $putn (global.get $get_header))
    (call $puts (i32.const 0x460))
    (call $putn (global.get $get_pairs))
    (call $log_line)
    (i32.const 0))

  (func (export "proxy_on_response_headers")
    (param $context i32) (param $headers i32) (param $end_of_stream i32) (result i32)
    (call $puts (i32.const 0x480))
    (call $putn (global.get $get_buffer))
    (call $puts (i32.const 0x4a0))
    (call $putn (global.get $get_header))
    (call $puts (i32.const 0x4c0))
    (call $putn (global.get $get_pairs))
    (drop (call $proxy_add_header_map_value (i32.const 2)
      (i32.const 0x500) (call $strlen (i32.const 0x500)) (i32.const 0x1000) (global.get $out)))
    (global.set $out (i32.const 0))
    (i32.const 0))

  (func (export "proxy_on_done") (param $context i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param $context i32))
  (func (export "proxy_on_delete") (param $context i32))
)
