/**
 * tcache: the thread cache's public entry points — thread.tcache.{enabled,flush}, explicit caches
 * (tcache.create / flush / destroy, MALLOCX_TCACHE(tc)), per-arena cached bytes, and reclaiming the
 * cache of a thread that went away.
 */
import { arenaNthreads, arenaRecordByInd, threadArena } from "../arena/arena.js";
import { internalBlocksBytes, internalCountD } from "../arena/internal.js";
import type { HeapCtx } from "../ctx/ctx.js";
import {
  HDR_BASE0_B,
  HDR_LOCK_TCACHES_B,
  HDR_NSLOTS_B,
  HDR_TCACHES_AVAIL_B,
  HDR_TCACHES_PAST_B,
  HDR_TCACHES_TABLE_B,
  THREAD_BYTES,
  THREAD_TCACHE_B,
  THREAD_TCACHE_ON_B,
  THREAD_TCACHE_TRANSIT_B,
} from "../ctx/header.js";
import { baseAlloc } from "../extent/base.js";
import { edataIsRecord, edataSzind } from "../extent/edata.js";
import { emapRead } from "../extent/emap.js";
import { heapLock, heapUnlock } from "../extent/lock.js";
import { pacLock, pacUnlock } from "../extent/pac.js";
import { MALLOCX_TCACHE_MAX } from "../flags.js";
import {
  TBIN_W_CAP,
  TBIN_W_HEAD,
  TBIN_W_NSTASHED,
  TBIN_W_SLOTS,
  TCACHE_BLOCK_B,
  TCACHE_KIND_EXPLICIT,
  TCACHE_NHBINS_B,
  tbinW,
} from "./layout.js";
import {
  tcacheArenaInd,
  tcacheBytes,
  tcacheCreate,
  tcacheDestroy,
  tcacheFlushAll,
  tcacheGeom,
  tcacheIsLive,
  tcacheReassociate,
  tcacheStashedBytes,
} from "./tcache.js";

export { tcacheGeom } from "./tcache.js";

/** thread.tcache.enabled (read). */
export function threadTcacheEnabledGet(ctx: HeapCtx): boolean {
  return ctx.u32[(ctx.threadB + THREAD_TCACHE_ON_B) >>> 2] !== 0;
}

/** The thread's live cache record, or 0. */
export function threadTcacheRecord(ctx: HeapCtx): number {
  const tc = ctx.u32[(ctx.threadB + THREAD_TCACHE_B) >>> 2]!;
  return tcacheIsLive(ctx, tc) ? tc : 0;
}

/** Destroys the thread's cache (flush, merge stats, free its block). */
export function threadTcacheDestroy(ctx: HeapCtx): void {
  const tc = threadTcacheRecord(ctx);
  if (tc === 0) return;
  const arena = arenaRecordByInd(ctx, tcacheArenaInd(ctx, tc));
  tcacheDestroy(ctx, tc, arena === 0 ? 1 : arenaNthreads(ctx, arena), ctx.threadB + THREAD_TCACHE_B);
}

/** thread.tcache.enabled (write): false flushes and destroys the cache, true recreates it lazily. */
export function threadTcacheEnabledSet(ctx: HeapCtx, on: boolean): void {
  if (!on) threadTcacheDestroy(ctx);
  ctx.u32[(ctx.threadB + THREAD_TCACHE_ON_B) >>> 2] = on ? 1 : 0;
}

/** thread.arena write: the thread's cache follows it to the new arena (jemalloc's reassociate). */
export function threadTcacheReassociate(ctx: HeapCtx, arenaInd: number): void {
  const tc = threadTcacheRecord(ctx);
  if (tc !== 0) tcacheReassociate(ctx, tc, arenaInd);
}

/** thread.tcache.flush: every bin emptied into the arenas. */
export function threadTcacheFlush(ctx: HeapCtx): void {
  const tc = threadTcacheRecord(ctx);
  if (tc !== 0) tcacheFlushAll(ctx, tc);
}

// ---- explicit caches ------------------------------------------------------------------------------

/** Table entry meaning "flushed: recreate on next use" (jemalloc's TCACHES_ELM_NEED_REINIT). */
const NEED_REINIT = 1;
const TABLE_ENTRIES = MALLOCX_TCACHE_MAX + 1;

function table(ctx: HeapCtx, create: boolean): number {
  let t = ctx.u32[HDR_TCACHES_TABLE_B >>> 2]!;
  if (t !== 0 || !create) return t;
  t = baseAlloc(ctx, ctx.u32[HDR_BASE0_B >>> 2]!, TABLE_ENTRIES * 8, 8);
  if (t === 0) return 0;
  ctx.i32[HDR_TCACHES_AVAIL_B >>> 2] = -1;
  ctx.u32[HDR_TCACHES_TABLE_B >>> 2] = t;
  return t;
}

