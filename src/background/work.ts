/**
 * work: what a background purge thread does (jemalloc's background_work, background_thread0_work,
 * background_work_sleep_once, background_thread_sleep). Thread t serves arenas t, t + max, t + 2·max, …
 * Each wakeup runs an "always purge to the limit" decay pass over its arenas, then sleeps until the
 * earliest time at which about 1024 pages become purgeable (at least 100 ms), or indefinitely when no
 * arena decays. Sleeping is Atomics.wait on the info record's wake word; application threads and the
 * thread that disables background threads bump and notify it (wake.ts). Thread 0 also starts the other
 * threads when their info records are marked started, and stops and joins them when it is stopped.
 *
 * Nothing here touches node:worker_threads: spawning is injected (BgSpawner), so the loop is the same
 * in a worker and in a test. All shared state is in the buffer (layout.ts).
 *
 * Synchronization: the worker holds its info lock while it works and releases it only while it sleeps
 * (pthread_cond_wait's contract); it takes arena extent locks under it. Joins are bounded waits on the
 * target's `alive` word.
 */
import { arenaRecordByInd, narenasTotal } from "../arena/arena.js";
import { arenaDecay, PURGE_ALWAYS } from "../arena/decay.js";
import type { HeapCtx } from "../ctx/ctx.js";
import { decayNsUntilPurge } from "../decay/index.js";
import { esetNpages } from "../extent/eset.js";
import { heapUnlock } from "../extent/lock.js";
import { PAC_LOCK_B } from "../extent/pac_layout.js";
import { lockTryAcquire } from "../sync/index.js";
import {
  ALIVE_REQUESTED,
  BG_INDEFINITE,
  BG_MIN_INTERVAL_NS,
  INFO_ALIVE_B,
  INFO_NPAGES_PURGE_NEW_B,
  INFO_PAUSED,
  INFO_STARTED,
  INFO_STOPPED,
  INFO_TOT_N_RUNS_B,
  INFO_TOT_SLEEP_NS_B,
  INFO_WAKE_SEQ_B,
  INFO_WORKER_SLOT_B,
  infoB,
} from "./layout.js";
import {
  bgMaxThreads,
  bgNthreads,
  bgNthreadsAdd,
  bgRegion,
  globalLock,
  globalUnlock,
  infoAliveSet,
  infoF64,
  infoF64Set,
  infoIndefinite,
  infoLock,
  infoSignal,
  infoState,
  infoStateSet,
  infoUnlock,
  infoWakeupTimeSet,
} from "./wake.js";

/** Starts and, as a last resort, kills worker threads (node:worker_threads, or a test double). */
export interface BgSpawner {
  /** Starts the worker for thread index `t` (its `alive` word is already 1). False on failure. */
  spawn(t: number): boolean;
  /** Kills the worker for `t` after it failed to leave within the join bound. */
  terminate(t: number): void;
}

/** How long a join waits for a stopped worker to leave before terminating it. */
export const BG_JOIN_TIMEOUT_MS = 30_000;

/**
 * pa_shard_time_until_deferred_work: ns until the arena's dirty or muzzy cache has about 1024 pages to
 * purge; 0 when the arena is busy (retry soon), +∞ when nothing decays.
 */
export function bgTimeUntilDeferredWork(ctx: HeapCtx, arena: number): number {
  if (!lockTryAcquire(ctx.i32, (arena + PAC_LOCK_B) >>> 2, ctx.ownerTag)) return 0;
  try {
    const al = ctx.arenaLayout;
    const dirty = decayNsUntilPurge(ctx, arena + al.decayDirtyB, esetNpages(ctx, arena + al.ecacheDirtyB));
    if (dirty === 0) return 0;
    const muzzy = decayNsUntilPurge(ctx, arena + al.decayMuzzyB, esetNpages(ctx, arena + al.ecacheMuzzyB));
    return Math.min(muzzy, dirty);
  } finally {
    heapUnlock(ctx, arena + PAC_LOCK_B);
  }
}

/**
 * background_thread_sleep (info lock held; released while asleep): count the run, publish the wakeup
 * time, wait on the wake word for `intervalNs` (+∞: until signalled), account the time slept.
 */
