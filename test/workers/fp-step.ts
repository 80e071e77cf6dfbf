/**
 * Worker for test/stress/lock-failpoints.test.ts. Two roles:
 *  - parker: prepares (`prep`), then arms the test-only failpoint `point` and runs `action`; when the
 *    action reaches the failpoint — inside a critical section, or holding a slab between locks — it
 *    parks for good until it is terminated;
 *  - waiter: on GO runs a mixed loop that needs every lock class (small and large blocks, growth,
 *    mallctl, arenas.create, tcache.create) and reports "done", or "poisoned" on HeapPoisonedError, or
 *    "error" on anything else (a timeout or a corruption report is a failure of recovery);
 *  - taker: on GO frees a large block, so takes the arena's extent lock over from a dead holder; at
 *    the failpoint `lock.takeover` (the lock taken over, its repair not begun) it sets TAKER_PAUSED and
 *    sleeps TAKER_SLEEP_MS before repairing, then reports as the waiter does.
 */
import { parentPort, workerData } from "node:worker_threads";
import { arenaCreateManual } from "../../src/arena/arena.js";
import { Heap } from "../../src/heap.js";
import { FP_GO, FP_PARK, FP_PARKED, TAKER_PAUSED, TAKER_SLEEP_MS } from "./fp-common.js";

export interface FpStepData {
  buffer: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  role: "parker" | "waiter" | "taker";
  point: string;
  action: string;
}

const d = workerData as FpStepData;
const ctl = new Int32Array(d.ctl);
const heap = Heap.attach(d.buffer, { lockTimeoutMs: 8000 });
const post = (m: Record<string, unknown>) => parentPort?.postMessage(m);

function run(action: string): void {
  if (action === "fill") heap.free(heap.malloc(96));
  else if (action === "flush") {
    const ps: number[] = [];
    for (let i = 0; i < 600; i++) ps.push(heap.malloc(1024));
    heap.ctx.failpoint = park;
    for (const p of ps) heap.free(p);
  } else if (action === "large-free") {
    const p = heap.malloc(1 << 20);
    heap.ctx.failpoint = park;
    heap.free(p);
  } else if (action === "large-free2") {
    // Two adjacent large blocks: freeing the second merges it with the first, free in the dirty cache.
    const p = heap.malloc(64 << 10);
    const q = heap.malloc(64 << 10);
    heap.free(p);
    heap.ctx.failpoint = park;
    heap.free(q);
  } else if (action === "grow") {
    heap.free(heap.malloc(9 << 20)); // the huge arena exists: the growth below takes only its locks
    heap.ctx.failpoint = park;
    heap.free(heap.malloc(48 << 20));
  } else if (action === "arenas.create") heap.mallctl("arenas.create");
  // The arenas lock alone (mallctl also holds the ctl lock, whose dead holder poisons).
  else if (action === "arena-create-direct") arenaCreateManual(heap.ctx);
  else if (action === "tcache.create") heap.mallctl("tcache.create");
  else if (action === "epoch") heap.mallctl("epoch", 1);
  else throw new Error(`unknown action ${action}`);
}

function park(name: string): void {
  if (name !== d.point) return;
  heap.ctx.failpoint = null;
  Atomics.store(ctl, FP_PARKED, 1);
  Atomics.notify(ctl, FP_PARKED);
  for (;;) Atomics.wait(ctl, FP_PARK, 0, 1000);
}

// The parker's cache and arena binding exist before anything parks; the waiter allocates only after GO.
if (d.role === "parker") heap.free(heap.malloc(8));
post({ kind: "attached", threadId: heap.threadId, ownerTag: heap.ctx.ownerTag });
if (d.role === "parker") {
  if (!["flush", "large-free", "large-free2", "grow"].includes(d.action)) heap.ctx.failpoint = park;
  run(d.action);
  post({ kind: "error", message: `failpoint ${d.point} was never reached by ${d.action}` });
} else if (d.role === "taker") {
  heap.ctx.failpoint = (name) => {
    if (name !== "lock.takeover") return;
    heap.ctx.failpoint = null;
    Atomics.store(ctl, TAKER_PAUSED, 1);
    Atomics.notify(ctl, TAKER_PAUSED);
    Atomics.wait(ctl, FP_PARK, 0, TAKER_SLEEP_MS);
  };
  afterGo(() => heap.free(heap.malloc(1 << 20)));
} else {
  afterGo(() => {
    heap.mallctl("arenas.create");
    heap.mallctl("tcache.create");
    for (let i = 0; i < 100; i++) {
      const a = heap.malloc(96);
      const b = heap.malloc(1024);
      const c = heap.malloc(1 << 20);
      if (a === 0 || b === 0 || c === 0) throw new Error("allocation failed");
      heap.free(a);
      heap.free(b);
      heap.free(c);
      if (i % 25 === 0) heap.mallctl("epoch", 1);
    }
    heap.free(heap.malloc(48 << 20));
  });
}

/** On GO runs `work`, detaches and reports "done", or "poisoned" / "error" with what was thrown. */
function afterGo(work: () => void): void {
  while (Atomics.load(ctl, FP_GO) === 0) Atomics.wait(ctl, FP_GO, 0, 50);
  try {
    work();
    heap.detach();
    post({ kind: "done" });
  } catch (e) {
    const err = e as Error;
    post({
      kind: err.name === "HeapPoisonedError" ? "poisoned" : "error",
      name: err.name,
      message: err.message,
    });
  }
}
