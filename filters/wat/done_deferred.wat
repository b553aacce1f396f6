;; Envoy's deferred deletion of a root context. At shutdown (plugin removed) the root context's
;; `proxy_on_done` returns false and starts a 10 ms tick; the next `on_tick` calls `proxy_done`
;; (must be Ok) and a second time (NotFound: nothing pending any more); only then may the host
;; run `proxy_on_delete` for the root. `proxy_done` from `on_configure` is NotFound. Stream
;; contexts' `on_done` also return false, which Envoy ignores: their `on_delete` follows at once.
;; Log lines: `done_deferred: configure done=<status>`, `… root on_done deferred`,
;; `… tick done=<status> again=<status>`, `… stream on_done #<id>`, `… delete #<id>`.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_done" (func $done (result i32)))
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "done_deferred: configure done=X")
  (data (i32.const 320) "done_deferred: root on_done deferred")
  (data (i32.const 384) "done_deferred: tick done=X again=Y")
  (data (i32.const 448) "done_deferred: delete #X")
  (data (i32.const 512) "done_deferred: stream on_done #X")
  (global $heap (mut i32) (i32.const 0x4000))
  (func (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (if (i32.gt_u (local.get $size) (i32.const 0x8000)) (then (return (i32.const 0))))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func $digit (param $at i32) (param $v i32)
    (i32.store8 (local.get $at) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10)))))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (call $digit (i32.const 286) (call $done))
    (drop (call $log (i32.const 2) (i32.const 256) (i32.const 31)))
    (i32.const 1))
  (func (export "proxy_on_done") (param $ctx i32) (result i32)
    (if (i32.eq (local.get $ctx) (i32.const 1))
      (then
        (drop (call $tick (i32.const 10)))
        (drop (call $log (i32.const 2) (i32.const 320) (i32.const 36))))
      (else
        (call $digit (i32.const 543) (local.get $ctx))
        (drop (call $log (i32.const 2) (i32.const 512) (i32.const 32)))))
    (i32.const 0))
  (func (export "proxy_on_tick") (param i32)
    (call $digit (i32.const 409) (call $done))
    (call $digit (i32.const 417) (call $done))
    (drop (call $log (i32.const 2) (i32.const 384) (i32.const 34))))
  (func (export "proxy_on_delete") (param $ctx i32)
    (call $digit (i32.const 471) (local.get $ctx))
    (drop (call $log (i32.const 2) (i32.const 448) (i32.const 24))))
)