export function bgSleep(ctx: HeapCtx, info: number, intervalNs: number): void {
  infoF64Set(ctx, info, INFO_TOT_N_RUNS_B, infoF64(ctx, info, INFO_TOT_N_RUNS_B) + 1);
  infoF64Set(ctx, info, INFO_NPAGES_PURGE_NEW_B, 0);
  const before = ctx.nowNs();
  infoWakeupTimeSet(ctx, info, intervalNs === BG_INDEFINITE ? BG_INDEFINITE : before + intervalNs);
  const seqW = (info + INFO_WAKE_SEQ_B) >>> 2;
  const seq = Atomics.load(ctx.i32, seqW);
  infoUnlock(ctx, info);
  try {
    Atomics.wait(
      ctx.i32,
      seqW,
      seq,
      intervalNs === BG_INDEFINITE ? Number.POSITIVE_INFINITY : intervalNs / 1e6,
    );
  } finally {
    infoLock(ctx, info);
  }
  const after = ctx.nowNs();
  if (after > before)
    infoF64Set(ctx, info, INFO_TOT_SLEEP_NS_B, infoF64(ctx, info, INFO_TOT_SLEEP_NS_B) + after - before);
}

/** background_work_sleep_once (info lock held): one purge pass over thread t's arenas, then sleep. */
export function bgSleepOnce(ctx: HeapCtx, info: number, t: number): void {
  let nsUntil = BG_INDEFINITE;
  const narenas = narenasTotal(ctx);
  const max = bgMaxThreads(ctx);
  // Woken from an indefinite sleep: look at when the work that woke us is due instead of purging now.
  const sleptIndefinitely = infoIndefinite(ctx, info);
  for (let i = t; i < narenas; i += max) {
    const arena = arenaRecordByInd(ctx, i);
    if (arena === 0) continue;
    if (!sleptIndefinitely) arenaDecay(ctx, arena, PURGE_ALWAYS, false);
    if (nsUntil <= BG_MIN_INTERVAL_NS) continue;
    const ns = bgTimeUntilDeferredWork(ctx, arena);
    if (ns < nsUntil) nsUntil = ns;
  }
  const sleepNs =
    nsUntil === BG_INDEFINITE ? BG_INDEFINITE : Math.max(Math.floor(nsUntil), BG_MIN_INTERVAL_NS);
  bgSleep(ctx, info, sleepNs);
}

/**
 * Waits (bounded) until the worker of `info` has left the heap. On timeout the spawner kills it and the
 * record is marked gone. Returns true when the worker had to be killed.
 */
export function bgJoin(ctx: HeapCtx, info: number, t: number, spawner: BgSpawner | null): boolean {
  const w = (info + INFO_ALIVE_B) >>> 2;
  const deadline = performance.now() + BG_JOIN_TIMEOUT_MS;
  for (;;) {
    const alive = Atomics.load(ctx.i32, w);
    if (alive === 0) break;
    // Not started yet (in browsers its start may wait for this very thread's event loop): cancel it;
    // the worker sees 0 when it starts and leaves without touching the heap.
    if (
      alive === ALIVE_REQUESTED &&
      Atomics.compareExchange(ctx.i32, w, ALIVE_REQUESTED, 0) === ALIVE_REQUESTED
    )
      break;
    const left = deadline - performance.now();
    if (left <= 0) {
      spawner?.terminate(t);
      infoAliveSet(ctx, info, false);
      return true;
    }
    // A page's main thread cannot block: it polls (the worker leaves within milliseconds).
    if (ctx.lockCtx.canBlock) Atomics.wait(ctx.i32, w, alive, Math.min(left, 1000));
  }
  return false;
}

/**
 * background_threads_disable_single: stop the worker of `info`, wake it, join it. False when there was
 * no worker. The caller holds the global lock (thread 0's caller) or is thread 0 (its children).
 */
export function bgStopAndJoin(ctx: HeapCtx, info: number, t: number, spawner: BgSpawner | null): boolean {
  infoLock(ctx, info);
  let hadThread = false;
  try {
    if (infoState(ctx, info) === INFO_STARTED) {
      hadThread = true;
      infoStateSet(ctx, info, INFO_STOPPED);
      infoSignal(ctx, info);
    }
  } finally {
    infoUnlock(ctx, info);
  }
  if (!hadThread) return false;
  bgJoin(ctx, info, t, spawner);
  bgNthreadsAdd(ctx, -1);
  return true;
}

