/**
 * sample: timing with tinybench. One task per call: tinybench runs it at least `iterations` times and
 * for at least `timeMs` of task time, and returns the latency statistics of the samples (ms per
 * iteration). A task that sees the cell budget run out aborts the bench through an AbortSignal.
 *
 * tinybench is a development dependency; a clear error says so when it is missing.
 */
import { budget, type Latency } from "./result.js";

export type { Latency };

export interface SampleOptions {
  iterations: number;
  timeMs: number;
  warmupMs: number;
  beforeEach?: () => void;
  afterEach?: () => void;
}

/** The upper median of `xs` (the middle element of a sorted copy; xs non-empty). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** The process's minor page faults so far (workers included): first touches of unbacked pages. */
export function minorFaultsNow(): number {
  return process.resourceUsage().minorPageFault;
}

/** Calls globalThis.gc when the process runs with --expose-gc (suites do), between timed sections. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === "function") gc();
}

type BenchCtor = typeof import("tinybench").Bench;
let benchCtor: BenchCtor | undefined;

async function loadBench(): Promise<BenchCtor> {
  if (benchCtor !== undefined) return benchCtor;
  try {
    benchCtor = (await import("tinybench")).Bench;
  } catch {
    throw new Error("bench: the package tinybench is needed (npm i -D tinybench)");
  }
  return benchCtor;
}

/**
 * Times `fn` (sync, or async returning tinybench's `{ overriddenDuration }`); null when no sample was
 * completed (the budget ran out first).
 */
export async function sampleIterations(
  name: string,
  fn: () => unknown,
  o: SampleOptions,
  isAsync = false,
): Promise<Latency | null> {
  const Bench = await loadBench();
  const ac = new AbortController();
  const bench = new Bench({
    time: o.timeMs,
    iterations: o.iterations,
    warmup: o.warmupMs > 0,
    warmupTime: o.warmupMs,
    warmupIterations: 1,
    signal: ac.signal,
    throws: true,
  });
  // Iterations run, warm-up included, for the page faults per iteration.
  let runs = 0;
  const task = isAsync
    ? async () => {
        runs++;
        const r = await fn();
        if (budget.hit) ac.abort();
        return r;
      }
    : () => {
        runs++;
        const r = fn();
        if (budget.hit) ac.abort();
        return r;
      };
  bench.add(name, task, { async: isAsync, beforeEach: o.beforeEach, afterEach: o.afterEach });
  const faults0 = minorFaultsNow();
  await bench.run();
  const faults1 = minorFaultsNow();
  const r = bench.tasks[0]!.result as { latency?: Latency };
  if (r.latency === undefined || r.latency.samplesCount === 0) return null;
  // runs > 0: tinybench took at least one sample.
  return { ...r.latency, faultsPerIteration: (faults1 - faults0) / runs };
}
