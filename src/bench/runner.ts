/**
 * runner: runs one cell — one workload under one allocator configuration — in this thread: builds the
 * plan, sets the allocator up (untimed), times iterations with tinybench, samples the footprint between
 * iterations (untimed) and returns a CellResult. The worker workloads live in worker_cells.ts.
 *
 * Loops are written once against BenchAllocator; a suite runs each configuration in its own process,
 * so every call site sees one allocator class and stays monomorphic.
 *
 * Errors: a configuration that cannot be built or an allocator that runs out of memory gives an
 * "error" cell with the message; nothing here throws past runCell.
 */

import type { CellContext, CellOptions } from "./cell.js";
import {
  churnSetup,
  churnState,
  churnStep,
  fragAll,
  fragPhase1,
  fragPhase2,
  fragPhase3,
  fragState,
  outOfMemory,
  recordsSetup,
  recordsState,
  recordsStep,
} from "./loops.js";
import {
  budget,
  budgetStart,
  type CellResult,
  FootprintHighWater,
  nsPerCallOf,
  nsPerCallSingle,
} from "./result.js";
import { collectGarbage, sampleIterations } from "./sample.js";
import { type BenchAllocator, createAllocator, loadMemPool } from "./strategies.js";
import { loadTlsf } from "./tlsf.js";
import { runWorkerCell } from "./worker_cells.js";

export type { CellContext, CellOptions };

import {
  type ChurnSpec,
  callsPerIteration,
  churnPeakLive,
  churnPlan,
  type FragmentationSpec,
  fragmentationPlan,
  LiveTracker,
  RECORD_BYTES,
  type RecordsSpec,
} from "./workloads.js";

export function cellOptions(quick: boolean, seed: number, scale?: number): CellOptions {
  return quick
    ? {
        seed,
        scale: scale ?? 0.1,
        timeMs: 150,
        minIterations: 5,
        phaseIterations: 2,
        warmupMs: 30,
        budgetMs: 4000,
      }
    : {
        seed,
        scale: scale ?? 1,
        timeMs: 600,
        minIterations: 10,
        phaseIterations: 5,
        warmupMs: 100,
        budgetMs: 20000,
      };
}

/** Iterations and time that fit in what is left of the budget, given one iteration's cost. */
function fitToBudget(
  iterMs: number,
  wantIterations: number,
  wantTimeMs: number,
  minIterations = 2,
): { iterations: number; timeMs: number } {
  const left = Math.max(0, budget.deadline - performance.now());
  const fit = Math.floor((0.6 * left) / Math.max(iterMs, 1e-3));
  const iterations = Math.max(minIterations, Math.min(wantIterations, fit));
  return { iterations, timeMs: Math.min(wantTimeMs, 0.5 * left) };
}

function baseResult(c: CellContext): CellResult {
  return {
    workload: c.workload.name,
    strategy: c.strategy.id,
    label: c.strategy.label,
    kind: c.strategy.kind,
    status: "ok",
    callsPerIteration: callsPerIteration(c.workload.spec),
    nsPerCall: null,
    footprint: null,
    wallMs: 0,
  };
}

/** Runs one cell in this thread (workers for the worker workloads). Never throws. */
export async function runCell(c: CellContext): Promise<CellResult> {
  const res = baseResult(c);
  // The TLSF peer's build step (compiling its module) is not part of the cell's time budget.
  if (c.strategy.kind === "as-tlsf") c = { ...c, tlsf: await loadTlsf() };
  const t0 = performance.now();
  budgetStart(c.opts.budgetMs);
  try {
    if (c.strategy.kind === "thi.ng") c = { ...c, memPool: await loadMemPool() };
    const spec = c.workload.spec;
    if (spec.kind === "churn") await runChurn(c, spec, res);
    else if (spec.kind === "records") await runRecords(c, spec, res);
    else if (spec.kind === "fragmentation") await runFragmentation(c, spec, res);
    else await runWorkerCell(c, spec, res);
  } catch (e) {
    res.status = "error";
    res.note = e instanceof Error ? e.message : String(e);
  } finally {
    budget.deadline = Number.POSITIVE_INFINITY;
  }
  res.wallMs = performance.now() - t0;
  return res;
}

