;; ABI 0.1.0 filter, written by hand (no SDK emits 0.1.0 any more; old filters in the wild do).
;;
;; 0.1.0 differs from 0.2.x where this module looks: the headers callbacks take two arguments
;; (context id, header count), the plugin configuration is read with proxy_get_configuration,
;; a paused request is resumed with proxy_continue_request, and reading a missing header answers
;; Ok with an empty value (0.2.x: NotFound). See filters/FIXTURES.md for what a host must show.
;;
;; Memory map: 0x10/0x14 return slots (ptr, len); 0x400.. NUL-terminated strings; 0x1000 4 KiB
;; line buffer; 0x2000 digit scratch; heap (bump allocator, `malloc`) from 0x4000.
(module
  (import "env" "proxy_log" (func $proxy_log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_configuration" (func $proxy_get_configuration (param i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $proxy_get_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $proxy_add_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_continue_request" (func $proxy_continue_request (result i32)))
  (import "env" "proxy_set_tick_period_milliseconds" (func $proxy_set_tick_period_milliseconds (param i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $proxy_set_effective_context (param i32) (result i32)))

  (memory (export "memory") 1)

  (data (i32.const 0x400) "abi_0_1_0: \00")
  (data (i32.const 0x420) "configure status=\00")
  (data (i32.const 0x440) " config=\00")
  (data (i32.const 0x460) "request headers #\00")
  (data (i32.const 0x480) " headers=\00")
  (data (i32.const 0x4a0) " missing status=\00")
  (data (i32.const 0x4c0) " len=\00")
  (data (i32.const 0x4e0) "resumed #\00")
  (data (i32.const 0x500) " status=\00")
  (data (i32.const 0x520) "response headers #\00")
  (data (i32.const 0x540) "x-missing\00")
  (data (i32.const 0x560) "x-abi-missing\00")
  (data (i32.const 0x580) "x-abi-config\00")
  (data (i32.const 0x5a0) "x-abi-version\00")
  (data (i32.const 0x5c0) "0.1.0\00")
  (data (i32.const 0x5e0) "status=\00")
  (data (i32.const 0x600) "pause\00")

  ;; The plugin configuration (pointer and length into the heap), read in on_configure.
  (global $config_ptr (mut i32) (i32.const 0))
  (global $config_len (mut i32) (i32.const 0))
  ;; Configuration starts with "pause": request headers pause, on_tick resumes.
  (global $pause (mut i32) (i32.const 0))
  ;; The stream context waiting to be resumed by on_tick (0: none).
  (global $paused (mut i32) (i32.const 0))

  ;; ---- allocator and line building (same helpers in every WAT fixture) ----
  (global $heap (mut i32) (i32.const 0x4000))
  (func $malloc (export "malloc") (param $size i32) (result i32)
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

  ;; Adds header `name` (NUL-terminated) to map `map`; the value is the current line buffer.
  (func $add_line_header (param $map i32) (param $name i32)
    (drop (call $proxy_add_header_map_value (local.get $map)
      (local.get $name) (call $strlen (local.get $name))
      (i32.const 0x1000) (global.get $out)))
    (global.set $out (i32.const 0)))

  ;; Reads `x-missing` from `map`, adds `x-abi-missing: status=S len=L` to the same map.
  (func $probe_missing (param $map i32) (result i32)
    (local $status i32)
    (i32.store (i32.const 0x10) (i32.const 0))
    (i32.store (i32.const 0x14) (i32.const 0))
    (local.set $status (call $proxy_get_header_map_value (local.get $map)
      (i32.const 0x540) (call $strlen (i32.const 0x540)) (i32.const 0x10) (i32.const 0x14)))
    (call $puts (i32.const 0x5e0))
    (call $putn (local.get $status))
    (call $puts (i32.const 0x4c0))
    (call $putn (i32.load (i32.const 0x14)))
    (call $add_line_header (local.get $map) (i32.const 0x560))
    (local.get $status))

  (func (export "proxy_abi_version_0_1_0"))

  (func (export "proxy_on_context_create") (param $context i32) (param $parent i32))

  (func (export "proxy_on_vm_start") (param $context i32) (param $size i32) (result i32)
    (i32.const 1))

  (func (export "proxy_on_configure") (param $context i32) (param $size i32) (result i32)
    (local $status i32)
    (i32.store (i32.const 0x10) (i32.const 0))
    (i32.store (i32.const 0x14) (i32.const 0))
    (local.set $status (call $proxy_get_configuration (i32.const 0x10) (i32.const 0x14)))
    (global.set $config_ptr (i32.load (i32.const 0x10)))
    (global.set $config_len (i32.load (i32.const 0x14)))
    (call $puts (i32.const 0x400))
    (call $puts (i32.const 0x420))
    (call $putn (local.get $status))
    (call $puts (i32.const 0x440))
    (call $put (global.get $config_ptr) (global.get $config_len))
    (call $log_line)
    ;; "pause..." selects the pause-and-resume path.
    (if (i32.ge_u (global.get $config_len) (i32.const 5))
      (then
        (if (i32.eq (i32.load (global.get $config_ptr)) (i32.load (i32.const 0x600)))
          (then
            (if (i32.eq (i32.load8_u (i32.add (global.get $config_ptr) (i32.const 4))) (i32.const 101))
              (then
                (global.set $pause (i32.const 1))
                (drop (call $proxy_set_tick_period_milliseconds (i32.const 1)))))))))
    (i32.const 1))

  ;; Two arguments: the 0.1.0 signature.
  (func (export "proxy_on_request_headers") (param $context i32) (param $headers i32) (result i32)
    (local $status i32)
    (local.set $status (call $probe_missing (i32.const 0)))
    (call $put (global.get $config_ptr) (global.get $config_len))
    (call $add_line_header (i32.const 0) (i32.const 0x580))
    (call $puts (i32.const 0x400))
    (call $puts (i32.const 0x460))
    (call $putn (local.get $context))
    (call $puts (i32.const 0x480))
    (call $putn (local.get $headers))
    (call $puts (i32.const 0x4a0))
    (call $putn (local.get $status))
    (call $log_line)
    (if (global.get $pause)
      (then
        (global.set $paused (local.get $context))
        (return (i32.const 1))))
    (i32.const 0))

  (func (export "proxy_on_tick") (param $root i32)
    (local $status i32)
    (if (i32.eqz (global.get $paused)) (then (return)))
    (drop (call $proxy_set_effective_context (global.get $paused)))
    (local.set $status (call $proxy_continue_request))
    (call $puts (i32.const 0x400))
    (call $puts (i32.const 0x4e0))
    (call $putn (global.get $paused))
    (call $puts (i32.const 0x500))
    (call $putn (local.get $status))
    (call $log_line)
    (global.set $paused (i32.const 0)))

  (func (export "proxy_on_response_headers") (param $context i32) (param $headers i32) (result i32)
    (local $status i32)
    (local.set $status (call $probe_missing (i32.const 2)))
    (call $puts (i32.const 0x5c0))
    (call $add_line_header (i32.const 2) (i32.const 0x5a0))
    (call $puts (i32.const 0x400))
    (call $puts (i32.const 0x520))
    (call $putn (local.get $context))
    (call $puts (i32.const 0x4a0))
    (call $putn (local.get $status))
    (call $log_line)
    (i32.const 0))

  (func (export "proxy_on_done") (param $context i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param $context i32))
  (func (export "proxy_on_delete") (param $context i32))
)
