/**
 * tcache: the thread cache's slow paths (jemalloc's tcache.c): creating a cache (its stacks are one
 * internal allocation in arena 0), the incremental GC that visits one bin per 64 KiB allocated or
 * freed, and destroying a cache (flush, merge statistics, free the block). Filling a bin on a miss
 * and flushing the oldest items are fill_flush.ts; the geometry is geom.ts.
 * The fast paths (one pop, one push: src/cache_bin, called from src/heap/core.ts) and these touch a
 * cache only from the thread that owns it, so the cache itself needs no lock.
 */
import {
  arenaDecayTicks,
  arenaGet,
  arenaPalloc,
  arenaRecordByInd,
  threadArena,
  threadShard,
} from "../arena/arena.js";
import { binLock, binRecord, binUnlock, bstatD } from "../arena/bin.js";
import { arenaDecay, arenaExtentDalloc, PURGE_NEVER, PURGE_ON_EPOCH_ADVANCE } from "../arena/decay.js";
import { internalCountD } from "../arena/internal.js";
import { CACHELINE, largeAlloc, largeDallocPrepLocked, largeUsize } from "../arena/large.js";
import { BSTATS_NREQUESTS, LSTATS_NFLUSHES, LSTATS_NREQUESTS } from "../arena/layout.js";
import { cacheBinLowWaterSet, cacheBinNcached } from "../cache_bin/cache_bin.js";
import type { HeapCtx } from "../ctx/ctx.js";
import { metadataCorrupt } from "../errors.js";
import { edataAddr } from "../extent/edata.js";
import { emapLookupChecked } from "../extent/emap.js";
import { pacLock, pacUnlock } from "../extent/pac.js";
import { f64AddD } from "../layout/index.js";
import {
  lstatD,
  tcacheAllocSmallHard,
  tcacheArenaRecord,
  tcacheBinFlush,
  tcacheBinFlushStashed,
  tcacheDallocHard,
} from "./fill_flush.js";
import { flushDelayItems, statAdd, type TcacheGeom, tbinAssertSane, tcacheGeom } from "./geom.js";
import {
  TBIN_FILL_DIV_MASK,
  TBIN_FLUSH_DELAY_MASK,
  TBIN_FLUSH_DELAY_SHIFT,
  TBIN_REFILLED_BIT,
  TBIN_W_CAP,
  TBIN_W_HEAD,
  TBIN_W_LOW_WATER,
  TBIN_W_NREQUESTS,
  TBIN_W_NSTASHED,
  TBIN_W_PACKED,
  TBIN_W_SLOTS,
  TCACHE_ARENA_B,
  TCACHE_BLOCK_B,
  TCACHE_KIND_B,
  TCACHE_NEXT_GC_BIN_B,
  TCACHE_NHBINS_B,
  TCACHE_STATE_B,
  TCACHE_STATE_DEAD,
  TCACHE_STATE_LIVE,
  tbinW,
} from "./layout.js";

export { flushProblems } from "../cache_bin/cache_bin.js";
export {
  statAdd,
  type TcacheGeom,
  tbinAssertSane,
  tcacheAllocSmallHard,
  tcacheBinFlush,
  tcacheDallocHard,
  tcacheGeom,
};

/**
 * Creates a cache associated with `arenaInd`: one zeroed internal allocation in arena 0 (page
 * aligned) holding stacks and record, named by the word at byte `registerB` (a thread's cache word or
 * an explicit cache's table entry). Returns the record offset, or 0 on OOM (nothing is stored then).
 *
 * Arena 0's `internal` counter equals the blocks of the registered caches whenever its extent lock is
 * free: the count and the registration change together under that lock, so a reclaim that holds it
 * can recount (tcacheInternalResync) whatever a thread killed in between left half done.
 */
export function tcacheCreate(ctx: HeapCtx, arenaInd: number, kind: number, registerB: number): number {
  const g = tcacheGeom(ctx);
  const a0 = arenaGet(ctx, 0, true);
  if (a0 === 0) return 0;
  const usize = ctx.sc.sa2u(g.blockSize, ctx.page);
  if (usize === 0) return 0;
  const block = arenaPalloc(ctx, a0, usize, ctx.page, true);
  if (block === 0) return 0;
  const tc = block + g.recordOff;
  const u32 = ctx.u32;
  ctx.i32[(tc + TCACHE_ARENA_B) >>> 2] = arenaInd;
  u32[(tc + TCACHE_BLOCK_B) >>> 2] = block;
  u32[(tc + TCACHE_NEXT_GC_BIN_B) >>> 2] = 0;
  u32[(tc + TCACHE_STATE_B) >>> 2] = TCACHE_STATE_LIVE;
  u32[(tc + TCACHE_NHBINS_B) >>> 2] = g.nhbins;
  u32[(tc + TCACHE_KIND_B) >>> 2] = kind;
  for (let i = 0; i < g.nhbins; i++) {
    const w = tbinW(tc, i);
    u32[w + TBIN_W_HEAD] = g.cap[i]!;
    u32[w + TBIN_W_LOW_WATER] = 0;
    u32[w + TBIN_W_CAP] = g.cap[i]!;
    u32[w + TBIN_W_SLOTS] = (block >>> 2) + g.slotOff[i]!;
    u32[w + TBIN_W_NSTASHED] = 0;
    ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1] = 0;
    u32[w + TBIN_W_PACKED] =
      i < ctx.sc.nbins ? 1 | (flushDelayItems(ctx, g, i) << TBIN_FLUSH_DELAY_SHIFT) : 1;
  }
  if (ctx.failpoint !== null) ctx.failpoint("tcache.create.block");
  // Under arena 0's extent lock, with the registration (jemalloc adds atomically; an unlocked
  // read-modify-write here lost updates when threads created caches at once).
  pacLock(ctx, a0);
  f64AddD(ctx.f64, internalCountD(ctx), usize);
  if (ctx.failpoint !== null) ctx.failpoint("tcache.create.counted");
  u32[registerB >>> 2] = tc;
  pacUnlock(ctx, a0);
  return tc;
}

