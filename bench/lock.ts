/**
 * Lock fast-path cost: an uncontended lockAcquire + lockRelease pair, and the heap's slow-path
 * operations that take locks (malloc/free of a large block, small malloc/free with the cache off).
 *
 *   node --import tsx bench/lock.ts
 */
import { Bench } from "tinybench";
import { MALLOCX_TCACHE_NONE } from "../src/flags.js";
import { Heap } from "../src/heap.js";
import { createLockContext, LOCK_WORDS, lockAcquire, lockInit, lockRelease } from "../src/sync/index.js";

const i32 = new Int32Array(new SharedArrayBuffer(LOCK_WORDS * 4 * 2));
lockInit(i32, 0);
const lockCtx = createLockContext({ regW: 0 });
const TAG = (7 << 10) | 3;
const heap = Heap.create({ envConf: null, conf: "narenas:1", maxBytes: 64 << 20 });

/**
 * The previous protocol's uncontended fast path, for a paired comparison in one run: a state CAS
 * 0→1 then a separate owner-word store; release checks the owner word, clears it, then decrements
 * the state (same statistics update as the real lock).
 */
const old = new Int32Array(new SharedArrayBuffer(LOCK_WORDS * 4));
function oldAcquire(tag: number): void {
  if (Atomics.compareExchange(old, 0, 0, 1) !== 0) throw new Error("contended (bench is single-threaded)");
  Atomics.store(old, 1, tag);
  lockStatsOwnerUpdateRef(old, tag);
}
function oldRelease(tag: number): void {
  if (Atomics.load(old, 1) !== tag) throw new Error("not owner");
  Atomics.store(old, 1, 0);
  if (Atomics.sub(old, 0, 1) !== 1) {
    Atomics.store(old, 0, 0);
    Atomics.notify(old, 0, 1);
  }
}
function lockStatsOwnerUpdateRef(i32: Int32Array, tag: number): void {
  const lo = (i32[4]! + 1) | 0;
  i32[4] = lo;
  if (lo === 0) i32[5] = (i32[5]! + 1) | 0;
  if (i32[2] !== tag) i32[2] = tag;
}

const bench = new Bench({ time: 1500, warmupTime: 300 });
bench
  .add("before: two-word lock (CAS state, store owner) ×100", () => {
    for (let i = 0; i < 100; i++) {
      oldAcquire(TAG);
      oldRelease(TAG);
    }
  })
  .add("after: lockAcquire + lockRelease (owner in the state word) ×100", () => {
    for (let i = 0; i < 100; i++) {
      lockAcquire(i32, 0, TAG, lockCtx);
      lockRelease(i32, 0, TAG, lockCtx);
    }
  })
  .add("mallocx(64, TCACHE_NONE) + free ×100", () => {
    for (let i = 0; i < 100; i++) heap.dallocx(heap.mallocx(64, MALLOCX_TCACHE_NONE), MALLOCX_TCACHE_NONE);
  })
  .add("malloc(64) + free (thread cache) ×100", () => {
    for (let i = 0; i < 100; i++) heap.free(heap.malloc(64));
  });
await bench.run();
for (const t of bench.tasks) {
  const r = t.result;
  if (r === undefined) continue;
  const lat =
    (r as unknown as { latency?: { mean: number } }).latency?.mean ?? (r as unknown as { mean: number }).mean;
  console.log(`${t.name.padEnd(64)} ${((lat * 1e6) / 100).toFixed(1)} ns/op`);
}