/** tcache.create: a new explicit cache's index, or -1 (EAGAIN) when none is left or out of memory. */
export function tcacheCreateExplicit(ctx: HeapCtx): number {
  heapLock(ctx, HDR_LOCK_TCACHES_B);
  try {
    if (ctx.failpoint !== null) ctx.failpoint("tcaches.locked");
    const t = table(ctx, true);
    if (t === 0) return -1;
    if (ctx.u32[HDR_TCACHES_PAST_B >>> 2] === 0 && ctx.i32[HDR_TCACHES_AVAIL_B >>> 2] === 0)
      ctx.i32[HDR_TCACHES_AVAIL_B >>> 2] = -1;
    const avail = ctx.i32[HDR_TCACHES_AVAIL_B >>> 2]!;
    const past = ctx.u32[HDR_TCACHES_PAST_B >>> 2]!;
    if (avail < 0 && past >= TABLE_ENTRIES) return -1;
    // The index is taken before the cache is registered in its entry, so a registered cache is always
    // below `past` where tcacheRecords looks (a holder killed in between leaks the index only).
    let ind: number;
    if (avail >= 0) {
      ind = avail;
      ctx.i32[HDR_TCACHES_AVAIL_B >>> 2] = ctx.i32[((t + ind * 8) >>> 2) + 1]!;
    } else {
      ind = past;
      ctx.u32[HDR_TCACHES_PAST_B >>> 2] = past + 1;
    }
    if (tcacheCreate(ctx, threadArena(ctx), TCACHE_KIND_EXPLICIT, t + ind * 8) === 0) {
      if (avail >= 0) {
        ctx.i32[((t + ind * 8) >>> 2) + 1] = ctx.i32[HDR_TCACHES_AVAIL_B >>> 2]!;
        ctx.i32[HDR_TCACHES_AVAIL_B >>> 2] = ind;
      } else {
        ctx.u32[HDR_TCACHES_PAST_B >>> 2] = past;
      }
      return -1;
    }
    return ind;
  } finally {
    heapUnlock(ctx, HDR_LOCK_TCACHES_B);
  }
}

function entryW(ctx: HeapCtx, ind: number): number {
  const t = table(ctx, false);
  if (t === 0 || !Number.isInteger(ind) || ind < 0 || ind >= ctx.u32[HDR_TCACHES_PAST_B >>> 2]!) return -1;
  return (t + ind * 8) >>> 2;
}

/** The record of explicit cache `ind` (recreated after a flush), or 0 if `ind` names none. */
export function tcacheExplicitGet(ctx: HeapCtx, ind: number): number {
  heapLock(ctx, HDR_LOCK_TCACHES_B);
  try {
    const w = entryW(ctx, ind);
    if (w < 0) return 0;
    const tc = ctx.u32[w]!;
    if (tc === 0) return 0;
    if (tc !== NEED_REINIT) return tc;
    return tcacheCreate(ctx, threadArena(ctx), TCACHE_KIND_EXPLICIT, w << 2);
  } finally {
    heapUnlock(ctx, HDR_LOCK_TCACHES_B);
  }
}

/**
 * Takes explicit cache `ind` out of the table into the calling thread's transit word (one move under
 * arena 0's extent lock, so the cache stays counted and findable until tcacheDestroy frees it).
 * Returns the record (0 if the entry awaits its lazy recreation), or null if `ind` names no cache.
 */
function removeExplicit(ctx: HeapCtx, ind: number, reinit: boolean): number | null {
  heapLock(ctx, HDR_LOCK_TCACHES_B);
  try {
    const w = entryW(ctx, ind);
    if (w < 0 || ctx.u32[w] === 0) return null;
    const tc = ctx.u32[w]!;
    const a0 = arenaRecordByInd(ctx, 0);
    if (tc !== NEED_REINIT && a0 !== 0) pacLock(ctx, a0);
    if (tc !== NEED_REINIT) ctx.u32[(ctx.threadB + THREAD_TCACHE_TRANSIT_B) >>> 2] = tc;
    ctx.u32[w] = reinit ? NEED_REINIT : 0;
    if (tc !== NEED_REINIT && a0 !== 0) pacUnlock(ctx, a0);
    if (!reinit) {
      ctx.i32[w + 1] = ctx.i32[HDR_TCACHES_AVAIL_B >>> 2]!;
      ctx.i32[HDR_TCACHES_AVAIL_B >>> 2] = ind;
    }
    return tc === NEED_REINIT ? 0 : tc;
  } finally {
    heapUnlock(ctx, HDR_LOCK_TCACHES_B);
  }
}

function destroyRecord(ctx: HeapCtx, tc: number): void {
  const arena = arenaRecordByInd(ctx, tcacheArenaInd(ctx, tc));
  tcacheDestroy(ctx, tc, arena === 0 ? 1 : arenaNthreads(ctx, arena), ctx.threadB + THREAD_TCACHE_TRANSIT_B);
}

/** tcache.flush: false if `ind` names no explicit cache (EFAULT). */
export function tcacheFlushExplicit(ctx: HeapCtx, ind: number): boolean {
  const tc = removeExplicit(ctx, ind, true);
  if (tc === null) return false;
  if (tc !== 0) destroyRecord(ctx, tc);
  return true;
}