// ---- GC -----------------------------------------------------------------------------------------

/** tcache_event: visit one bin: flush 3/4 of what sat below the low-water mark; adapt fill sizes. */
export function tcacheEvent(ctx: HeapCtx, tc: number): void {
  const u32 = ctx.u32;
  const g = tcacheGeom(ctx);
  const binind = u32[(tc + TCACHE_NEXT_GC_BIN_B) >>> 2]!;
  if (binind >= g.nhbins) throw metadataCorrupt(`thread cache ${tc}: GC bin ${binind} out of range`);
  tbinAssertSane(ctx, tc, binind);
  const w = tbinW(tc, binind);
  const isSmall = binind < ctx.sc.nbins;
  if (isSmall) tcacheBinFlushStashed(ctx, tc, binind);
  const cap = u32[w + TBIN_W_CAP]!;
  const lowWater = u32[w + TBIN_W_LOW_WATER]!;
  const packed = u32[w + TBIN_W_PACKED]!;
  if (lowWater > 0) {
    const ncached = cacheBinNcached(u32, w);
    if (isSmall) {
      const nflush = lowWater - (lowWater >>> 2);
      const delay = (packed & TBIN_FLUSH_DELAY_MASK) >>> TBIN_FLUSH_DELAY_SHIFT;
      if (nflush < delay) {
        u32[w + TBIN_W_PACKED] =
          (packed & ~TBIN_FLUSH_DELAY_MASK) | ((delay - nflush) << TBIN_FLUSH_DELAY_SHIFT);
      } else {
        u32[w + TBIN_W_PACKED] =
          (packed & ~TBIN_FLUSH_DELAY_MASK) | (flushDelayItems(ctx, g, binind) << TBIN_FLUSH_DELAY_SHIFT);
        tcacheBinFlush(ctx, tc, binind, ncached - nflush);
        const p2 = u32[w + TBIN_W_PACKED]!;
        const div = p2 & TBIN_FILL_DIV_MASK;
        if (cap >>> (div + 1) >= 1) u32[w + TBIN_W_PACKED] = (p2 & ~TBIN_FILL_DIV_MASK) | (div + 1);
      }
    } else {
      tcacheBinFlush(ctx, tc, binind, ncached - lowWater + (lowWater >>> 2));
    }
  } else if (isSmall && (packed & TBIN_REFILLED_BIT) !== 0) {
    const div = packed & TBIN_FILL_DIV_MASK;
    u32[w + TBIN_W_PACKED] =
      ((div > 1 ? div - 1 : div) | (packed & ~(TBIN_FILL_DIV_MASK | TBIN_REFILLED_BIT))) >>> 0;
  }
  cacheBinLowWaterSet(u32, w);
  u32[(tc + TCACHE_NEXT_GC_BIN_B) >>> 2] = binind + 1 === g.nhbins ? 0 : binind + 1;
}

// ---- whole-cache operations ---------------------------------------------------------------------

export function tcacheFlushAll(ctx: HeapCtx, tc: number): void {
  const g = tcacheGeom(ctx);
  for (let i = 0; i < g.nhbins; i++) tcacheBinFlush(ctx, tc, i, 0);
}

/** tcache_stats_merge: unmerged request counts go to the arena's statistics. */
export function tcacheStatsMerge(ctx: HeapCtx, tc: number): void {
  const g = tcacheGeom(ctx);
  const arena = tcacheArenaRecord(ctx, tc);
  if (arena === 0) return;
  for (let i = 0; i < g.nhbins; i++) {
    const d = (tbinW(tc, i) + TBIN_W_NREQUESTS) >>> 1;
    const n = ctx.f64[d]!;
    if (i < ctx.sc.nbins) {
      const bin = binRecord(ctx, arena, i, threadShard(ctx, i));
      binLock(ctx, bin);
      statAdd(ctx, bstatD(bin, BSTATS_NREQUESTS), n);
      binUnlock(ctx, bin);
    } else {
      pacLock(ctx, arena);
      statAdd(ctx, lstatD(ctx, arena, i, LSTATS_NREQUESTS), n);
      statAdd(ctx, lstatD(ctx, arena, i, LSTATS_NFLUSHES), 1);
      pacUnlock(ctx, arena);
    }
    ctx.f64[d] = 0;
  }
}

