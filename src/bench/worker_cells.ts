/**
 * worker_cells: the two multi-threaded workloads, seen from the main thread. It makes the heap, starts
 * two bench workers that attach to it, and times rounds with tinybench: each sample is the slower
 * worker's own elapsed time for the round (tinybench's overriddenDuration), so ns/call is the time a
 * worker needs per call while the other one runs too. The footprint (workers-churn) is sampled from the
 * main thread between rounds, while both workers are idle.
 *
 *   workers-churn      jemalloc-ts configurations and the uint8array baseline (each worker its own arrays)
 *   producer-consumer  jemalloc-ts only: a JS array cannot be freed by another thread
 *   @thi.ng/malloc is skipped for both: its pool uses no Atomics and is not safe to share between workers
 *
 * Workers run compiled JS (dist/bench/worker.js) when this module is JS; when it is TypeScript (tsx,
 * vitest) the worker registers tsx first and imports worker.ts.
 * Errors: a worker error or exit rejects; runCell turns that into an "error" cell.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { CellContext } from "./cell.js";
import { budget, type CellResult, FootprintHighWater, nsPerCallOf, nsPerCallSingle } from "./result.js";
import { ringCreate } from "./ring.js";
import { collectGarbage, median, sampleIterations } from "./sample.js";
import { type BenchAllocator, createBenchHeap, HeapAllocator } from "./strategies.js";
import type { WorkerInit } from "./worker.js";
import {
  churnPlan,
  LiveTracker,
  type ProducerConsumerSpec,
  type WorkersChurnSpec,
  workerSeed,
} from "./workloads.js";

/** Starts one bench worker thread (TypeScript via tsx's register(), or the compiled JS). */
export function spawnBenchWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./worker.js", here), { execArgv: [] });
  const entry = new URL("./worker.ts", here).href;
  // tsx's package exports map "." to dist/loader.mjs; its ESM register() API sits beside it.
  const tsxApi = new URL("./esm/api/index.mjs", pathToFileURL(createRequire(here).resolve("tsx"))).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, execArgv: [] });
}

interface Reply {
  ev: string;
  message?: string;
  ms?: number;
  calls?: number;
  failed?: number;
  cursor?: number;
  setupCalls?: number;
  stopped?: boolean;
  /** The round's start and end on the clock all threads share (ms). */
  startMs?: number;
  endMs?: number;
}

/** The worker's next reply; rejects on an error reply, a worker error, an exit or after `timeoutMs`. */
function reply(w: Worker, timeoutMs: number): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const done = (f: () => void) => {
      clearTimeout(timer);
      w.off("message", onMsg);
      w.off("error", onErr);
      w.off("exit", onExit);
      f();
    };
    const onMsg = (m: Reply) =>
      done(() => (m.ev === "error" ? reject(new Error(`bench worker: ${m.message}`)) : resolve(m)));
    const onErr = (e: Error) => done(() => reject(e));
    const onExit = (code: number) => done(() => reject(new Error(`bench worker exited (code ${code})`)));
    const timer = setTimeout(
      () => done(() => reject(new Error(`bench worker did not answer within ${timeoutMs} ms`))),
      timeoutMs,
    );
    w.on("message", onMsg);
    w.once("error", onErr);
    w.once("exit", onExit);
  });
}

async function ask(ws: Worker[], msgs: object[], timeoutMs: number): Promise<Reply[]> {
  const answers = ws.map((w) => reply(w, timeoutMs));
  for (let i = 0; i < ws.length; i++) ws[i]!.postMessage(msgs[i]);
  return Promise.all(answers);
}

/**
 * Footprint samples of the workers-churn workload, taken from the main thread between rounds: the heap's
 * bytes in use and the live requested bytes of both workers at that moment (replayed from their plans).
 */
