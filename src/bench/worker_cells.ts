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
import { budget, type CellResult, FootprintHighWater, nsPerCallOf, nsPerCallSingle } from "./result.js";
import { ringCreate } from "./ring.js";
import type { CellContext } from "./cell.js";
import { collectGarbage, sampleIterations } from "./sample.js";
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
  try {
    const ready = await ask(workers, initMessages(c, spec, buffer), timeout);
    if (ready.some((r) => r.stopped)) return stopped(res, "setup");
    const fp = spec.kind === "workers-churn" ? new WorkerFootprint(alloc, spec, c.opts.seed) : null;
    fp?.sample();
    await timeRounds(c, spec, res, workers, fp, timeout);
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

function initMessages(
  c: CellContext,
  spec: WorkersChurnSpec | ProducerConsumerSpec,
  buffer: SharedArrayBuffer | null,
): object[] {
  const base = { cmd: "init", buffer, budgetMs: c.opts.budgetMs, ring: null, churn: null, sizes: null };
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
): Promise<void> {
  const n = spec.kind === "workers-churn" ? spec.roundOps : spec.roundItems;
  let failed = 0;
  let anyStopped = false;
  let lastMs = 0;
  const round = async () => {
    const r = await ask(
      workers,
      [
        { cmd: "round", n },
        { cmd: "round", n },
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
  collectGarbage();
  const lat = await sampleIterations(
    `${c.workload.name} ${c.strategy.id}`,
    round,
    {
      iterations: c.opts.minIterations,
      timeMs: Math.min(c.opts.timeMs, Math.max(0, budget.deadline - performance.now()) / 2),
      warmupMs: 0,
      afterEach: () => {
        fp?.sample();
      },
    },
    true,
  );
  if (failed > 0) throw new Error(`out of memory in a worker (${failed} failed mallocs)`);
  if (anyStopped || lat === null) {
    stopped(res, "the timed rounds");
    res.nsPerCall = nsPerCallSingle(lastMs, res.callsPerIteration);
    return;
  }
  res.nsPerCall = nsPerCallOf(lat, res.callsPerIteration);
  if (spec.kind === "workers-churn") await scalingNote(res, workers, n, timeout);
}

/** Alternating rounds of this many: worker 0 alone, then both (so machine load drifts equally). */
const SCALING_ROUNDS = 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/**
 * The two-worker scaling figure: throughput of both workers ÷ throughput of worker 0 alone, from
 * alternating rounds of the same size (2 × median solo time ÷ median pair time). Appended to the note.
 */
async function scalingNote(res: CellResult, workers: Worker[], n: number, timeout: number): Promise<void> {
  const solo: number[] = [];
  const pair: number[] = [];
  for (let k = 0; k < SCALING_ROUNDS; k++) {
    const [one] = await ask([workers[0]!], [{ cmd: "round", n }], timeout);
    const both = await ask(
      workers,
      [
        { cmd: "round", n },
        { cmd: "round", n },
      ],
      timeout,
    );
    if (one!.stopped || both.some((x) => x.stopped)) break;
    solo.push(one!.ms ?? 0);
    pair.push(Math.max(both[0]!.ms ?? 0, both[1]!.ms ?? 0));
  }
  if (solo.length === 0) return;
  const scaling = (2 * median(solo)) / median(pair);
  res.scaling = Math.round(scaling * 100) / 100;
  const text = `2 workers on one heap: ${res.scaling.toFixed(2)}× the throughput of one (alternating rounds)`;
  res.note = res.note === undefined ? text : `${res.note}; ${text}`;
}