/**
 * tcache_destroy: flush everything, merge statistics, free the block (internal), then the decay
 * passes jemalloc runs (arena 0, then the cache's arena — fully if no thread is left on it). The cache
 * stays registered at byte `registerB` until its block goes, so a thread killed while flushing leaves
 * it for the reclaim to validate and finish.
 */
export function tcacheDestroy(ctx: HeapCtx, tc: number, arenaThreadsLeft: number, registerB: number): void {
  tcacheFlushAll(ctx, tc);
  tcacheStatsMerge(ctx, tc);
  const u32 = ctx.u32;
  const arenaInd = ctx.i32[(tc + TCACHE_ARENA_B) >>> 2]!;
  const block = u32[(tc + TCACHE_BLOCK_B) >>> 2]!;
  const a0 = arenaRecordByInd(ctx, 0);
  const e = emapLookupChecked(ctx, block);
  if (ctx.failpoint !== null) ctx.failpoint("tcache.destroy.flushed");
  pacLock(ctx, a0);
  u32[(tc + TCACHE_STATE_B) >>> 2] = TCACHE_STATE_DEAD;
  u32[registerB >>> 2] = 0;
  if (ctx.failpoint !== null) ctx.failpoint("tcache.destroy.unregistered");
  if (e !== 0) {
    f64AddD(ctx.f64, internalCountD(ctx), -largeUsize(ctx, e));
    largeDallocPrepLocked(ctx, a0, e);
  }
  pacUnlock(ctx, a0);
  if (e !== 0) arenaExtentDalloc(ctx, a0, e);
  const eager = ctx.backgroundThreads ? PURGE_NEVER : PURGE_ON_EPOCH_ADVANCE;
  arenaDecay(ctx, a0, eager, false);
  const arena = arenaRecordByInd(ctx, arenaInd);
  if (arena !== 0) arenaDecay(ctx, arena, eager, arenaThreadsLeft === 0 && !ctx.backgroundThreads);
}

/** Bytes of regions cached in `tc` that belong to arena `arenaInd`'s accounting. */
export function tcacheBytes(ctx: HeapCtx, tc: number): number {
  const g = tcacheGeom(ctx);
  const u32 = ctx.u32;
  let bytes = 0;
  for (let i = 0; i < g.nhbins; i++) {
    tbinAssertSane(ctx, tc, i);
    const w = tbinW(tc, i);
    bytes += (u32[w + TBIN_W_CAP]! - u32[w + TBIN_W_HEAD]!) * ctx.sc.index2size(i);
  }
  return bytes;
}

/** Bytes of regions stashed (opt.lg_san_uaf_align) in `tc`: stats.arenas.<i>.tcache_stashed_bytes. */
export function tcacheStashedBytes(ctx: HeapCtx, tc: number): number {
  const g = tcacheGeom(ctx);
  let bytes = 0;
  for (let i = 0; i < ctx.sc.nbins && i < g.nhbins; i++) {
    tbinAssertSane(ctx, tc, i);
    bytes += ctx.u32[tbinW(tc, i) + TBIN_W_NSTASHED]! * ctx.sc.index2size(i);
  }
  return bytes;
}

/** tcache_arena_reassociate: merge statistics into the old arena, then serve the new one. */
export function tcacheReassociate(ctx: HeapCtx, tc: number, arenaInd: number): void {
  tcacheStatsMerge(ctx, tc);
  ctx.i32[(tc + TCACHE_ARENA_B) >>> 2] = arenaInd;
}

export function tcacheArenaInd(ctx: HeapCtx, tc: number): number {
  return ctx.i32[(tc + TCACHE_ARENA_B) >>> 2]!;
}

export function tcacheIsLive(ctx: HeapCtx, tc: number): boolean {
  return tc !== 0 && ctx.u32[(tc + TCACHE_STATE_B) >>> 2] === TCACHE_STATE_LIVE;
}

/** Large miss: one object straight from the thread's arena (no batch). */
export function tcacheAllocLargeMiss(ctx: HeapCtx, usize: number, zero: boolean, arenaInd: number): number {
  const arena = arenaGet(ctx, arenaInd >= 0 ? arenaInd : threadArena(ctx), true);
  if (arena === 0) return 0;
  const e = largeAlloc(ctx, arena, usize, CACHELINE, zero);
  if (e === 0) return 0;
  arenaDecayTicks(ctx, arena, 1);
  return edataAddr(ctx.u32, e);
}
