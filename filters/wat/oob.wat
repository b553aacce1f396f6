;; Out-of-bounds pointers and lengths passed to hostcalls. Memory is exactly one page
;; (0x0..0xffff) and cannot grow, so every address at or past 0x10000 is out of bounds. Each
;; probe records `name=status`; a correct host answers InvalidMemoryAccess (6) to every one and
;; never traps, writes outside memory or acts on a half-read argument.
;;
;; on_configure probes the configuration buffer (the plugin configuration must be non-empty)
;; and logs `oob: configure <list>`; on_request_headers runs the request probes and logs
;; `oob: request <list>`; on_response_headers reports both lists in headers `x-oob-configure`
;; and `x-oob-request`. Lists are comma separated `name=status` in the order below.
;;
;; Memory map: 0x10.. return slots; 0x100 empty pairs; 0x400.. strings; 0x1000 line buffer;
;; 0x2000 digits; 0x2100 configure list; 0x2500 request list; heap 0x4000..0xffff.
(module
  (import "env" "proxy_log" (func $proxy_log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $proxy_get_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $proxy_get_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $proxy_add_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $proxy_replace_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $proxy_get_header_map_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_header_map_pairs" (func $proxy_set_header_map_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $proxy_get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $proxy_set_shared_data (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $proxy_define_metric (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $proxy_get_current_time_nanoseconds (param i32) (result i32)))
  (import "env" "proxy_http_call" (func $proxy_http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $proxy_send_local_response (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))

  ;; Exactly one page, never more: 0x10000 is the first out-of-bounds address.
  (memory (export "memory") 1 1)

  (data (i32.const 0x400) "oob: \00")
  (data (i32.const 0x410) "configure \00")
  (data (i32.const 0x420) "request \00")
  (data (i32.const 0x430) ":path\00")
  (data (i32.const 0x440) "x-oob\00")
  (data (i32.const 0x450) "oob_metric\00")
  (data (i32.const 0x460) "x-oob-configure\00")
  (data (i32.const 0x470) "x-oob-request\00")
  (data (i32.const 0x480) "callout\00")
  ;; probe names
  (data (i32.const 0x500) "get_buffer_ret\00")
  (data (i32.const 0x520) "get_buffer_size_ret\00")
  (data (i32.const 0x540) "log\00")
  (data (i32.const 0x560) "log_wrap\00")
  (data (i32.const 0x580) "get_header_key\00")
  (data (i32.const 0x5a0) "get_header_ret\00")
  (data (i32.const 0x5c0) "add_header_value\00")
  (data (i32.const 0x5e0) "replace_header_key\00")
  (data (i32.const 0x600) "get_pairs_ret\00")
  (data (i32.const 0x620) "set_pairs\00")
  (data (i32.const 0x640) "get_property_path\00")
  (data (i32.const 0x660) "set_shared_key\00")
  (data (i32.const 0x680) "define_metric_name\00")
  (data (i32.const 0x6a0) "define_metric_ret\00")
  (data (i32.const 0x6c0) "time_ret\00")
  (data (i32.const 0x6e0) "http_call_upstream\00")
  (data (i32.const 0x700) "send_local_response_body\00")

  (global $configure_len (mut i32) (i32.const 0))
  (global $request_len (mut i32) (i32.const 0))

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

  ;; Appends "name=status" (comma separated) to the line buffer.
  (func $record (param $name i32) (param $status i32)
    (if (global.get $out) (then
      (i32.store8 (i32.const 0x2020) (i32.const 44))
      (call $put (i32.const 0x2020) (i32.const 1))))
    (call $puts (local.get $name))
    (i32.store8 (i32.const 0x2020) (i32.const 61))
    (call $put (i32.const 0x2020) (i32.const 1))
    (call $putn (local.get $status)))

  ;; Copies the line buffer to `dst`, returns its length, then logs "oob: <prefix><list>".
  (func $save_and_log (param $dst i32) (param $prefix i32) (result i32)
    (local $n i32)
    (local.set $n (global.get $out))
    (memory.copy (local.get $dst) (i32.const 0x1000) (local.get $n))
    (global.set $out (i32.const 0))
    (call $puts (i32.const 0x400))
    (call $puts (local.get $prefix))
    (call $put (local.get $dst) (local.get $n))
    (call $log_line)
    (local.get $n))

  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param $context i32) (param $parent i32))
  (func (export "proxy_on_vm_start") (param $context i32) (param $size i32) (result i32) (i32.const 1))

  (func (export "proxy_on_configure") (param $context i32) (param $size i32) (result i32)
    ;; return pointer slot far out of bounds
    (call $record (i32.const 0x500) (call $proxy_get_buffer_bytes (i32.const 7) (i32.const 0) (local.get $size)
      (i32.const 0xfffffff0) (i32.const 0x14)))
    ;; return size slot straddling the end of memory
    (call $record (i32.const 0x520) (call $proxy_get_buffer_bytes (i32.const 7) (i32.const 0) (local.get $size)
      (i32.const 0x10) (i32.const 0xfffe)))
    (global.set $configure_len (call $save_and_log (i32.const 0x2100) (i32.const 0x410)))
    (i32.const 1))

  (func (export "proxy_on_request_headers")
    (param $context i32) (param $headers i32) (param $end_of_stream i32) (result i32)
    ;; message far out of bounds
    (call $record (i32.const 0x540) (call $proxy_log (i32.const 2) (i32.const 0xffffff00) (i32.const 0x100)))
    ;; pointer + length wraps around 2^32
    (call $record (i32.const 0x560) (call $proxy_log (i32.const 2) (i32.const 0x10) (i32.const 0xffffffff)))
    ;; key straddles the end of memory
    (call $record (i32.const 0x580) (call $proxy_get_header_map_value (i32.const 0)
      (i32.const 0xfffe) (i32.const 4) (i32.const 0x10) (i32.const 0x14)))
    ;; existing header, return pointer slot out of bounds
    (call $record (i32.const 0x5a0) (call $proxy_get_header_map_value (i32.const 0)
      (i32.const 0x430) (i32.const 5) (i32.const 0xfffffff0) (i32.const 0x14)))
    ;; value straddles the end of memory: nothing may be added
    (call $record (i32.const 0x5c0) (call $proxy_add_header_map_value (i32.const 0)
      (i32.const 0x440) (i32.const 5) (i32.const 0xfff0) (i32.const 0x100)))
    ;; key far out of bounds
    (call $record (i32.const 0x5e0) (call $proxy_replace_header_map_value (i32.const 0)
      (i32.const 0xfffffff0) (i32.const 32) (i32.const 0x440) (i32.const 1)))
    (call $record (i32.const 0x600) (call $proxy_get_header_map_pairs (i32.const 0)
      (i32.const 0x10000) (i32.const 0x14)))
    ;; huge pairs length: the map must stay untouched
    (call $record (i32.const 0x620) (call $proxy_set_header_map_pairs (i32.const 0)
      (i32.const 0x8000) (i32.const 0x7fffffff)))
    (call $record (i32.const 0x640) (call $proxy_get_property
      (i32.const 0xffffff00) (i32.const 0x200) (i32.const 0x10) (i32.const 0x14)))
    (call $record (i32.const 0x660) (call $proxy_set_shared_data
      (i32.const 0xffff) (i32.const 0x10) (i32.const 0x440) (i32.const 1) (i32.const 0)))
    (call $record (i32.const 0x680) (call $proxy_define_metric (i32.const 0)
      (i32.const 0x10000) (i32.const 8) (i32.const 0x1c)))
    (call $record (i32.const 0x6a0) (call $proxy_define_metric (i32.const 0)
      (i32.const 0x450) (i32.const 10) (i32.const 0xfffffffc)))
    ;; 8-byte result straddling the end of memory
    (call $record (i32.const 0x6c0) (call $proxy_get_current_time_nanoseconds (i32.const 0xfffc)))
    (call $record (i32.const 0x6e0) (call $proxy_http_call
      (i32.const 0xffffff00) (i32.const 16)
      (i32.const 0x100) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 0x100) (i32.const 4)
      (i32.const 1000) (i32.const 0x20)))
    ;; body out of bounds: no local reply may be sent
    (call $record (i32.const 0x700) (call $proxy_send_local_response (i32.const 403)
      (i32.const 0) (i32.const 0) (i32.const 0xffffff00) (i32.const 16)
      (i32.const 0x100) (i32.const 4) (i32.const -1)))
    (global.set $request_len (call $save_and_log (i32.const 0x2500) (i32.const 0x420)))
    (i32.const 0))

  (func (export "proxy_on_response_headers")
    (param $context i32) (param $headers i32) (param $end_of_stream i32) (result i32)
    (drop (call $proxy_add_header_map_value (i32.const 2)
      (i32.const 0x460) (call $strlen (i32.const 0x460)) (i32.const 0x2100) (global.get $configure_len)))
    (drop (call $proxy_add_header_map_value (i32.const 2)
      (i32.const 0x470) (call $strlen (i32.const 0x470)) (i32.const 0x2500) (global.get $request_len)))
    (i32.const 0))

  (func (export "proxy_on_done") (param $context i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param $context i32))
  (func (export "proxy_on_delete") (param $context i32))
)
