/**
 * Worker for test/integration/tcache-internal.test.ts: attaches, fills its thread cache (and, for
 * the explicit case, an explicit cache) with freed blocks, reports, then arms the test-only failpoint
 * `point` and runs `action`, which reaches it while creating or destroying a cache. There it parks for
 * good, until it is terminated.
 */
import { parentPort, workerData } from "node:worker_threads";
import { MALLOCX_TCACHE } from "../../src/flags.js";
import { Heap } from "../../src/heap.js";
import { TC_NEVER, TC_PARKED, type TcParkData } from "./tc-common.js";

const d = workerData as TcParkData;
const ctl = new Int32Array(d.ctl);
const heap = Heap.attach(d.buffer, { lockTimeoutMs: 8000 });

// Freed blocks of several classes sit in the caches when the worker is parked.
const fill = (flags: number): void => {
  const ps: number[] = [];
  for (const size of [16, 48, 200, 1024, 20 << 10])
    for (let i = 0; i < 6; i++) ps.push(heap.mallocx(size, flags));
  for (const p of ps) heap.dallocx(p, flags);
};
fill(0);
let explicit = -1;
if (d.action === "explicit") {
  explicit = Number(heap.mallctl("tcache.create"));
  fill(MALLOCX_TCACHE(explicit));
}
parentPort!.postMessage({ threadId: heap.threadId });

heap.ctx.failpoint = (name: string) => {
  if (name !== d.point) return;
  heap.ctx.failpoint = null;
  Atomics.store(ctl, TC_PARKED, 1);
  Atomics.notify(ctl, TC_PARKED);
  for (;;) Atomics.wait(ctl, TC_NEVER, 0, 1000);
};
if (d.action === "recreate") {
  heap.mallctl("thread.tcache.enabled", false);
  heap.mallctl("thread.tcache.enabled", true);
  heap.malloc(8);
} else if (d.action === "disable") {
  heap.mallctl("thread.tcache.enabled", false);
} else if (d.action === "detach") {
  heap.detach();
} else if (d.action === "statsprint") {
  heap.statsPrint();
} else {
  heap.mallctl("tcache.destroy", explicit);
}
parentPort!.postMessage({ error: `failpoint ${d.point} was never reached by ${d.action}` });
