/**
 * wake: the application-thread side of background threads (jemalloc's background_thread_inlines.h,
 * arena_maybe_do_deferred_work, arena_background_thread_inactivity_check, background_thread_create).
 * Application threads never purge while background threads are on; instead they wake the worker that
 * serves an arena (thread arenaInd % max_background_threads) when it sleeps indefinitely, or when the
 * pages newly expected to be purgeable before its scheduled wakeup pass 1024.
 *
 * This module sits at the arena/decay level (it imports nothing above src/extent), so the page
 * allocator and the arena code may call it. It never blocks: the worker's lock and the arena's decay
 * lock are only tried, as jemalloc tries them, and the work is left to a later epoch when busy.
 *
 * Synchronization: the header's enabled flag, the region offset, n_background_threads and each info
 * record's state / wakeSeq / indefiniteSleep / alive words are read and written with Atomics; the rest
 * of an info record is under its lock (src/background/layout.ts). Lock order: global → info → decay
 * (the arena's extent lock), as in jemalloc's witness ranks.
 */

import type { BackgroundHooks, HeapCtx } from "../ctx/ctx.js";
import {
  HDR_BASE0_B,
  HDR_BG_NINFO_B,
  HDR_BG_NTHREADS_B,
  HDR_BG_REGION_B,
  HDR_BG_THREADS_B,
  HDR_HUGE_ARENA_B,
  HDR_MAX_BG_THREADS_B,
} from "../ctx/header.js";
import {
  ARENA_DEFERRED_PURGE_NPAGES_THRESHOLD,
  decayEpochNs,
  decayGradually,
  decayNpagesPurgeIn,
} from "../decay/index.js";
import { baseAlloc } from "../extent/base.js";
import { heapLock, heapUnlock } from "../extent/lock.js";
import { PAC_ARENA_IND_B, PAC_LOCK_B } from "../extent/pac_layout.js";
import { lockTryAcquire } from "../sync/index.js";
import {
  ALIVE_REQUESTED,
  BG_INDEFINITE,
  BG_MIN_INTERVAL_NS,
  INFO_ALIVE_B,
  INFO_INDEFINITE_B,
  INFO_LOCK_B,
  INFO_NEXT_WAKEUP_NS_B,
  INFO_NPAGES_PURGE_NEW_B,
  INFO_PAUSED,
  INFO_STARTED,
  INFO_STATE_B,
  INFO_STOPPED,
  INFO_TOT_N_RUNS_B,
  INFO_TOT_SLEEP_NS_B,
  INFO_WAKE_SEQ_B,
  INFO_WORKER_SLOT_B,
  infoB,
  REGION_GLOBAL_LOCK_B,
  regionBytes,
} from "./layout.js";

// ---- header words -----------------------------------------------------------------------------------

/** background_thread_enabled(): one Atomics load of the header flag. */
export function backgroundThreadEnabled(ctx: HeapCtx): boolean {
  return Atomics.load(ctx.i32, HDR_BG_THREADS_B >>> 2) !== 0;
}

/** The region's offset, 0 while background threads were never enabled. */
export function bgRegion(ctx: HeapCtx): number {
  return Atomics.load(ctx.i32, HDR_BG_REGION_B >>> 2) >>> 0;
}

/**
 * The region, carved from b0 the first time it is needed (jemalloc's background_thread_boot1 does it
 * at boot; here it waits until background threads are first used). Two threads racing both carve one,
 * the first published wins (the other's few bytes of metadata stay unused). 0 when out of memory.
 */
export function bgRegionEnsure(ctx: HeapCtx): number {
  const have = bgRegion(ctx);
  if (have !== 0) return have;
  const ninfo = ctx.optRaw.max_background_threads;
  const r = baseAlloc(ctx, ctx.u32[HDR_BASE0_B >>> 2]!, regionBytes(ninfo), 64);
  if (r === 0) return 0;
  // baseAlloc returns zeroed memory: free locks, STOPPED records, nobody alive.
  ctx.u32[HDR_BG_NINFO_B >>> 2] = ninfo;
  const prev = Atomics.compareExchange(ctx.i32, HDR_BG_REGION_B >>> 2, 0, r | 0);
  return prev === 0 ? r : prev >>> 0;
}

