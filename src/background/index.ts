/**
 * background: background purge threads (jemalloc's background_thread.c) as worker_threads attached to
 * the same heap. `background_thread:true` in malloc_conf, or writing the `background_thread` mallctl,
 * starts worker 0 (from the calling thread); worker 0 starts the others — thread t serves arenas
 * t, t + max, … — up to max_background_threads. Application threads then never purge on their own;
 * they wake the workers (wake.ts). Switching off stops worker 0, which stops and joins the others,
 * and the caller joins worker 0: when backgroundThreadSet(heap, false) returns, no worker is in the
 * heap. Workers are unref()'d, so they never keep the process alive.
 *
 * Layering: this barrel sits at the heap level (it starts Workers that import HeapHandle). The allocator
 * core must import the application-thread hooks from ./wake.js directly, never from here.
 *
 * Synchronization: enabling, disabling and max_background_threads changes hold the global background
 * lock (in the region, layout.ts); the mallctl layer holds the ctl lock around them, as jemalloc does.
 * Errors: TypeError / RangeError for bad arguments; MallctlError EFAULT when threads cannot be started
 * or a heap cannot have them (not shared); EINVAL for a max above opt.max_background_threads.
 */
import { arenaRecordByInd, narenasTotal } from "../arena/arena.js";
import type { HeapCtx, HeapHandle } from "../ctx/ctx.js";
import { HDR_BG_THREADS_B, HDR_MAX_BG_THREADS_B } from "../ctx/header.js";
import { MallctlError } from "../errors.js";
import { hostWriteError } from "../platform/index.js";
import { INFO_STOPPED, INFO_TOT_N_RUNS_B, INFO_TOT_SLEEP_NS_B, infoB } from "./layout.js";
import { backgroundWorkerScript, workerSpawner } from "./spawn.js";
import {
  backgroundThreadEnabled,
  bgMaxThreads,
  bgNthreads,
  bgNthreadsAdd,
  bgRegion,
  bgRegionEnsure,
  globalLock,
  globalUnlock,
  infoAlive,
  infoAliveSet,
  infoF64,
  infoInit,
  infoLock,
  infoState,
  infoStateSet,
  infoTryLock,
  infoUnlock,
} from "./wake.js";
import { bgStopAndJoin } from "./work.js";

export { type BackgroundWorkerScript, backgroundWorkerScriptSet } from "./spawn.js";
export { backgroundThreadResetFinish, backgroundThreadResetPrepare } from "./wake.js";

/** The region (wake.ts), or EFAULT when even its few bytes cannot be carved. */
function regionEnsure(heap: HeapHandle): number {
  const r = bgRegionEnsure(heap.ctx);
  if (r === 0)
    throw new MallctlError(
      "EFAULT",
      "background_thread",
      "out of memory for the background threads' records",
    );
  return r;
}

function checkHeap(heap: HeapHandle, fn: string): HeapCtx {
  if (heap === null || typeof heap !== "object" || typeof (heap as { ctx?: unknown }).ctx !== "object") {
    throw new TypeError(`${fn}: expected a Heap, got ${heap === null ? "null" : typeof heap}`);
  }
  return heap.ctx;
}