function newAllocator(c: CellContext, peakLiveBytes: number, maxRequest: number): BenchAllocator {
  return createAllocator(c.strategy, { peakLiveBytes, maxRequest }, c.memPool ?? null, c.tlsf ?? null);
}

function partial(res: CellResult, ms: number, calls: number, where: string, totalCalls: number): void {
  res.status = "partial";
  res.nsPerCall = nsPerCallSingle(ms, calls);
  const of = Number.isFinite(totalCalls) ? ` of ${totalCalls}` : "";
  res.note = `stopped by the cell's time budget during ${where} after ${calls}${of} calls; ns/call is their average`;
}

// ---- steady-state churn (small-churn, mixed, large) ---------------------------------------------------

async function runChurn(c: CellContext, spec: ChurnSpec, res: CellResult): Promise<void> {
  const plan = churnPlan(spec, c.opts.seed);
  const alloc = newAllocator(c, churnPeakLive(plan, 0) * 1.2, spec.maxSize);
  const st = churnState(alloc, plan, spec.batchOps);
  const tracker = new LiveTracker(plan);
  try {
    await steadyState(c, res, st.alloc, {
      setup: () => churnSetup(st),
      setupCalls: spec.live,
      step: () => churnStep(st),
      failed: () => st.failed,
      liveNow: () => tracker.liveAt(st.cursor),
    });
  } finally {
    alloc.close();
  }
}

// ---- records (FIFO queue of 48-byte records) ------------------------------------------------------------

async function runRecords(c: CellContext, spec: RecordsSpec, res: CellResult): Promise<void> {
  const peak = spec.live * RECORD_BYTES;
  const alloc = newAllocator(c, peak * 1.2, RECORD_BYTES);
  const st = recordsState(alloc, spec.live, spec.batchOps, spec.group);
  try {
    await steadyState(c, res, alloc, {
      setup: () => recordsSetup(st),
      setupCalls: spec.live,
      step: () => recordsStep(st),
      failed: () => st.failed,
      liveNow: () => peak,
    });
  } finally {
    alloc.close();
  }
  const writes = "ns/call includes writing each record's 48 bytes through a DataView";
  res.note = res.note === undefined ? writes : `${res.note}; ${writes}`;
}

interface SteadyHooks {
  setup(): number;
  setupCalls: number;
  step(): number;
  failed(): number;
  /** Live requested bytes now (read at the footprint samples). */
  liveNow(): number;
}

/**
 * Iterations of the untimed footprint pass: one full cycle of a churn plan (65536 ops in 1024-op
 * iterations), so every request size and free the timed iterations see has been through it.
 */
export const FOOTPRINT_PASS_ITERATIONS = 64;

/**
 * Setup, one probe iteration (budget check), an untimed footprint pass (the footprint read after each
 * iteration), then tinybench with no hook between its samples, then one more footprint reading.
 * Reading the footprint is not free and not the same work for every allocator (jemalloc-ts refreshes
 * its statistics through `epoch`, a walk over the arena that leaves the caches cold; TLSF reads one
 * length), so no timed sample follows a reading: with a reading after every sample, W1 read ~1.3× its
 * time without (issue 15).
 */