/** max_background_threads (runtime value; a stray 0 in the header is read as 1, never divided by). */
export function bgMaxThreads(ctx: HeapCtx): number {
  const n = Atomics.load(ctx.i32, HDR_MAX_BG_THREADS_B >>> 2);
  return n > 0 ? n : 1;
}

export function bgNthreads(ctx: HeapCtx): number {
  return Atomics.load(ctx.i32, HDR_BG_NTHREADS_B >>> 2);
}

export function bgNthreadsAdd(ctx: HeapCtx, delta: number): void {
  Atomics.add(ctx.i32, HDR_BG_NTHREADS_B >>> 2, delta);
}

// ---- info record accessors ----------------------------------------------------------------------------

export function infoState(ctx: HeapCtx, info: number): number {
  return Atomics.load(ctx.i32, (info + INFO_STATE_B) >>> 2);
}
export function infoStateSet(ctx: HeapCtx, info: number, state: number): void {
  Atomics.store(ctx.i32, (info + INFO_STATE_B) >>> 2, state);
}
export function infoIndefinite(ctx: HeapCtx, info: number): boolean {
  return Atomics.load(ctx.i32, (info + INFO_INDEFINITE_B) >>> 2) !== 0;
}
export function infoAlive(ctx: HeapCtx, info: number): boolean {
  return Atomics.load(ctx.i32, (info + INFO_ALIVE_B) >>> 2) !== 0;
}
export function infoAliveSet(ctx: HeapCtx, info: number, alive: boolean): void {
  const w = (info + INFO_ALIVE_B) >>> 2;
  Atomics.store(ctx.i32, w, alive ? ALIVE_REQUESTED : 0);
  if (!alive) Atomics.notify(ctx.i32, w);
}
export function infoF64(ctx: HeapCtx, info: number, fieldB: number): number {
  return ctx.f64[(info + fieldB) >>> 3]!;
}
export function infoF64Set(ctx: HeapCtx, info: number, fieldB: number, v: number): void {
  ctx.f64[(info + fieldB) >>> 3] = v;
}

/** background_thread_wakeup_time_set (info lock held): +∞ means "sleeps indefinitely". */
export function infoWakeupTimeSet(ctx: HeapCtx, info: number, wakeupNs: number): void {
  Atomics.store(ctx.i32, (info + INFO_INDEFINITE_B) >>> 2, wakeupNs === BG_INDEFINITE ? 1 : 0);
  infoF64Set(ctx, info, INFO_NEXT_WAKEUP_NS_B, wakeupNs);
}

export function infoLock(ctx: HeapCtx, info: number): void {
  heapLock(ctx, info + INFO_LOCK_B);
}
export function infoTryLock(ctx: HeapCtx, info: number): boolean {
  return lockTryAcquire(ctx.i32, (info + INFO_LOCK_B) >>> 2, ctx.ownerTag);
}
export function infoUnlock(ctx: HeapCtx, info: number): void {
  heapUnlock(ctx, info + INFO_LOCK_B);
}

export function globalLock(ctx: HeapCtx, region: number): void {
  heapLock(ctx, region + REGION_GLOBAL_LOCK_B);
}
export function globalUnlock(ctx: HeapCtx, region: number): void {
  heapUnlock(ctx, region + REGION_GLOBAL_LOCK_B);
}

/** pthread_cond_signal: bump the worker's wake word and wake it if it waits. */
export function infoSignal(ctx: HeapCtx, info: number): void {
  const w = (info + INFO_WAKE_SEQ_B) >>> 2;
  Atomics.add(ctx.i32, w, 1);
  Atomics.notify(ctx.i32, w);
}

