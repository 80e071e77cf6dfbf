/**
 * Worker for test/stress/tcache-failpoint.test.ts (RELIABILITY.md §6.3 F2). Two roles:
 *  - parker: attaches, warms up (its cache and arena exist), then on the supervisor's signal arms the
 *    test-only failpoint `point` and allocates `size` bytes (through its cache, or MALLOCX_TCACHE_NONE):
 *    when the allocation reaches the failpoint — inside the critical section — it parks for good with
 *    the lock held, until it is terminated;
 *  - allocator: attaches, warms up, waits for GO, then allocates `count` blocks of `size` (the same size
 *    class: it needs the lock the parker holds), stamps and verifies them, frees them and detaches.
 *    A LockTimeoutError is reported (not thrown); with `retryAfterTimeout` it waits for RETRY and tries
 *    again.
 * Messages: {kind: "attached"}, then {kind: "timeout"} (maybe), then {kind: "done"} or {kind: "error"}.
 */
import { parentPort, workerData } from "node:worker_threads";
import { MALLOCX_TCACHE_NONE } from "../../src/flags.js";
import { Heap } from "../../src/heap.js";
import { stampBlock, verifyBlock } from "../helpers/ledger-tc.js";
import {
  type FailpointWorkerData,
  FP_GO,
  FP_PARK,
  FP_PARKED,
  FP_RETRY,
  FP_START,
  FP_STARTED,
} from "./tc-common.js";

const d = workerData as FailpointWorkerData;
const ctl = new Int32Array(d.ctl);
const heap = Heap.attach(d.buffer, { lockTimeoutMs: d.lockTimeoutMs });
const post = (m: Record<string, unknown>) => parentPort?.postMessage({ index: d.index, ...m });

function waitFor(word: number): void {
  while (Atomics.load(ctl, word) === 0) Atomics.wait(ctl, word, 0, 50);
}

function allocOne(): number {
  return d.via === "arena" ? heap.mallocx(d.size, MALLOCX_TCACHE_NONE) : heap.malloc(d.size);
}

// Warm up with another class: the cache and the arena binding exist before anything is parked.
heap.free(heap.malloc(8));
post({ kind: "attached", threadId: heap.threadId, slot: heap.threadSlot, ownerTag: heap.ctx.ownerTag });

if (d.role === "parker") {
  waitFor(FP_START);
  heap.ctx.failpoint = (name) => {
    if (name !== d.point) return;
    heap.ctx.failpoint = null;
    Atomics.store(ctl, FP_PARKED, 1);
    Atomics.notify(ctl, FP_PARKED);
    for (;;) Atomics.wait(ctl, FP_PARK, 0, 1000);
  };
  allocOne();
  post({ kind: "error", message: `failpoint ${d.point} was never reached` });
} else {
  waitFor(FP_GO);
  const t0 = Date.now();
  Atomics.add(ctl, FP_STARTED, 1);
  Atomics.notify(ctl, FP_STARTED);
  const run = (): number[] => {
    const blocks: number[] = [];
    for (let i = 0; i < d.count; i++) {
      const p = allocOne();
      if (p === 0) throw new Error(`allocation ${i} of ${d.size} bytes failed`);
      stampBlock(heap, p, d.size, (i << 8) | d.index);
      blocks.push(p);
    }
    return blocks;
  };
  let blocks: number[] | null = null;
  try {
    blocks = run();
  } catch (e) {
    const err = e as Error;
    if (!d.retryAfterTimeout || err.name !== "LockTimeoutError") {
      post({ kind: "error", name: err.name, message: err.message });
    } else {
      const ownerSlot = (err as Error & { ownerSlot?: number }).ownerSlot;
      post({ kind: "timeout", name: err.name, message: err.message, ownerSlot, after: Date.now() - t0 });
      waitFor(FP_RETRY);
      blocks = run();
    }
  }
  if (blocks !== null) {
    const doneAt = Date.now();
    const distinct = new Set(blocks).size;
    const broken = blocks.map((p) => verifyBlock(heap, p)).filter((r) => typeof r === "string");
    for (const p of blocks) heap.free(p);
    heap.detach();
    post({ kind: "done", doneAt, distinct, broken });
  }
}