async function steadyState(
  c: CellContext,
  res: CellResult,
  alloc: BenchAllocator,
  hk: SteadyHooks,
): Promise<void> {
  let t = performance.now();
  const setupCalls = hk.setup();
  if (budget.hit)
    return partial(res, performance.now() - t, setupCalls, "setup (mallocs only)", hk.setupCalls);
  const hw = new FootprintHighWater();
  t = performance.now();
  hw.add(alloc.sample(), hk.liveNow());
  const readMs = performance.now() - t;
  t = performance.now();
  const probeCalls = hk.step();
  const probeMs = performance.now() - t;
  if (budget.hit) return partial(res, probeMs, probeCalls, "the first iteration", res.callsPerIteration);
  // The pass takes at most about a quarter of what is left (the timed part gets the rest).
  const pass = fitToBudget(2.5 * (probeMs + readMs), FOOTPRINT_PASS_ITERATIONS, 0, 1).iterations;
  for (let i = 0; i < pass && !budget.hit; i++) {
    hk.step();
    hw.add(alloc.sample(), hk.liveNow());
  }
  const fit = fitToBudget(probeMs, Math.max(c.opts.minIterations, 2), c.opts.timeMs);
  collectGarbage();
  let hitMs = 0;
  let hitCalls = 0;
  const lat = await sampleIterations(
    `${c.workload.name} ${c.strategy.id}`,
    () => {
      const t1 = performance.now();
      const n = hk.step();
      hitMs += performance.now() - t1;
      hitCalls += n;
    },
    { ...fit, warmupMs: Math.min(c.opts.warmupMs, fit.timeMs) },
  );
  hw.add(alloc.sample(), hk.liveNow());
  if (hk.failed() > 0) throw outOfMemory(`the timed iterations (${hk.failed()} failed mallocs)`);
  res.footprint = hw.result(alloc.bufferBytes());
  if (budget.hit || lat === null) return partial(res, hitMs, hitCalls, "the timed iterations", Number.NaN);
  res.nsPerCall = nsPerCallOf(lat, res.callsPerIteration);
}

// ---- fragmentation (phases, a fresh allocator per iteration) ---------------------------------------------

async function runFragmentation(c: CellContext, spec: FragmentationSpec, res: CellResult): Promise<void> {
  const plan = fragmentationPlan(spec, c.opts.seed);
  const peakLive = Math.max(...plan.liveAfter);
  const st = fragState(plan);
  const fresh = () => {
    st.alloc?.close();
    st.alloc = null;
    collectGarbage();
    st.alloc = newAllocator(c, peakLive, spec.largeMax);
  };
  try {
    fresh();
    // The probe: the phases one by one on a fresh allocator, footprint sampled after each (untimed).
    const a = st.alloc!;
    const t = performance.now();
    // Phase 2 only frees, so the high-water marks fall at the ends of phases 1 and 3.
    const hw = new FootprintHighWater();
    const ok1 = fragPhase1(st, a);
    if (ok1) hw.add(a.sample(), plan.liveAfter[0]);
    const ok = ok1 && fragPhase2(st, a) && fragPhase3(st, a);
    const probeMs = performance.now() - t;
    if (!ok) return partial(res, probeMs, st.calls, "the first run", res.callsPerIteration);
    hw.add(a.sample(), plan.liveAfter[2]);
    res.footprint = hw.result(a.bufferBytes());
    // One more untimed run: measured per run, the second still ran ~2× slower than the later ones
    // (jemalloc-ts: its slow paths were still being optimized), and it would be one of the samples.
    if (fitToBudget(probeMs * 1.5, 2, 0, 1).iterations >= 2) {
      fresh();
      if (!fragAll(st)) return partial(res, probeMs, res.callsPerIteration, "the warm-up run", Number.NaN);
    }
    // A fresh allocator per iteration costs time too; one timed iteration is better than none.
    const fit = fitToBudget(probeMs * 1.5, c.opts.phaseIterations, 0, 1);
    let complete = true;
    const lat = await sampleIterations(
      `${c.workload.name} ${c.strategy.id}`,
      () => {
        if (!fragAll(st)) complete = false;
      },
      { iterations: fit.iterations, timeMs: 0, warmupMs: 0, beforeEach: fresh },
    );
    if (!complete || lat === null)
      return partial(res, probeMs, res.callsPerIteration, "the timed iterations", Number.NaN);
    res.nsPerCall = nsPerCallOf(lat, res.callsPerIteration);
  } finally {
    st.alloc?.close();
    st.alloc = null;
  }
}
