/**
 * Worker for test/stress/gap-kill.test.ts: attaches to a heap whose top is at maxBytes, arms the
 * test-only failpoint "map.gap" (between the gap stack's stores, src/extent/pages.ts gapTake) and runs
 * `action`, which maps from a gap; at the failpoint it parks until terminated.
 *   slab   malloc(100): a slab extent cut from a gap (extent and map locks held)
 *   base   base blocks filled until one is mapped from a gap (base and map locks held)
 *   split  a 64 KiB-aligned mapping that leaves a rest above it (map lock held)
 */
import { parentPort, workerData } from "node:worker_threads";
import { HDR_BASE0_B } from "../../src/ctx/header.js";
import { baseAlloc } from "../../src/extent/base.js";
import { pagesMapExtent } from "../../src/extent/pages.js";
import { Heap } from "../../src/heap.js";

export interface GapKillData {
  buffer: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  action: "slab" | "base" | "split";
}

const d = workerData as GapKillData;
const ctl = new Int32Array(d.ctl);
const heap = Heap.attach(d.buffer, { lockTimeoutMs: 8000 });
parentPort?.postMessage({ kind: "attached" });
heap.ctx.failpoint = (name: string) => {
  if (name !== "map.gap") return;
  heap.ctx.failpoint = null;
  Atomics.store(ctl, 0, 1);
  Atomics.notify(ctl, 0);
  for (;;) Atomics.wait(ctl, 1, 0, 1000);
};
if (d.action === "slab") heap.malloc(100);
else if (d.action === "base") {
  const b0 = heap.ctx.u32[HDR_BASE0_B >>> 2]!;
  for (let i = 0; i < 100_000 && baseAlloc(heap.ctx, b0, 512, 64) !== 0; i++);
} else pagesMapExtent(heap.ctx, 20480, 65536);
parentPort?.postMessage({ kind: "error", message: `failpoint map.gap never reached by ${d.action}` });
