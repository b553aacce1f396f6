;; A response filter that breaks bodies after they started, to check that the host never
;; delivers such a response as if it were whole. The plugin configuration's first byte picks:
;; `trap` — the second non-empty `on_response_body` call of a stream traps (`unreachable`),
;;          after the first chunk already went to the client;
;; `grow` — every non-empty response chunk gets `!` appended (`proxy_set_buffer_bytes`, start
;;          = size, length 0) and passes, while `content-length` is left as it was.
;; Anything else: every callback continues untouched.
(module
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes" (func $set_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x100) "!")
  (global $heap (mut i32) (i32.const 0x4000))
  (global $mode (mut i32) (i32.const 0))
  (global $stream (mut i32) (i32.const 0))
  (global $chunks (mut i32) (i32.const 0))
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
    (if (i32.and (i32.gt_u (local.get $size) (i32.const 0))
          (i32.eqz (call $get_buffer (i32.const 7) (i32.const 0) (local.get $size) (i32.const 0x10) (i32.const 0x14))))
      (then (global.set $mode (i32.load8_u (i32.load (i32.const 0x10))))))
    (i32.const 1))
  (func (export "proxy_on_response_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
    (if (i32.eqz (local.get $size)) (then (return (i32.const 0))))
    (if (i32.ne (local.get $ctx) (global.get $stream))
      (then (global.set $stream (local.get $ctx)) (global.set $chunks (i32.const 0))))
    (global.set $chunks (i32.add (global.get $chunks) (i32.const 1)))
    ;; 't'
    (if (i32.and (i32.eq (global.get $mode) (i32.const 116)) (i32.eq (global.get $chunks) (i32.const 2)))
      (then (unreachable)))
    ;; 'g'
    (if (i32.eq (global.get $mode) (i32.const 103))
      (then (drop (call $set_buffer (i32.const 1) (local.get $size) (i32.const 0) (i32.const 0x100) (i32.const 1)))))
    (i32.const 0))
)