/** background_thread_init (global lock and info lock held): mark started, reset, count it. */
export function infoInit(ctx: HeapCtx, info: number): void {
  infoStateSet(ctx, info, INFO_STARTED);
  infoWakeupTimeSet(ctx, info, 0);
  infoF64Set(ctx, info, INFO_NPAGES_PURGE_NEW_B, 0);
  infoF64Set(ctx, info, INFO_TOT_N_RUNS_B, 0);
  infoF64Set(ctx, info, INFO_TOT_SLEEP_NS_B, 0);
  Atomics.store(ctx.i32, (info + INFO_WORKER_SLOT_B) >>> 2, 0);
  bgNthreadsAdd(ctx, 1);
}

/** The info record of the thread serving arena `arenaInd`, or 0 when there is no region yet. */
export function infoOfArena(ctx: HeapCtx, arenaInd: number): number {
  const region = bgRegion(ctx);
  if (region === 0) return 0;
  return infoB(region, arenaInd % bgMaxThreads(ctx));
}

// ---- waking a worker early ----------------------------------------------------------------------------

/**
 * arena_should_decay_early (info lock held): account the pages that became purgeable in the epoch that
 * just ended, and say whether the worker should run before its scheduled wakeup.
 */
function shouldDecayEarly(
  ctx: HeapCtx,
  pac: number,
  decayB: number,
  info: number,
  npagesNew: number,
): number {
  if (!lockTryAcquire(ctx.i32, (pac + PAC_LOCK_B) >>> 2, ctx.ownerTag)) return -1;
  try {
    if (!decayGradually(ctx, decayB)) return -1;
    const wakeup = infoF64(ctx, info, INFO_NEXT_WAKEUP_NS_B);
    const epoch = decayEpochNs(ctx, decayB);
    if (wakeup <= epoch) return -1;
    // decay_npages_purge_in takes an exact ns count; beyond 2^53 ns every page is due anyway.
    const remaining = Math.min(Math.floor(wakeup - epoch), Number.MAX_SAFE_INTEGER);
    if (npagesNew > 0) {
      const more = decayNpagesPurgeIn(ctx, decayB, remaining, npagesNew);
      infoF64Set(ctx, info, INFO_NPAGES_PURGE_NEW_B, infoF64(ctx, info, INFO_NPAGES_PURGE_NEW_B) + more);
    }
    return infoF64(ctx, info, INFO_NPAGES_PURGE_NEW_B) > ARENA_DEFERRED_PURGE_NPAGES_THRESHOLD
      ? remaining
      : -1;
  } finally {
    heapUnlock(ctx, pac + PAC_LOCK_B);
  }
}

/**
 * arena_maybe_do_deferred_work: an application thread saw `npagesNew` pages become unused in the epoch
 * that just ended on decay record `decayB` of arena record `pac`. Wakes the arena's worker when it
 * sleeps indefinitely, or when enough pages will be purgeable before its wakeup (and that wakeup is
 * at least 100 ms away). Never blocks. Call without holding the arena's extent lock.
 */
export function backgroundMaybeDeferredWork(
  ctx: HeapCtx,
  pac: number,
  decayB: number,
  npagesNew: number,
): void {
  const info = infoOfArena(ctx, ctx.u32[(pac + PAC_ARENA_IND_B) >>> 2]!);
  if (info === 0 || !infoTryLock(ctx, info)) return;
  try {
    if (infoState(ctx, info) !== INFO_STARTED) return;
    if (infoIndefinite(ctx, info)) {
      infoSignal(ctx, info);
      return;
    }
    const remaining = shouldDecayEarly(ctx, pac, decayB, info, npagesNew);
    if (remaining >= 0) {
      infoF64Set(ctx, info, INFO_NPAGES_PURGE_NEW_B, 0);
      // background_thread_wakeup_early: a wakeup less than the minimum interval away will do.
      if (remaining >= BG_MIN_INTERVAL_NS) infoSignal(ctx, info);
    }
  } finally {
    infoUnlock(ctx, info);
  }
}

/**
 * arena_background_thread_inactivity_check: after a free generated deferred work (pages into the dirty
 * cache), wake the arena's worker if it sleeps indefinitely. One header load when background threads
 * are off. Call without holding the arena's extent lock.
 */
