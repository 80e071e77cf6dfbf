/**
 * threads: threads that leave. `detach` is the polite way (jemalloc's thread exit: unbind the arena,
 * destroy the cache — with a full purge when the arena has no thread left — free the slot).
 * `reclaim` does the same for a thread that is gone without detaching (a terminated worker): its slot
 * is marked dead first, so waiters on locks it held take them over, and everything it left in the
 * buffer is treated as untrusted — the cache record is checked for sane geometry and every cached
 * offset is validated as a live region of its bin before it is freed; bad entries are dropped and
 * reported, never freed.
 */
import { arenaFieldsB, arenaRecordByInd } from "../arena/arena.js";
import { dallocArena } from "../arena/dalloc.js";
import { internalReclaim } from "../arena/internal.js";
import { ARENA_NTHREADS_B } from "../arena/layout.js";
import type { HeapCtx } from "../ctx/ctx.js";
import {
  THREAD_ARENA_B,
  THREAD_BYTES,
  THREAD_NODE_TID_B,
  THREAD_TCACHE_B,
  THREAD_TCACHE_TRANSIT_B,
} from "../ctx/header.js";
import { HeapPoisonedError } from "../errors.js";
import { emapLookupChecked } from "../extent/emap.js";
import { profUnpromote } from "../prof/sample.js";
import { profSparesDrain } from "../prof/spare.js";
import {
  ownerTag,
  SLOT_STATE_ACTIVE,
  SLOT_STATE_DEAD,
  SLOT_STATE_FREE,
  slotGeneration,
  slotMarkDead,
  slotRelease,
  slotState,
  slotsCount,
  slotThreadId,
} from "../sync/index.js";
import { tcacheInternalResync, tcacheRecordSane } from "../tcache/index.js";
import { flushProblems, tcacheArenaInd, tcacheDestroy, tcacheIsLive } from "../tcache/tcache.js";
import { recoverInFlightSlabs } from "./inflight.js";
import { poisonRecoveryFailed, recoverLocksOf } from "./recover.js";

export interface ReclaimReport {
  slot: number;
  threadId: number;
  /** Cached offsets that were not live regions (dropped, not freed). */
  badCacheEntries: number;
  /** The cache record itself was unusable (leaked rather than trusted). */
  cacheRecordBad: boolean;
}

function unbindArena(ctx: HeapCtx, threadB: number): number {
  const ind = ctx.i32[(threadB + THREAD_ARENA_B) >>> 2]!;
  if (ind < 0) return 1;
  ctx.i32[(threadB + THREAD_ARENA_B) >>> 2] = -1;
  const a = arenaRecordByInd(ctx, ind);
  if (a === 0) return 1;
  return Atomics.sub(ctx.i32, (arenaFieldsB(ctx, a) + ARENA_NTHREADS_B) >>> 2, 1) - 1;
}

/**
 * Flushes and frees the cache registered in the word at byte `registerB` of a thread record (the
 * thread's own cache, or an explicit cache it was destroying). With a report (a reclaim), the
 * record is validated first; a broken one is unregistered and leaked, and its block stops counting
 * as internal at the reclaim's recount.
 */
function destroyCacheAt(
  ctx: HeapCtx,
  registerB: number,
  arenaThreadsLeft: number,
  report: ReclaimReport | null,
): void {
  const tc = ctx.u32[registerB >>> 2]!;
  if (!tcacheIsLive(ctx, tc)) {
    ctx.u32[registerB >>> 2] = 0;
    return;
  }
  if (report !== null && !tcacheRecordSane(ctx, tc)) {
    report.cacheRecordBad = true;
    ctx.u32[registerB >>> 2] = 0;
    return;
  }
  const before = flushProblems.length;
  const arena = arenaRecordByInd(ctx, tcacheArenaInd(ctx, tc));
  tcacheDestroy(ctx, tc, arena === 0 ? 1 : arenaThreadsLeft, registerB);
  if (report !== null) {
    report.badCacheEntries += flushProblems.length - before;
    flushProblems.length = before;
  }
}

/** The slot's spare promoted extents (heap profiling) go back to their arenas. */
function releaseProfSpares(ctx: HeapCtx, slot: number): void {
  for (const p of profSparesDrain(ctx, slot)) {
    const e = emapLookupChecked(ctx, p);
    profUnpromote(ctx, e);
    dallocArena(ctx, p, e);
  }
}