/** tcache.destroy: false if `ind` names no explicit cache (EFAULT). */
export function tcacheDestroyExplicit(ctx: HeapCtx, ind: number): boolean {
  const tc = removeExplicit(ctx, ind, false);
  if (tc === null) return false;
  if (tc !== 0) destroyRecord(ctx, tc);
  return true;
}

// ---- statistics and reclaim ---------------------------------------------------------------------

/** Every live cache record: threads' and explicit ones. */
export function tcacheRecords(ctx: HeapCtx): number[] {
  const out: number[] = [];
  const nslots = ctx.u32[HDR_NSLOTS_B >>> 2]!;
  for (let s = 0; s < nslots; s++) {
    const threadB = ctx.hdr.threadsB + s * THREAD_BYTES;
    const tc = ctx.u32[(threadB + THREAD_TCACHE_B) >>> 2]!;
    if (tcacheIsLive(ctx, tc)) out.push(tc);
    const transit = ctx.u32[(threadB + THREAD_TCACHE_TRANSIT_B) >>> 2]!;
    if (tcacheIsLive(ctx, transit)) out.push(transit);
  }
  const t = table(ctx, false);
  if (t !== 0) {
    const past = ctx.u32[HDR_TCACHES_PAST_B >>> 2]!;
    for (let i = 0; i < past; i++) {
      const tc = ctx.u32[(t + i * 8) >>> 2]!;
      if (tc > NEED_REINIT && tcacheIsLive(ctx, tc)) out.push(tc);
    }
  }
  return out;
}

/** Bytes of the blocks of the registered caches whose records are sane: what arena 0's internal counts. */
export function tcacheBlocksBytes(ctx: HeapCtx): number {
  const u32 = ctx.u32;
  let bytes = 0;
  for (const tc of tcacheRecords(ctx)) {
    if (!tcacheRecordSane(ctx, tc)) continue;
    const e = emapRead(ctx, u32[(tc + TCACHE_BLOCK_B) >>> 2]!);
    if (e !== 0 && edataIsRecord(u32, e)) bytes += ctx.sc.index2size(edataSzind(u32, e));
  }
  return bytes;
}

/**
 * A reclaim's recount of arena 0's internal bytes, after the dead thread's caches and internal block
 * are gone: a thread killed between creating (or freeing) a cache block and registering it left the
 * counter off by that block. Every live thread changes the count and the registration together under
 * arena 0's extent lock, so holding it, the registered caches and internal blocks (arena/internal.ts)
 * are exactly what the counter must say.
 */
export function tcacheInternalResync(ctx: HeapCtx): void {
  const a0 = arenaRecordByInd(ctx, 0);
  if (a0 === 0 || !ctx.opt.stats) return;
  pacLock(ctx, a0);
  ctx.f64[internalCountD(ctx)] = tcacheBlocksBytes(ctx) + internalBlocksBytes(ctx);
  pacUnlock(ctx, a0);
}

/** Bytes of stashed regions per arena (stats.arenas.<i>.tcache_stashed_bytes). */
export function tcacheStashedBytesOfArena(ctx: HeapCtx, arenaInd: number): number {
  let bytes = 0;
  for (const tc of tcacheRecords(ctx))
    if (tcacheArenaInd(ctx, tc) === arenaInd) bytes += tcacheStashedBytes(ctx, tc);
  return bytes;
}

/** Bytes of cached regions per arena (stats.arenas.<i>.tcache_bytes). */
export function tcacheBytesOfArena(ctx: HeapCtx, arenaInd: number): number {
  let bytes = 0;
  for (const tc of tcacheRecords(ctx))
    if (tcacheArenaInd(ctx, tc) === arenaInd) bytes += tcacheBytes(ctx, tc);
  return bytes;
}

/**
 * Validates a cache record left by another (departed) thread before trusting it: geometry, stack
 * bounds. The cached offsets themselves are validated one by one when flushed.
 */
export function tcacheRecordSane(ctx: HeapCtx, tc: number): boolean {
  if (tc === 0 || tc % 8 !== 0 || tc >= ctx.u32.length * 4) return false;
  const g = tcacheGeom(ctx);
  if (ctx.u32[(tc + TCACHE_NHBINS_B) >>> 2] !== g.nhbins) return false;
  const block = ctx.u32[(tc + TCACHE_BLOCK_B) >>> 2]!;
  for (let i = 0; i < g.nhbins; i++) {
    const w = tbinW(tc, i);
    if (ctx.u32[w + TBIN_W_CAP] !== g.cap[i]) return false;
    if (ctx.u32[w + TBIN_W_HEAD]! > g.cap[i]!) return false;
    if (ctx.u32[w + TBIN_W_NSTASHED]! > ctx.u32[w + TBIN_W_HEAD]!) return false;
    if (ctx.u32[w + TBIN_W_SLOTS] !== (block >>> 2) + g.slotOff[i]!) return false;
  }
  return true;
}
