;; Hostile filter: misbehaves in one chosen callback so the host's fault isolation can be tested
;; callback by callback with a single module.
;;
;; Configuration text: "<action> <callback>" or "<action> <callback> once".
;;   action:   loop (infinite loop) | trap (unreachable) | recurse (unbounded recursion, stack
;;             overflow) | grow (memory.grow 1024 pages at a time until refused, then trap, like
;;             an allocator aborting) | huge (one memory.grow of 65535 pages, logs whether it was
;;             refused, then carries on normally)
;;   callback: on_vm_start on_configure on_context_create on_request_headers on_request_body
;;             on_response_headers on_tick on_http_call_response on_log on_done on_delete
;;             on_response_body on_queue_ready on_request_trailers on_response_trailers
;;             on_new_connection on_downstream_data on_upstream_data
;;             on_downstream_connection_close on_upstream_connection_close on_grpc_close
;;   once:     misbehave only the first time, process-wide: the shared-data key `hostile_once`
;;             (in this plugin's vm_id) records that it fired, so a replacement VM behaves.
;; The VM configuration is parsed in on_vm_start (needed to select on_vm_start itself), the
;; plugin configuration in on_configure; a non-empty plugin configuration wins afterwards.
;; on_context_create misbehaves for stream contexts only (the root context exists before any
;; configuration is read). For on_http_call_response, request headers dispatch a GET to
;; cluster `callout` and pause; the response callback misbehaves, then resumes the stream.
;; on_grpc_close works the same with a unary gRPC call (service `hostile.S`, method `M`).
;; For on_queue_ready, on_configure registers the queue `hostile_q` and request headers enqueue
;; one message to it; the root context's on_queue_ready misbehaves.
;; When it does not misbehave, on_response_headers adds `x-hostile: alive`.
;;
;; Memory map: 0x10.. return slots; 0x100 callout header pairs; 0x400.. strings; 0x800 action
;; names (stride 16); 0xa00 callback names (stride 32); 0x1000 line buffer; 0x2000 digits;
;; heap from 0x4000.
(module
  (import "env" "proxy_log" (func $proxy_log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $proxy_get_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $proxy_add_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_tick_period_milliseconds" (func $proxy_set_tick_period_milliseconds (param i32) (result i32)))
  (import "env" "proxy_get_shared_data" (func $proxy_get_shared_data (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $proxy_set_shared_data (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_http_call" (func $proxy_http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $proxy_set_effective_context (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $proxy_continue_stream (param i32) (result i32)))
  (import "env" "proxy_grpc_call" (func $proxy_grpc_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_register_shared_queue" (func $proxy_register_shared_queue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_enqueue_shared_queue" (func $proxy_enqueue_shared_queue (param i32 i32 i32) (result i32)))

  (memory (export "memory") 1)

  ;; :method GET, :path /, :authority hostile (pairs encoding, 67 bytes).
  (data (i32.const 0x100)
    "\03\00\00\00"
    "\07\00\00\00\03\00\00\00" "\05\00\00\00\01\00\00\00" "\0a\00\00\00\07\00\00\00"
    ":method\00GET\00" ":path\00/\00" ":authority\00hostile\00")

  (data (i32.const 0x400) "hostile: \00")
  (data (i32.const 0x420) "armed \00")
  (data (i32.const 0x440) " in \00")
  (data (i32.const 0x460) "firing \00")
  (data (i32.const 0x480) " once\00")
  (data (i32.const 0x4a0) "memory refused at \00")
  (data (i32.const 0x4c0) " pages\00")
  (data (i32.const 0x4e0) "huge grow refused\00")
  (data (i32.const 0x500) "huge grow granted\00")
  (data (i32.const 0x520) "hostile_once\00")
  (data (i32.const 0x540) "callout\00")
  (data (i32.const 0x560) "x-hostile\00")
  (data (i32.const 0x580) "alive\00")
  (data (i32.const 0x5a0) "http call status=\00")
  (data (i32.const 0x5c0) "already fired\00")
  (data (i32.const 0x5e0) "hostile_q\00")
  (data (i32.const 0x600) "hostile.S\00")
  (data (i32.const 0x620) "M\00")
  (data (i32.const 0x640) "grpc call status=\00")
  (data (i32.const 0x700) "once\00")

  (data (i32.const 0x810) "loop\00")
  (data (i32.const 0x820) "trap\00")
  (data (i32.const 0x830) "recurse\00")
  (data (i32.const 0x840) "grow\00")
  (data (i32.const 0x850) "huge\00")

  (data (i32.const 0xa20) "on_vm_start\00")
  (data (i32.const 0xa40) "on_configure\00")
  (data (i32.const 0xa60) "on_context_create\00")
  (data (i32.const 0xa80) "on_request_headers\00")
  (data (i32.const 0xaa0) "on_request_body\00")
  (data (i32.const 0xac0) "on_response_headers\00")
  (data (i32.const 0xae0) "on_tick\00")
  (data (i32.const 0xb00) "on_http_call_response\00")
  (data (i32.const 0xb20) "on_log\00")
  (data (i32.const 0xb40) "on_done\00")
  (data (i32.const 0xb60) "on_delete\00")
  (data (i32.const 0xb80) "on_response_body\00")
  (data (i32.const 0xba0) "on_queue_ready\00")
  (data (i32.const 0xbc0) "on_request_trailers\00")
  (data (i32.const 0xbe0) "on_response_trailers\00")
  (data (i32.const 0xc00) "on_new_connection\00")
  (data (i32.const 0xc20) "on_downstream_data\00")
  (data (i32.const 0xc40) "on_upstream_data\00")
  (data (i32.const 0xc60) "on_downstream_connection_close\00")
  (data (i32.const 0xc80) "on_upstream_connection_close\00")
  (data (i32.const 0xca0) "on_grpc_close\00")

  ;; Selected action (1..5, 0: none), callback (1..21, 0: none), and the once flag.
  (global $action (mut i32) (i32.const 0))
  (global $callback (mut i32) (i32.const 0))
  (global $once (mut i32) (i32.const 0))
  ;; The stream context waiting for the callout response.
  (global $call_context (mut i32) (i32.const 0))
  ;; The queue registered for on_queue_ready.
  (global $queue (mut i32) (i32.const 0))

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

  ;; ---- configuration parsing ----
  ;; 1 when bytes [p, p+n) equal the NUL-terminated string z.
  (func $streq (param $p i32) (param $n i32) (param $z i32) (result i32)
    (local $i i32)
    (if (i32.ne (call $strlen (local.get $z)) (local.get $n)) (then (return (i32.const 0))))
    (block $differ
      (loop $next
        (if (i32.ge_u (local.get $i) (local.get $n)) (then (return (i32.const 1))))
        (br_if $differ (i32.ne
          (i32.load8_u (i32.add (local.get $p) (local.get $i)))
          (i32.load8_u (i32.add (local.get $z) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  ;; Index (1..count) of the word [p, p+n) in the name table at base + i*stride, or 0.
  (func $lookup (param $p i32) (param $n i32) (param $base i32) (param $stride i32) (param $count i32) (result i32)
    (local $i i32)
    (local.set $i (i32.const 1))
    (block $none
      (loop $next
        (br_if $none (i32.gt_u (local.get $i) (local.get $count)))
        (if (call $streq (local.get $p) (local.get $n)
              (i32.add (local.get $base) (i32.mul (local.get $i) (local.get $stride))))
          (then (return (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  ;; Offset of the first space in [p, p+n), or n.
  (func $space (param $p i32) (param $n i32) (result i32)
    (local $i i32)
    (block $found
      (loop $next
        (br_if $found (i32.ge_u (local.get $i) (local.get $n)))
        (br_if $found (i32.eq (i32.load8_u (i32.add (local.get $p) (local.get $i))) (i32.const 32)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))

  ;; Parses "<action> <callback> [once]" and logs what was armed.
  (func $parse (param $p i32) (param $n i32)
    (local $w i32) (local $rest i32)
    (if (i32.eqz (local.get $n)) (then (return)))
    (local.set $w (call $space (local.get $p) (local.get $n)))
    (global.set $action (call $lookup (local.get $p) (local.get $w) (i32.const 0x800) (i32.const 16) (i32.const 5)))
    (local.set $rest (i32.add (local.get $w) (i32.const 1)))
    (if (i32.gt_u (local.get $rest) (local.get $n)) (then (local.set $rest (local.get $n))))
    (local.set $p (i32.add (local.get $p) (local.get $rest)))
    (local.set $n (i32.sub (local.get $n) (local.get $rest)))
    (local.set $w (call $space (local.get $p) (local.get $n)))
    (global.set $callback (call $lookup (local.get $p) (local.get $w) (i32.const 0xa00) (i32.const 32) (i32.const 21)))
    (local.set $rest (i32.add (local.get $w) (i32.const 1)))
    (if (i32.gt_u (local.get $rest) (local.get $n)) (then (local.set $rest (local.get $n))))
    (global.set $once (call $streq
      (i32.add (local.get $p) (local.get $rest)) (i32.sub (local.get $n) (local.get $rest)) (i32.const 0x700)))
    (call $puts (i32.const 0x400))
    (call $puts (i32.const 0x420))
    (call $puts (i32.add (i32.const 0x800) (i32.shl (global.get $action) (i32.const 4))))
    (call $puts (i32.const 0x440))
    (call $puts (i32.add (i32.const 0xa00) (i32.shl (global.get $callback) (i32.const 5))))
    (if (global.get $once) (then (call $puts (i32.const 0x480))))
    (call $log_line))

  ;; Reads buffer `type` (6 VM, 7 plugin configuration) of `size` bytes and parses it.
  (func $read_config (param $type i32) (param $size i32)
    (if (i32.eqz (local.get $size)) (then (return)))
    (i32.store (i32.const 0x10) (i32.const 0))
    (i32.store (i32.const 0x14) (i32.const 0))
    (if (i32.eqz (call $proxy_get_buffer_bytes (local.get $type) (i32.const 0) (local.get $size)
          (i32.const 0x10) (i32.const 0x14)))
      (then (call $parse (i32.load (i32.const 0x10)) (i32.load (i32.const 0x14))))))

  ;; ---- misbehaviour ----
  (func $recurse (param $depth i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $depth) (i32.const 1))) (i32.const 1)))

  (func $grow_until_refused
    (local $pages i32)
    (loop $more
      (if (i32.eq (memory.grow (i32.const 1024)) (i32.const -1))
        (then
          (call $puts (i32.const 0x400))
          (call $puts (i32.const 0x4a0))
          (call $putn (memory.size))
          (call $puts (i32.const 0x4c0))
          (call $log_line)
          (unreachable)))
      (br $more)))

  (func $huge
    (call $puts (i32.const 0x400))
    (if (i32.eq (memory.grow (i32.const 65535)) (i32.const -1))
      (then (call $puts (i32.const 0x4e0)))
      (else (call $puts (i32.const 0x500))))
    (call $log_line))

  ;; 1 when `once` is set and the process-wide marker says it already fired; else marks it.
  (func $already_fired (result i32)
    (if (i32.eqz (global.get $once)) (then (return (i32.const 0))))
    (if (i32.eqz (call $proxy_get_shared_data (i32.const 0x520) (call $strlen (i32.const 0x520))
          (i32.const 0x10) (i32.const 0x14) (i32.const 0x18)))
      (then
        (call $puts (i32.const 0x400))
        (call $puts (i32.const 0x5c0))
        (call $log_line)
        (return (i32.const 1))))
    (drop (call $proxy_set_shared_data (i32.const 0x520) (call $strlen (i32.const 0x520))
      (i32.const 0x580) (i32.const 5) (i32.const 0)))
    (i32.const 0))

  ;; Misbehaves when `callback` is the selected one; returns 1 when it was selected (and
  ;; survived, i.e. `huge`), 0 when not selected.
  (func $hit (param $callback i32) (result i32)
    (if (i32.or (i32.ne (local.get $callback) (global.get $callback)) (i32.eqz (global.get $action)))
      (then (return (i32.const 0))))
    (if (call $already_fired) (then (return (i32.const 0))))
    (call $puts (i32.const 0x400))
    (call $puts (i32.const 0x460))
    (call $puts (i32.add (i32.const 0x800) (i32.shl (global.get $action) (i32.const 4))))
    (call $puts (i32.const 0x440))
    (call $puts (i32.add (i32.const 0xa00) (i32.shl (local.get $callback) (i32.const 5))))
    (call $log_line)
    (block $huge
      (block $grow
        (block $recurse
          (block $trap
            (block $loop
              (br_table $loop $loop $trap $recurse $grow $huge (global.get $action)))
            (loop $forever (br $forever)))
          (unreachable))
        (drop (call $recurse (i32.const 0)))
        (unreachable))
      (call $grow_until_refused))
    (call $huge)
    (i32.const 1))

  (func (export "proxy_abi_version_0_2_1"))

  (func (export "proxy_on_context_create") (param $context i32) (param $parent i32)
    (if (local.get $parent) (then (drop (call $hit (i32.const 3))))))

  (func (export "proxy_on_vm_start") (param $context i32) (param $size i32) (result i32)
    (call $read_config (i32.const 6) (local.get $size))
    (drop (call $hit (i32.const 1)))
    (i32.const 1))

  (func (export "proxy_on_configure") (param $context i32) (param $size i32) (result i32)
    (call $read_config (i32.const 7) (local.get $size))
    (if (i32.eq (global.get $callback) (i32.const 7))
      (then (drop (call $proxy_set_tick_period_milliseconds (i32.const 10)))))
    (if (i32.eq (global.get $callback) (i32.const 13))
      (then
        (drop (call $proxy_register_shared_queue (i32.const 0x5e0) (call $strlen (i32.const 0x5e0)) (i32.const 0x20)))
        (global.set $queue (i32.load (i32.const 0x20)))))
    (drop (call $hit (i32.const 2)))
    (i32.const 1))

  (func (export "proxy_on_request_headers")
    (param $context i32) (param $headers i32) (param $end_of_stream i32) (result i32)
    (local $status i32)
    (drop (call $hit (i32.const 4)))
    (if (global.get $queue)
      (then (drop (call $proxy_enqueue_shared_queue (global.get $queue) (i32.const 0x580) (i32.const 5)))))
    (if (i32.and (i32.eq (global.get $callback) (i32.const 21)) (i32.ne (global.get $action) (i32.const 0)))
      (then
        (local.set $status (call $proxy_grpc_call
          (i32.const 0x540) (call $strlen (i32.const 0x540))
          (i32.const 0x600) (call $strlen (i32.const 0x600))
          (i32.const 0x620) (i32.const 1)
          (i32.const 0x180) (i32.const 4)
          (i32.const 0x580) (i32.const 5)
          (i32.const 1000) (i32.const 0x1c)))
        (call $puts (i32.const 0x400))
        (call $puts (i32.const 0x640))
        (call $putn (local.get $status))
        (call $log_line)
        (if (i32.eqz (local.get $status))
          (then
            (global.set $call_context (local.get $context))
            (return (i32.const 1))))))
    (if (i32.and (i32.eq (global.get $callback) (i32.const 8)) (i32.ne (global.get $action) (i32.const 0)))
      (then
        (local.set $status (call $proxy_http_call
          (i32.const 0x540) (call $strlen (i32.const 0x540))
          (i32.const 0x100) (i32.const 67)
          (i32.const 0) (i32.const 0)
          (i32.const 0x180) (i32.const 4)
          (i32.const 1000) (i32.const 0x1c)))
        (call $puts (i32.const 0x400))
        (call $puts (i32.const 0x5a0))
        (call $putn (local.get $status))
        (call $log_line)
        (if (i32.eqz (local.get $status))
          (then
            (global.set $call_context (local.get $context))
            (return (i32.const 1))))))
    (i32.const 0))

  (func (export "proxy_on_request_body")
    (param $context i32) (param $size i32) (param $end_of_stream i32) (result i32)
    (drop (call $hit (i32.const 5)))
    (i32.const 0))

  (func (export "proxy_on_response_headers")
    (param $context i32) (param $headers i32) (param $end_of_stream i32) (result i32)
    (if (i32.eqz (call $hit (i32.const 6)))
      (then
        (call $puts (i32.const 0x580))
        (drop (call $proxy_add_header_map_value (i32.const 2)
          (i32.const 0x560) (call $strlen (i32.const 0x560)) (i32.const 0x1000) (global.get $out)))
        (global.set $out (i32.const 0))))
    (i32.const 0))

  (func (export "proxy_on_response_body")
    (param $context i32) (param $size i32) (param $end_of_stream i32) (result i32)
    (drop (call $hit (i32.const 12)))
    (i32.const 0))

  (func (export "proxy_on_tick") (param $root i32)
    (drop (call $hit (i32.const 7))))

  (func (export "proxy_on_queue_ready") (param $root i32) (param $queue i32)
    (drop (call $hit (i32.const 13))))

  (func (export "proxy_on_request_trailers") (param $context i32) (param $trailers i32) (result i32)
    (drop (call $hit (i32.const 14)))
    (i32.const 0))

  (func (export "proxy_on_response_trailers") (param $context i32) (param $trailers i32) (result i32)
    (drop (call $hit (i32.const 15)))
    (i32.const 0))

  (func (export "proxy_on_new_connection") (param $context i32) (result i32)
    (drop (call $hit (i32.const 16)))
    (i32.const 0))

  (func (export "proxy_on_downstream_data") (param $context i32) (param $size i32) (param $end i32) (result i32)
    (drop (call $hit (i32.const 17)))
    (i32.const 0))

  (func (export "proxy_on_upstream_data") (param $context i32) (param $size i32) (param $end i32) (result i32)
    (drop (call $hit (i32.const 18)))
    (i32.const 0))

  (func (export "proxy_on_downstream_connection_close") (param $context i32) (param $peer i32)
    (drop (call $hit (i32.const 19))))

  (func (export "proxy_on_upstream_connection_close") (param $context i32) (param $peer i32)
    (drop (call $hit (i32.const 20))))

  (func (export "proxy_on_grpc_close") (param $root i32) (param $token i32) (param $status i32)
    (drop (call $hit (i32.const 21)))
    (call $resume_caller))

  (func (export "proxy_on_http_call_response")
    (param $root i32) (param $token i32) (param $headers i32) (param $body i32) (param $trailers i32)
    (drop (call $hit (i32.const 8)))
    (call $resume_caller))

  ;; Resumes the stream paused on a callout, from the root context.
  (func $resume_caller
    (if (global.get $call_context)
      (then
        (drop (call $proxy_set_effective_context (global.get $call_context)))
        (drop (call $proxy_continue_stream (i32.const 0)))
        (global.set $call_context (i32.const 0)))))

  (func (export "proxy_on_log") (param $context i32)
    (drop (call $hit (i32.const 9))))

  (func (export "proxy_on_done") (param $context i32) (result i32)
    (drop (call $hit (i32.const 10)))
    (i32.const 1))

  (func (export "proxy_on_delete") (param $context i32)
    (drop (call $hit (i32.const 11))))
)
