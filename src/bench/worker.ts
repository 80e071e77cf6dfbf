/**
 * worker: the entry of a bench worker thread. It attaches to the heap it is sent (or, for the
 * uint8array baseline, allocates JS arrays), sets up its part of the workload, then runs timed rounds
 * on request and reports its own elapsed time, so the main thread's message latency is not measured.
 *
 * Protocol (main → worker / worker → main):
 *   { cmd: "init", ...WorkerInit }  →  { ev: "ready", setupCalls }
 *   { cmd: "round", n, gateAt? }    →  { ev: "done", ms, calls, failed, cursor, stopped, startMs, endMs }
 *
 * With `gateAt` the worker first counts itself in at the shared gate (WorkerInit.gate) and waits until
 * the count reaches gateAt, so workers of one round start together; startMs / endMs are on a clock all
 * threads share (performance.timeOrigin + performance.now()).
 *   { cmd: "spin", n, gateAt? }     →  { ev: "done", ms, startMs, endMs, calls: n }  (a heap-free loop:
 *                                      how well the machine runs two threads at once right now)
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
  /** One i32: how many workers have arrived at a round's start (cumulative), or null. */
  gate?: SharedArrayBuffer | null;
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

/** How long a worker at the gate spins before it sleeps (a sleeping thread wakes a time slice late). */
const GATE_SPIN_MS = 2;

/** Counts this worker in at the gate, then waits (spinning, then sleeping) for `at` arrivals. */
function passGate(gate: Int32Array, at: number): void {
  Atomics.add(gate, 0, 1);
  Atomics.notify(gate, 0);
  const t0 = performance.now();
  let spins = 0;
  for (let seen = Atomics.load(gate, 0); seen < at; seen = Atomics.load(gate, 0)) {
    if ((++spins & 1023) === 0 && performance.now() - t0 > GATE_SPIN_MS) Atomics.wait(gate, 0, seen, 1);
  }
}

function round(
  n: number,
  gateAt: number | undefined,
): { ms: number; calls: number; failed: number; cursor: number; startMs: number; endMs: number } {
  const s = side!;
  let failed = 0;
  if (gateAt !== undefined && s.init.gate) passGate(new Int32Array(s.init.gate), gateAt);
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
  const end = performance.now();
  const origin = performance.timeOrigin;
  return {
    ms: end - t,
    calls,
    failed,
    cursor: s.churn?.cursor ?? s.produced,
    startMs: origin + t,
    endMs: origin + end,
  };
}

/** `n` steps of an integer loop that touches no memory (the machine's own parallelism, for scale). */
function spin(n: number, gateAt: number | undefined): object {
  const s = side!;
  if (gateAt !== undefined && s.init.gate) passGate(new Int32Array(s.init.gate), gateAt);
  const t = performance.now();
  let x = 1;
  for (let i = 0; i < n; i++) x = (Math.imul(x, 0x9e3779b1) + i) | 0;
  const end = performance.now();
  const origin = performance.timeOrigin;
  // `x` is returned (as a flag that is never set) so the loop cannot be dropped as dead code.
  return { ms: end - t, calls: n, startMs: origin + t, endMs: origin + end, failed: x === 0.5 ? 1 : 0 };
}

function close(): number {
  const s = side!;
  if (s.churn !== null) churnFreeAll(s.churn);
  s.alloc.close();
  side = null;
  return s.churn?.cursor ?? s.produced;
}

parentPort!.on("message", (m: { cmd: string; n?: number; gateAt?: number } & Partial<WorkerInit>) => {
  try {
    if (m.cmd === "init")
      parentPort!.postMessage({
        ev: "ready",
        setupCalls: start(m as unknown as WorkerInit),
        stopped: budget.hit,
      });
    else if (m.cmd === "round")
      parentPort!.postMessage({ ev: "done", ...round(m.n!, m.gateAt), stopped: budget.hit });
    else if (m.cmd === "spin") parentPort!.postMessage({ ev: "done", ...spin(m.n!, m.gateAt) });
    else if (m.cmd === "close") parentPort!.postMessage({ ev: "closed", cursor: close() });
    else throw new TypeError(`bench worker: unknown command ${JSON.stringify(m.cmd)}`);
  } catch (e) {
    parentPort!.postMessage({ ev: "error", message: e instanceof Error ? e.message : String(e) });
  }
});
