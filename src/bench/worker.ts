/**
 * worker: the entry of a bench worker thread. It attaches to the heap it is sent (or, for the
 * uint8array baseline, allocates JS arrays), sets up its part of the workload, then runs timed rounds
 * on request and reports its own elapsed time, so the main thread's message latency is not measured.
 *
 * Protocol (main → worker / worker → main):
 *   { cmd: "init", ...WorkerInit }  →  { ev: "ready", setupCalls }
 *   { cmd: "round", n }             →  { ev: "done", ms, calls, failed, cursor, stopped }
 *   { cmd: "close" }                →  { ev: "closed", cursor }       (frees its blocks, detaches)
 *   any failure                     →  { ev: "error", message }
 */
import { parentPort } from "node:worker_threads";
import { type ChurnState, churnFreeAll, churnSetup, churnState, churnStep } from "./loops.js";
import { budget, budgetStart } from "./result.js";
import { ringConsume, ringProduce } from "./ring.js";
import { attachBenchHeap, type BenchAllocator, HeapAllocator, Uint8ArrayAllocator } from "./strategies.js";
import { type ChurnSpec, churnPlan, sizePlan } from "./workloads.js";

export interface WorkerInit {
  role: "churn" | "producer" | "consumer";
  /** The heap's buffer, or null for the uint8array baseline. */
  buffer: SharedArrayBuffer | null;
  ring: SharedArrayBuffer | null;
  churn: ChurnSpec | null;
  sizes: { min: number; max: number; planOps: number } | null;
  seed: number;
  budgetMs: number;
}

interface WorkerSide {
  alloc: BenchAllocator;
  init: WorkerInit;
  churn: ChurnState | null;
  sizes: Uint32Array | null;
  produced: number;
}

let side: WorkerSide | null = null;

function start(init: WorkerInit): number {
  budgetStart(init.budgetMs);
  const alloc =
    init.buffer === null ? new Uint8ArrayAllocator() : new HeapAllocator(attachBenchHeap(init.buffer));
  side = { alloc, init, churn: null, sizes: null, produced: 0 };
  if (init.role === "churn") {
    side.churn = churnState(alloc, churnPlan(init.churn!, init.seed), init.churn!.batchOps);
    return churnSetup(side.churn);
  }
  if (init.role === "producer")
    side.sizes = sizePlan(init.sizes!.min, init.sizes!.max, init.sizes!.planOps, init.seed);
  return 0;
}

function round(n: number): { ms: number; calls: number; failed: number; cursor: number } {
  const s = side!;
  let failed = 0;
  const t = performance.now();
  let calls: number;
  if (s.init.role === "churn") {
    const before = s.churn!.failed;
    calls = churnStep(s.churn!, n);
    failed = s.churn!.failed - before;
  } else if (s.init.role === "producer") {
    const sizes = s.sizes!;
    const mask = sizes.length - 1;
    const base = s.produced;
    const alloc = s.alloc;
    calls = ringProduce(new Int32Array(s.init.ring!), n, (k) => {
      const p = alloc.malloc(sizes[(base + k) & mask]!);
      if (p === 0) failed++;
      return p;
    });
    s.produced += calls;
  } else {
    const alloc = s.alloc;
    calls = ringConsume(new Int32Array(s.init.ring!), n, (p) => {
      if (p !== 0) alloc.free(p);
    });
  }
  return { ms: performance.now() - t, calls, failed, cursor: s.churn?.cursor ?? s.produced };
}

function close(): number {
  const s = side!;
  if (s.churn !== null) churnFreeAll(s.churn);
  s.alloc.close();
  side = null;
  return s.churn?.cursor ?? s.produced;
}

parentPort!.on("message", (m: { cmd: string; n?: number } & Partial<WorkerInit>) => {
  try {
    if (m.cmd === "init")
      parentPort!.postMessage({
        ev: "ready",
        setupCalls: start(m as unknown as WorkerInit),
        stopped: budget.hit,
      });
    else if (m.cmd === "round") parentPort!.postMessage({ ev: "done", ...round(m.n!), stopped: budget.hit });
    else if (m.cmd === "close") parentPort!.postMessage({ ev: "closed", cursor: close() });
    else throw new TypeError(`bench worker: unknown command ${JSON.stringify(m.cmd)}`);
  } catch (e) {
    parentPort!.postMessage({ ev: "error", message: e instanceof Error ? e.message : String(e) });
  }
});
