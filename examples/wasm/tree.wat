;; A WebAssembly module whose allocator is jemalloc-ts: it imports its memory and malloc/free from
;; "env" (the functions heap.wasmImports() returns) and keeps a binary search tree of integer keys.
;; Node (16 bytes): [left i32][right i32][key i32][count i32].
(module
  (import "env" "memory" (memory 1 16384 shared))
  (import "env" "malloc" (func $malloc (param i32) (result i32)))
  (import "env" "free" (func $free (param i32)))

  ;; Inserts `key` under `root` (0: empty tree); returns the root, or 0 when malloc failed.
  (func $insert (export "insert") (param $root i32) (param $key i32) (result i32)
    (local $node i32) (local $at i32) (local $slot i32)
    (local.set $node (call $malloc (i32.const 16)))
    (if (i32.eqz (local.get $node)) (then (return (i32.const 0))))
    (i32.store (local.get $node) (i32.const 0))
    (i32.store offset=4 (local.get $node) (i32.const 0))
    (i32.store offset=8 (local.get $node) (local.get $key))
    (i32.store offset=12 (local.get $node) (i32.const 1))
    (if (i32.eqz (local.get $root)) (then (return (local.get $node))))
    (local.set $at (local.get $root))
    (loop $down
      ;; equal key: count it, give the new node back
      (if (i32.eq (i32.load offset=8 (local.get $at)) (local.get $key))
        (then
          (i32.store offset=12 (local.get $at) (i32.add (i32.load offset=12 (local.get $at)) (i32.const 1)))
          (call $free (local.get $node))
          (return (local.get $root))))
      (local.set $slot (select (local.get $at) (i32.add (local.get $at) (i32.const 4))
        (i32.lt_u (local.get $key) (i32.load offset=8 (local.get $at)))))
      (if (i32.eqz (i32.load (local.get $slot)))
        (then (i32.store (local.get $slot) (local.get $node)) (return (local.get $root))))
      (local.set $at (i32.load (local.get $slot)))
      (br $down))
    (local.get $root))

  ;; Builds a tree of `n` pseudo-random keys below 1,000,000 (a linear congruential sequence from `seed`).
  (func (export "build") (param $n i32) (param $seed i32) (result i32)
    (local $root i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $seed (i32.add (i32.mul (local.get $seed) (i32.const 1103515245)) (i32.const 12345)))
        (local.set $root (call $insert (local.get $root)
          (i32.rem_u (i32.shr_u (local.get $seed) (i32.const 8)) (i32.const 1000000))))
        (if (i32.eqz (local.get $root)) (then (return (i32.const 0))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $root))

  ;; Unhooks the root's left subtree and returns it (for another thread to free).
  (func (export "detach_left") (param $root i32) (result i32)
    (local $left i32)
    (local.set $left (i32.load (local.get $root)))
    (i32.store (local.get $root) (i32.const 0))
    (local.get $left))

  ;; Frees a subtree; returns how many nodes it freed.
  (func $free_tree (export "free_tree") (param $node i32) (result i32)
    (local $n i32)
    (if (i32.eqz (local.get $node)) (then (return (i32.const 0))))
    (local.set $n (i32.add (i32.const 1) (i32.add
      (call $free_tree (i32.load (local.get $node)))
      (call $free_tree (i32.load offset=4 (local.get $node))))))
    (call $free (local.get $node))
    (local.get $n))
)