/** Thread exit for the calling thread (Heap.detach). */
export function threadDetach(ctx: HeapCtx): void {
  releaseProfSpares(ctx, ctx.slot);
  const left = unbindArena(ctx, ctx.threadB);
  destroyCacheAt(ctx, ctx.threadB + THREAD_TCACHE_B, left, null);
  const regW = ctx.hdr.slotsB >>> 2;
  slotRelease(ctx.i32, regW, ctx.slot, slotGeneration(ctx.i32, regW, ctx.slot));
}

/** Reclaims slot `slot` of a departed thread. Returns null if the slot is free already. */
export function reclaimSlot(ctx: HeapCtx, slot: number): ReclaimReport | null {
  const regW = ctx.hdr.slotsB >>> 2;
  const state = slotState(ctx.i32, regW, slot);
  if (state === SLOT_STATE_FREE) return null;
  if (slot === ctx.slot)
    throw new RangeError(`reclaim: slot ${slot} is the calling thread's own; use detach()`);
  const gen = slotGeneration(ctx.i32, regW, slot);
  if (state === SLOT_STATE_ACTIVE) slotMarkDead(ctx.i32, regW, slot, gen);
  if (ctx.failpoint !== null) ctx.failpoint("reclaim.marked");
  const threadB = ctx.hdr.threadsB + slot * THREAD_BYTES;
  // First make what it was changing consistent (or poison): its locks, then its work in flight.
  recoverLocksOf(ctx, ownerTag(slot, gen));
  recoverInFlightSlabs(ctx, ownerTag(slot, gen));
  const report: ReclaimReport = {
    slot,
    threadId: slotThreadId(ctx.i32, regW, slot),
    badCacheEntries: 0,
    cacheRecordBad: false,
  };
  releaseProfSpares(ctx, slot);
  const left = unbindArena(ctx, threadB);
  destroyCacheAt(ctx, threadB + THREAD_TCACHE_TRANSIT_B, 1, report);
  destroyCacheAt(ctx, threadB + THREAD_TCACHE_B, left, report);
  internalReclaim(ctx, threadB);
  tcacheInternalResync(ctx);
  if (
    slotState(ctx.i32, regW, slot) === SLOT_STATE_DEAD ||
    slotState(ctx.i32, regW, slot) === SLOT_STATE_ACTIVE
  ) {
    slotRelease(ctx.i32, regW, slot, slotGeneration(ctx.i32, regW, slot));
  }
  return report;
}

/**
 * reclaimSlot for a supervisor's exit handler: never throws. A poisoned heap stays poisoned (the
 * next call on it says why); any other failure of the recovery poisons it, naming that.
 */
export function reclaimSafely(ctx: HeapCtx, slot: number): void {
  try {
    reclaimSlot(ctx, slot);
  } catch (e) {
    if (!(e instanceof HeapPoisonedError)) poisonRecoveryFailed(ctx, slot, e);
  }
}

/** Slots whose thread has heap thread id `threadId` (the value `heap.threadId` reports). */
export function slotOfThreadId(ctx: HeapCtx, threadId: number): number {
  const regW = ctx.hdr.slotsB >>> 2;
  for (let s = 0; s < slotsCountOf(ctx); s++) {
    if (slotState(ctx.i32, regW, s) !== SLOT_STATE_FREE && slotThreadId(ctx.i32, regW, s) === threadId)
      return s;
  }
  return -1;
}

/** Live slots that belong to the worker_threads thread `nodeThreadId`. */
export function slotsOfNodeThread(ctx: HeapCtx, nodeThreadId: number): number[] {
  const regW = ctx.hdr.slotsB >>> 2;
  const out: number[] = [];
  for (let s = 0; s < slotsCountOf(ctx); s++) {
    if (slotState(ctx.i32, regW, s) === SLOT_STATE_FREE) continue;
    if (ctx.u32[(ctx.hdr.threadsB + s * THREAD_BYTES + THREAD_NODE_TID_B) >>> 2] === nodeThreadId)
      out.push(s);
  }
  return out;
}

function slotsCountOf(ctx: HeapCtx): number {
  return slotsCount(ctx.i32, ctx.hdr.slotsB >>> 2);
}