/** Why starting a worker failed (the spawner's reason, or the error thrown). */
function spawnThread0(ctx: HeapCtx, region: number): string | null {
  try {
    // Only thread 0's own load failure undoes the start; the others' are joined by thread 0.
    const spawner = workerSpawner(ctx.buffer as SharedArrayBuffer, backgroundWorkerScript(), (t, reason) => {
      if (t === 0) thread0FailedLater(ctx, region, reason);
    });
    return spawner.spawn(0) ? null : (spawner.lastError ?? "the worker could not be created");
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * background_thread_create_locked(0): mark thread 0 started and spawn it here. Null on success, else
 * why it failed (thread 0's record is rolled back).
 */
function createThread0(ctx: HeapCtx, region: number): string | null {
  const info = infoB(region, 0);
  infoLock(ctx, info);
  let need: boolean;
  try {
    need = backgroundThreadEnabled(ctx) && infoState(ctx, info) === INFO_STOPPED;
    if (need) infoInit(ctx, info);
  } finally {
    infoUnlock(ctx, info);
  }
  if (!need) return null;
  infoAliveSet(ctx, info, true);
  const failure = spawnThread0(ctx, region);
  if (failure === null) return null;
  infoAliveSet(ctx, info, false);
  infoLock(ctx, info);
  infoStateSet(ctx, info, INFO_STOPPED);
  bgNthreadsAdd(ctx, -1);
  infoUnlock(ctx, info);
  return failure;
}

/** background_threads_enable (global lock held, flag on): mark the threads arenas need, start 0. */
function threadsEnable(ctx: HeapCtx, region: number): string | null {
  const max = bgMaxThreads(ctx);
  const marked = new Uint8Array(max);
  marked[0] = 1;
  let nmarked = 0;
  const narenas = narenasTotal(ctx);
  for (let i = 1; i < narenas; i++) {
    const t = i % max;
    if (marked[t] !== 0 || arenaRecordByInd(ctx, i) === 0) continue;
    const info = infoB(region, t);
    infoLock(ctx, info);
    if (infoState(ctx, info) === INFO_STOPPED) infoInit(ctx, info);
    infoUnlock(ctx, info);
    marked[t] = 1;
    if (++nmarked === max) break;
  }
  return createThread0(ctx, region);
}

/**
 * Records marked started (t ≥ 1) with no worker: thread 0 did not start, or was cancelled before it
 * ran (so it started none of them). Unmark and uncount them, as thread 0 would have at its end.
 */
function unmarkUnstarted(ctx: HeapCtx, region: number): void {
  const max = bgMaxThreads(ctx);
  for (let t = 1; t < max; t++) {
    const info = infoB(region, t);
    infoLock(ctx, info);
    if (infoState(ctx, info) !== INFO_STOPPED && !infoAlive(ctx, info)) {
      infoStateSet(ctx, info, INFO_STOPPED);
      bgNthreadsAdd(ctx, -1);
    }
    infoUnlock(ctx, info);
  }
}

/**
 * Worker 0 failed to load after the mallctl returned (its script failed asynchronously, e.g. a 404 in
 * a browser): undo the start as enableLocked would have, and say why.
 */
function thread0FailedLater(ctx: HeapCtx, region: number, reason: string): void {
  let undone = false;
  globalLock(ctx, region);
  try {
    const info = infoB(region, 0);
    infoLock(ctx, info);
    if (infoState(ctx, info) !== INFO_STOPPED && !infoAlive(ctx, info)) {
      infoStateSet(ctx, info, INFO_STOPPED);
      bgNthreadsAdd(ctx, -1);
      undone = true;
    }
    infoUnlock(ctx, info);
    if (undone) enableRollback(ctx, region);
  } finally {
    globalUnlock(ctx, region);
  }
  if (undone)
    hostWriteError(
      `<jemalloc>: background thread 0 could not start (${reason}); background_thread is off again\n`,
    );
}

/** Thread 0 did not start: unmark the threads it would have started and clear the flag. */
function enableRollback(ctx: HeapCtx, region: number): void {
  unmarkUnstarted(ctx, region);
  Atomics.store(ctx.i32, HDR_BG_THREADS_B >>> 2, 0);
  ctx.backgroundThreads = false;
}

/** background_threads_disable (global lock held, flag off): thread 0 stops the others. */
function threadsDisable(ctx: HeapCtx, region: number): void {
  const spawner = workerSpawner(ctx.buffer as SharedArrayBuffer, { href: "", data: {} });
  bgStopAndJoin(ctx, infoB(region, 0), 0, spawner);
  unmarkUnstarted(ctx, region);
}

/** Flips the flag and starts or stops the threads (global lock held). */
function enableLocked(ctx: HeapCtx, region: number, enable: boolean): void {
  Atomics.store(ctx.i32, HDR_BG_THREADS_B >>> 2, enable ? 1 : 0);
  ctx.backgroundThreads = enable;
  if (enable) {
    const failure = threadsEnable(ctx, region);
    if (failure === null) return;
    enableRollback(ctx, region);
    throw new MallctlError("EFAULT", "background_thread", `could not start background thread 0: ${failure}`);
  } else {
    threadsDisable(ctx, region);
  }
}

/** background_thread (write): start (true) or stop (false) the purge workers. */
export function backgroundThreadSet(heap: HeapHandle, enable: boolean): void {
  const ctx = checkHeap(heap, "backgroundThreadSet");
  if (typeof enable !== "boolean")
    throw new TypeError(`backgroundThreadSet: enable must be a boolean, got ${String(enable)}`);
  if (!ctx.shared) {
    if (!enable) return;
    throw new MallctlError(
      "EFAULT",
      "background_thread",
      "background threads need a heap on a SharedArrayBuffer",
    );
  }
  if (!enable && bgRegion(ctx) === 0) {
    ctx.backgroundThreads = false;
    return;
  }
  const region = regionEnsure(heap);
  globalLock(ctx, region);
  try {
    if (backgroundThreadEnabled(ctx) === enable) {
      ctx.backgroundThreads = enable;
      return;
    }
    enableLocked(ctx, region, enable);
  } finally {
    globalUnlock(ctx, region);
  }
}

/** background_thread (read); also refreshes this thread's ctx.backgroundThreads. */
export function backgroundThreadGet(heap: HeapHandle): boolean {
  const ctx = checkHeap(heap, "backgroundThreadGet");
  ctx.backgroundThreads = backgroundThreadEnabled(ctx);
  return ctx.backgroundThreads;
}

/** max_background_threads (read). */
export function backgroundThreadMaxGet(heap: HeapHandle): number {
  return bgMaxThreads(checkHeap(heap, "backgroundThreadMaxGet"));
}

/**
 * max_background_threads (write): 1 ≤ n ≤ opt.max_background_threads (else MallctlError EINVAL). With
 * background threads on, they are stopped and restarted with the new count.
 */
export function backgroundThreadMaxSet(heap: HeapHandle, n: number): void {
  const ctx = checkHeap(heap, "backgroundThreadMaxSet");
  if (typeof n !== "number" || !Number.isInteger(n)) {
    throw new TypeError(`backgroundThreadMaxSet: n must be an integer, got ${String(n)}`);
  }
  const optMax = heap.derived.conf.opt.max_background_threads;
  if (n < 1 || n > optMax) {
    throw new MallctlError(
      "EINVAL",
      "max_background_threads",
      `${n} is not in [1, opt.max_background_threads = ${optMax}]`,
    );
  }
  if (!ctx.shared) {
    Atomics.store(ctx.i32, HDR_MAX_BG_THREADS_B >>> 2, n);
    return;
  }
  const region = regionEnsure(heap);
  globalLock(ctx, region);
  try {
    if (bgMaxThreads(ctx) === n) return;
    if (!backgroundThreadEnabled(ctx)) {
      Atomics.store(ctx.i32, HDR_MAX_BG_THREADS_B >>> 2, n);
      return;
    }
    enableLocked(ctx, region, false);
    Atomics.store(ctx.i32, HDR_MAX_BG_THREADS_B >>> 2, n);
    enableLocked(ctx, region, true);
  } finally {
    globalUnlock(ctx, region);
  }
}

/**
 * stats.background_thread.{num_threads, num_runs, run_interval} (background_thread_stats_read): zeros
 * while background threads are off; run_interval is the mean sleep per run in ns. Records whose worker
 * is busy right now are skipped, as jemalloc skips them.
 */
export function backgroundThreadStats(heap: HeapHandle): {
  numThreads: number;
  numRuns: number;
  runIntervalNs: number;
} {
  const ctx = checkHeap(heap, "backgroundThreadStats");
  const zero = { numThreads: 0, numRuns: 0, runIntervalNs: 0 };
  const region = bgRegion(ctx);
  if (region === 0) return zero;
  globalLock(ctx, region);
  try {
    if (!backgroundThreadEnabled(ctx)) return zero;
    let numRuns = 0;
    let sleepNs = 0;
    const max = bgMaxThreads(ctx);
    for (let t = 0; t < max; t++) {
      const info = infoB(region, t);
      if (!infoTryLock(ctx, info)) continue;
      if (infoState(ctx, info) !== INFO_STOPPED) {
        numRuns += infoF64(ctx, info, INFO_TOT_N_RUNS_B);
        sleepNs += infoF64(ctx, info, INFO_TOT_SLEEP_NS_B);
      }
      infoUnlock(ctx, info);
    }
    return {
      numThreads: bgNthreads(ctx),
      numRuns,
      runIntervalNs: numRuns > 0 ? Math.floor(sleepNs / numRuns) : 0,
    };
  } finally {
    globalUnlock(ctx, region);
  }
}