export function backgroundInactivityCheck(ctx: HeapCtx, pac: number): void {
  if (!backgroundThreadEnabled(ctx)) return;
  const info = infoOfArena(ctx, ctx.u32[(pac + PAC_ARENA_IND_B) >>> 2]!);
  if (info !== 0 && infoIndefinite(ctx, info)) {
    backgroundMaybeDeferredWork(ctx, pac, pac + ctx.arenaLayout.decayDirtyB, 0);
  }
}

// ---- new arenas ---------------------------------------------------------------------------------------

/**
 * background_thread_create for a thread index other than 0 (global lock held): mark the info record
 * started and ask worker 0, which spawns the thread. Returns whether a new thread was requested.
 */
export function bgRequestThread(ctx: HeapCtx, region: number, arenaInd: number): boolean {
  const t = arenaInd % bgMaxThreads(ctx);
  const info = infoB(region, t);
  infoLock(ctx, info);
  let need: boolean;
  try {
    need = backgroundThreadEnabled(ctx) && infoState(ctx, info) === INFO_STOPPED && !infoAlive(ctx, info);
    if (need) infoInit(ctx, info);
  } finally {
    infoUnlock(ctx, info);
  }
  if (!need || t === 0) return need;
  const info0 = infoB(region, 0);
  infoLock(ctx, info0);
  try {
    infoSignal(ctx, info0);
  } finally {
    infoUnlock(ctx, info0);
  }
  return true;
}

/**
 * arena_new_create_background_thread: after arena `arenaInd` was created (no lock held), make sure a
 * worker serves it. Arena 0 and the huge arena (which purges at once) get none of their own.
 */
export function backgroundThreadArenaNew(ctx: HeapCtx, arenaInd: number): void {
  if (arenaInd === 0 || arenaInd === ctx.i32[HDR_HUGE_ARENA_B >>> 2]) return;
  const region = bgRegion(ctx);
  if (region === 0 || !backgroundThreadEnabled(ctx)) return;
  globalLock(ctx, region);
  try {
    bgRequestThread(ctx, region, arenaInd);
  } finally {
    globalUnlock(ctx, region);
  }
}

// ---- arena reset and destroy ----------------------------------------------------------------------------

/**
 * arena_reset_prepare_background_thread: before arena.<i>.reset / destroy, pause the worker serving
 * arena `arenaInd` so it keeps away from the arena. Takes the global background lock and keeps it until
 * backgroundThreadResetFinish: the paused worker waits on it. Returns false (nothing held) only when
 * the region cannot be carved (out of memory), and then nothing else can be running either.
 */
export function backgroundThreadResetPrepare(ctx: HeapCtx, arenaInd: number): boolean {
  const region = bgRegionEnsure(ctx);
  if (region === 0) return false;
  globalLock(ctx, region);
  if (!backgroundThreadEnabled(ctx)) return true;
  const info = infoB(region, arenaInd % bgMaxThreads(ctx));
  infoLock(ctx, info);
  if (infoState(ctx, info) === INFO_STARTED) infoStateSet(ctx, info, INFO_PAUSED);
  infoUnlock(ctx, info);
  return true;
}

/** arena_reset_finish_background_thread: resume the worker and drop the global lock. */
export function backgroundThreadResetFinish(ctx: HeapCtx, arenaInd: number): void {
  const region = bgRegion(ctx);
  if (region === 0) return;
  const info = infoB(region, arenaInd % bgMaxThreads(ctx));
  infoLock(ctx, info);
  if (infoState(ctx, info) === INFO_PAUSED) infoStateSet(ctx, info, INFO_STARTED);
  infoUnlock(ctx, info);
  globalUnlock(ctx, region);
}

/** The arena's calls into background threads (ctx.background), as this layer serves them. */
export function backgroundHooks(): BackgroundHooks {
  return {
    inactivityCheck: backgroundInactivityCheck,
    maybeDeferredWork: backgroundMaybeDeferredWork,
    arenaNew: backgroundThreadArenaNew,
  };
}