/**
 * background_thread_pause_check (info lock held): while an arena this thread serves is being reset,
 * wait for the resetter's global lock instead of working. True when it waited (the caller loops).
 */
function bgPauseCheck(ctx: HeapCtx, region: number, info: number): boolean {
  if (infoState(ctx, info) !== INFO_PAUSED) return false;
  infoUnlock(ctx, info);
  try {
    globalLock(ctx, region);
    globalUnlock(ctx, region);
  } finally {
    infoLock(ctx, info);
  }
  return true;
}

/** Thread 0's bookkeeping of the threads it started. */
class Thread0 {
  readonly created: Uint8Array;
  ncreated = 1;
  constructor(max: number) {
    this.created = new Uint8Array(max);
  }
}

/**
 * check_background_thread_creation (info 0 locked): start one thread whose record is marked started.
 * Returns true when it did something (the caller loops again). A thread that cannot be started is
 * marked stopped and uncounted, so thread 0 does not retry in a busy loop.
 */
function bgCheckCreation(ctx: HeapCtx, region: number, st: Thread0, spawner: BgSpawner): boolean {
  if (st.ncreated === bgNthreads(ctx)) return false;
  const info0 = infoB(region, 0);
  infoUnlock(ctx, info0);
  try {
    for (let i = 1; i < st.created.length; i++) {
      if (st.created[i] !== 0) continue;
      const info = infoB(region, i);
      infoLock(ctx, info);
      const create = infoState(ctx, info) === INFO_STARTED;
      infoUnlock(ctx, info);
      if (!create) continue;
      infoAliveSet(ctx, info, true);
      if (spawner.spawn(i)) {
        st.ncreated++;
        st.created[i] = 1;
      } else {
        infoAliveSet(ctx, info, false);
        infoLock(ctx, info);
        if (infoState(ctx, info) === INFO_STARTED) {
          infoStateSet(ctx, info, INFO_STOPPED);
          bgNthreadsAdd(ctx, -1);
        }
        infoUnlock(ctx, info);
      }
      return true;
    }
    return false;
  } finally {
    infoLock(ctx, info0);
  }
}

/** background_thread0_work (info 0 locked): serve, start threads on demand; at the end stop them all. */
function bgThread0Work(ctx: HeapCtx, region: number, spawner: BgSpawner): void {
  const max = bgMaxThreads(ctx);
  const st = new Thread0(max);
  const info0 = infoB(region, 0);
  while (infoState(ctx, info0) !== INFO_STOPPED) {
    if (bgPauseCheck(ctx, region, info0)) continue;
    if (bgCheckCreation(ctx, region, st, spawner)) continue;
    bgSleepOnce(ctx, info0, 0);
  }
  for (let i = 1; i < max; i++) {
    const info = infoB(region, i);
    if (st.created[i] !== 0) {
      bgStopAndJoin(ctx, info, i, spawner);
      continue;
    }
    infoLock(ctx, info);
    if (infoState(ctx, info) !== INFO_STOPPED) {
      // Marked but never started.
      bgNthreadsAdd(ctx, -1);
      infoStateSet(ctx, info, INFO_STOPPED);
    }
    infoUnlock(ctx, info);
  }
}

/**
 * background_work: the body of background thread `t` (a worker attached to the heap). Returns when
 * its record is stopped; thread 0 returns after stopping and joining the others.
 */
export function backgroundWork(ctx: HeapCtx, t: number, spawner: BgSpawner): void {
  const region = bgRegion(ctx);
  if (region === 0) throw new Error(`background thread ${t}: the heap has no background-thread region`);
  const info = infoB(region, t);
  Atomics.store(ctx.i32, (info + INFO_WORKER_SLOT_B) >>> 2, ctx.slot + 1);
  infoLock(ctx, info);
  try {
    infoWakeupTimeSet(ctx, info, BG_INDEFINITE);
    if (t === 0) bgThread0Work(ctx, region, spawner);
    else {
      while (infoState(ctx, info) !== INFO_STOPPED) {
        if (!bgPauseCheck(ctx, region, info)) bgSleepOnce(ctx, info, t);
      }
    }
    infoWakeupTimeSet(ctx, info, 0);
  } finally {
    infoUnlock(ctx, info);
    Atomics.store(ctx.i32, (info + INFO_WORKER_SLOT_B) >>> 2, 0);
  }
}