class WorkerFootprint {
  readonly hw = new FootprintHighWater();
  readonly #alloc: BenchAllocator | null;
  readonly #trackers: LiveTracker[];
  readonly cursors: number[];
  constructor(alloc: BenchAllocator | null, spec: WorkersChurnSpec, seed: number) {
    this.#alloc = alloc;
    this.#trackers = [0, 1].map((w) => new LiveTracker(churnPlan(spec.churn, workerSeed(seed, w))));
    this.cursors = [0, 0];
  }
  sample(): void {
    const live = this.#trackers.reduce((sum, t, w) => sum + t.liveAt(this.cursors[w]!), 0);
    // The workers' own JS arrays hold exactly what they requested.
    this.hw.add(this.#alloc === null ? { inUse: live, mapped: Number.NaN } : this.#alloc.sample(), live);
  }
}

export async function runWorkerCell(
  c: CellContext,
  spec: WorkersChurnSpec | ProducerConsumerSpec,
  res: CellResult,
): Promise<void> {
  const kind = c.strategy.kind;
  if (kind === "thi.ng")
    return skip(res, "@thi.ng/malloc's pool uses no Atomics: sharing it between workers is unsafe");
  if (kind === "as-tlsf")
    return skip(res, "AssemblyScript's TLSF runs in one wasm instance: it cannot be shared between workers");
  if (kind === "uint8array" && spec.kind === "producer-consumer")
    return skip(res, "a JS array cannot be freed by another thread");
  const alloc = kind === "jemalloc-ts" ? new HeapAllocator(createBenchHeap(c.strategy)) : null;
  const buffer = alloc === null ? null : (alloc.heap.buffer as SharedArrayBuffer);
  const workers = [spawnBenchWorker(), spawnBenchWorker()];
  const timeout = c.opts.budgetMs + 30_000;
  const gate = spec.kind === "workers-churn" ? new Gate() : null;
  try {
    const ready = await ask(workers, initMessages(c, spec, buffer, gate), timeout);
    if (ready.some((r) => r.stopped)) return stopped(res, "setup");
    const fp = spec.kind === "workers-churn" ? new WorkerFootprint(alloc, spec, c.opts.seed) : null;
    fp?.sample();
    await timeRounds(c, spec, res, workers, fp, timeout, gate);
    await ask(workers, [{ cmd: "close" }, { cmd: "close" }], timeout);
    if (fp !== null && res.status === "ok") {
      res.footprint = fp.hw.result(alloc?.bufferBytes() ?? Number.NaN);
    }
    if (spec.kind === "producer-consumer")
      res.note = "footprint not reported: the live set is only the ring's transient contents";
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    alloc?.close();
  }
}
function skip(res: CellResult, why: string): void {
  res.status = "skipped";
  res.note = why;
}

function stopped(res: CellResult, where: string): void {
  res.status = "partial";
  res.note = `stopped by the cell's time budget during ${where}`;
}

/**
 * The start gate of the workers-churn rounds: a shared count of arrivals. A round of k workers tells
 * each to start once the count reaches (arrivals so far) + k, so they start within microseconds of
 * each other instead of one message latency apart.
 */
class Gate {
  readonly buffer = new SharedArrayBuffer(4);
  #arrivals = 0;
  /** The count the workers of the next round (`k` of them) wait for. */
  next(k: number): number {
    this.#arrivals += k;
    return this.#arrivals;
  }
}

function initMessages(
  c: CellContext,
  spec: WorkersChurnSpec | ProducerConsumerSpec,
  buffer: SharedArrayBuffer | null,
  gate: Gate | null,
): object[] {
  const base = {
    cmd: "init",
    buffer,
    budgetMs: c.opts.budgetMs,
    ring: null,
    churn: null,
    sizes: null,
    gate: gate?.buffer ?? null,
  };
  if (spec.kind === "workers-churn") {
    return [0, 1].map(
      (w): object =>
        ({
          ...base,
          role: "churn",
          churn: spec.churn,
          seed: workerSeed(c.opts.seed, w),
        }) satisfies WorkerInit & { cmd: string },
    );
  }
  const ring = ringCreate(spec.ringSlots);
  const sizes = { min: spec.minSize, max: spec.maxSize, planOps: spec.planOps };
  return [
    { ...base, role: "producer", ring, sizes, seed: workerSeed(c.opts.seed, 0) },
    { ...base, role: "consumer", ring, seed: workerSeed(c.opts.seed, 1) },
  ];
}

async function timeRounds(
  c: CellContext,
  spec: WorkersChurnSpec | ProducerConsumerSpec,
  res: CellResult,
  workers: Worker[],
  fp: WorkerFootprint | null,
  timeout: number,
  gate: Gate | null,
): Promise<void> {
  const n = spec.kind === "workers-churn" ? spec.roundOps : spec.roundItems;
  let failed = 0;
  let anyStopped = false;
  let lastMs = 0;
  const round = async () => {
    const gateAt = gate?.next(2);
    const r = await ask(
      workers,
      [
        { cmd: "round", n, gateAt },
        { cmd: "round", n, gateAt },
      ],
      timeout,
    );
    failed += (r[0]!.failed ?? 0) + (r[1]!.failed ?? 0);
    if (r.some((x) => x.stopped)) anyStopped = true;
    lastMs = Math.max(r[0]!.ms ?? 0, r[1]!.ms ?? 0);
    if (fp !== null) for (let w = 0; w < 2; w++) fp.cursors[w] = r[w]!.cursor ?? 0;
    return { overriddenDuration: lastMs };
  };
  await round();
  if (anyStopped) return stopped(res, "the first round");
  // The footprint is read in untimed rounds (two cycles of the plans), never between timed ones:
  // jemalloc-ts's reading walks the arenas and would leave the next timed round's caches cold.
  if (fp !== null) {
    const cycle = Math.ceil((spec.kind === "workers-churn" ? spec.churn.planOps : 1) / n);
    for (let i = 0; i < 2 * cycle && !anyStopped && !budget.hit; i++) {
      await round();
      fp.sample();
    }
  }
  collectGarbage();
  const lat = await sampleIterations(
    `${c.workload.name} ${c.strategy.id}`,
    round,
    {
      iterations: c.opts.minIterations,
      timeMs: Math.min(c.opts.timeMs, Math.max(0, budget.deadline - performance.now()) / 2),
      warmupMs: 0,
    },
    true,
  );
  fp?.sample();
  if (failed > 0) throw new Error(`out of memory in a worker (${failed} failed mallocs)`);
  if (anyStopped || lat === null) {
    stopped(res, "the timed rounds");
    res.nsPerCall = nsPerCallSingle(lastMs, res.callsPerIteration);
    return;
  }
  res.nsPerCall = nsPerCallOf(lat, res.callsPerIteration);
  if (spec.kind === "workers-churn") await scalingNote(res, workers, 4 * n, timeout, gate!);
}

/** Scaling rounds: each is worker k % 2 alone, then both (so machine load drifts equally on both). */
const SCALING_ROUNDS = 15;

/** One alone (worker `w`), then both started at the gate: 2 × solo time ÷ pair time, and the solo ms. */
async function soloPairRatio(
  workers: Worker[],
  w: number,
  msg: { cmd: string; n: number },
  timeout: number,
  gate: Gate,
): Promise<{ ratio: number; soloMs: number; stopped: boolean }> {
  const [one] = await ask([workers[w]!], [{ ...msg, gateAt: gate.next(1) }], timeout);
  const gateAt = gate.next(2);
  const both = await ask(
    workers,
    [
      { ...msg, gateAt },
      { ...msg, gateAt },
    ],
    timeout,
  );
  // From the first start to the last end: a late start counts, and rounds that hardly overlap
  // cannot pass for parallel work.
  const pairMs = Math.max(both[0]!.endMs!, both[1]!.endMs!) - Math.min(both[0]!.startMs!, both[1]!.startMs!);
  const stopped = one!.stopped === true || both.some((x) => x.stopped);
  return { ratio: (2 * one!.ms!) / pairMs, soloMs: one!.ms!, stopped };
}

/**
 * The two-worker scaling figure: both workers' throughput ÷ one worker's alone. Each round runs one
 * worker alone (the two take turns), then both started together at the gate; the round's ratio is
 * 2 × solo time ÷ pair time, the pair time from the first worker's start to the last one's end. The
 * figure is the median of the rounds' ratios. Each round also times a heap-free integer loop of the
 * same length the same way: its ratio is what the machine gave two threads at that moment (on a
 * loaded machine, or one whose scheduler gives this process one core, it is near 1 and so is the
 * heap's). One unmeasured round first (JIT, caches).
 */
async function scalingNote(
  res: CellResult,
  workers: Worker[],
  n: number,
  timeout: number,
  gate: Gate,
): Promise<void> {
  const heap: number[] = [];
  const machine: number[] = [];
  let spinN = 1 << 20;
  for (let k = -1; k < SCALING_ROUNDS; k++) {
    const h = await soloPairRatio(workers, (k + 2) % 2, { cmd: "round", n }, timeout, gate);
    if (h.stopped) break;
    const m = await soloPairRatio(workers, (k + 2) % 2, { cmd: "spin", n: spinN }, timeout, gate);
    // The loop's length follows the heap round's (solo times equal, within the rates' drift).
    spinN = Math.max(1024, Math.round((spinN * h.soloMs) / Math.max(m.soloMs, 1e-3)));
    if (k < 0) continue;
    heap.push(h.ratio);
    machine.push(m.ratio);
  }
  if (heap.length === 0) return;
  const sorted = [...heap].sort((a, b) => a - b);
  res.scaling = Math.round(median(heap) * 100) / 100;
  res.scalingMachine = Math.round(median(machine) * 100) / 100;
  const q = (f: number) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))]!.toFixed(2);
  const text =
    `2 workers on one heap: ${res.scaling.toFixed(2)}× the throughput of one (median of ${heap.length} ` +
    `alternating rounds, quartiles ${q(0.25)}–${q(0.75)}); a heap-free loop timed the same way: ` +
    `${res.scalingMachine.toFixed(2)}× (what the machine gave two threads)`;
  res.note = res.note === undefined ? text : `${res.note}; ${text}`;
}
