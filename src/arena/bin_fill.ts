/**
 * bin_fill: the locked loops that move regions between a bin's slabs and one thread-cache bin —
 * jemalloc's arena_cache_bin_fill_small (regions from the bin's current slab, lowest addresses
 * first) and the small half of tcache_bin_flush_impl (regions back to their slabs, grouped by arena
 * and shard under each bin's lock). The cache-bin record (`w`, its u32 word index) is the caller's;
 * taking entries out of it and putting them in stays with src/tcache.
 *
 * Locking: each loop takes the bin locks itself; slabs emptied by a flush and a fresh slab not
 * needed by a fill go back to the page allocator after the lock is released.
 */
import { cacheMarkRange, cacheMarkSet, flushProblems } from "../cache_bin/cache_bin.js";
import { TBIN_W_CAP, TBIN_W_HEAD, TBIN_W_NREQUESTS, TBIN_W_SLOTS } from "../cache_bin/layout.js";
import type { HeapCtx } from "../ctx/ctx.js";
import {
  EXTENT_STATE_ACTIVE,
  edataAddr,
  edataArena,
  edataBase,
  edataBinshard,
  edataNfree,
  edataSlab,
  edataState,
  edataSzind,
} from "../extent/edata.js";
import { emapLookupChecked } from "../extent/emap.js";
import { arenaDecayTicks, arenaRecordByInd, threadShard } from "./arena.js";
import {
  binDallocLocked,
  binInstallFreshSlab,
  binLock,
  binRecord,
  binRefillSlabcur,
  binUnlock,
  bstatAdd,
  slabAlloc,
} from "./bin.js";
import { arenaExtentDalloc } from "./decay.js";
import {
  BIN_SLABCUR_B,
  BSTATS_CURREGS,
  BSTATS_NFILLS,
  BSTATS_NFLUSHES,
  BSTATS_NMALLOC,
  BSTATS_NREQUESTS,
} from "./layout.js";
import { slabRegAllocIndex, slabRegIsAllocated } from "./slab.js";

// ---- fill ---------------------------------------------------------------------------------------

/**
 * arena_cache_bin_fill_small: up to `nfill` regions of class `binind` (shard `shard` of `arena`)
 * into the empty cache bin `w`, lowest addresses on top, each with its cached mark. Sets the bin's
 * head; returns the number filled (fewer on OOM).
 */
export function binFillCacheBin(
  ctx: HeapCtx,
  arena: number,
  binind: number,
  shard: number,
  w: number,
  nfill: number,
): number {
  const u32 = ctx.u32;
  const cap = u32[w + TBIN_W_CAP]!;
  const slots = u32[w + TBIN_W_SLOTS]!;
  const base = cap - nfill;
  const bin = binRecord(ctx, arena, binind, shard);
  const regSize = ctx.sc.binRegSize[binind]!;
  let madeProgress = true;
  let fresh = 0;
  let filled = 0;
  let counted = 0;
  for (;;) {
    binLock(ctx, bin);
    if (ctx.failpoint !== null) ctx.failpoint("bin.locked");
    let allocAndRetry = false;
    while (filled < nfill) {
      const cur = u32[(bin + BIN_SLABCUR_B) >>> 2]!;
      if (cur !== 0 && edataNfree(u32, cur) > 0) {
        let cnt = nfill - filled;
        const nfree = edataNfree(u32, cur);
        if (nfree < cnt) cnt = nfree;
        const addr = edataAddr(u32, cur);
        for (let k = 0; k < cnt; k++) {
          const p = addr + slabRegAllocIndex(u32, cur, ctx.sc.binNregs[binind]!) * regSize;
          cacheMarkSet(u32, p, slots + base + filled + k);
          u32[slots + base + filled + k] = p;
        }
        madeProgress = true;
        filled += cnt;
        if (ctx.failpoint !== null) ctx.failpoint("bin.fill.partial");
        continue;
      }
      // Refill slabcur from the non-full heap (binMallocNoFreshSlab would also allocate a region).
      if (binRefillSlabcur(ctx, arena, bin)) continue;
      if (fresh !== 0) {
        binInstallFreshSlab(ctx, bin, fresh);
        fresh = 0;
        continue;
      }
      if (madeProgress) allocAndRetry = true;
      break;
    }
    // Count at every unlock, so curregs matches the bitmaps whenever the lock is free (a thread
    // terminated while it fetches a fresh slab leaves the bin consistent).
    bstatAdd(ctx, bin, BSTATS_NMALLOC, filled - counted);
    bstatAdd(ctx, bin, BSTATS_CURREGS, filled - counted);
    counted = filled;
    if (!allocAndRetry) {
      bstatAdd(ctx, bin, BSTATS_NREQUESTS, ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1]!);
      bstatAdd(ctx, bin, BSTATS_NFILLS, 1);
      ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1] = 0;
    }
    binUnlock(ctx, bin);
    if (!allocAndRetry) break;
    fresh = slabAlloc(ctx, arena, binind, shard);
    madeProgress = false;
  }
  if (fresh !== 0) arenaExtentDalloc(ctx, arena, fresh);
  if (filled < nfill) {
    // Fewer than asked (OOM): move what we got up to the top positions. The ranges overlap and the
    // destination is higher, so copy from the top down (a forward copy duplicated slots).
    for (let k = filled - 1; k >= 0; k--) u32[slots + cap - filled + k] = u32[slots + base + k]!;
    cacheMarkRange(u32, w, cap - filled, cap);
  }
  u32[w + TBIN_W_HEAD] = cap - filled;
  arenaDecayTicks(ctx, arena, 1);
  return filled;
}

// ---- flush --------------------------------------------------------------------------------------

/** Scratch for flushes (slow path, one flush at a time per thread): pointers and their records. */
let scratchP = new Uint32Array(256);
let scratchE = new Uint32Array(256);
let scratchEmptied = new Uint32Array(256);

/** The pointer scratch array, with room for `n` regions: the caller lists the regions to flush there. */
export function binFlushScratch(n: number): Uint32Array {
  if (scratchP.length < n) {
    scratchP = new Uint32Array(n);
    scratchE = new Uint32Array(n);
    scratchEmptied = new Uint32Array(n * 2);
  }
  return scratchP;
}

/**
 * The small half of tcache_bin_flush_impl: frees the `n` regions of class `binind` listed in the
 * scratch array (taken out of cache bin `w` by the caller), grouped by arena and shard under each
 * bin's lock. The bin's request count is merged into the cache's arena `tcArena` (or, when no region
 * belongs there, under the cache's own bin). Regions that are not live regions of this class are
 * listed in flushProblems, not freed.
 */
export function binFlushCacheBin(ctx: HeapCtx, tcArena: number, binind: number, w: number, n: number): void {
  const u32 = ctx.u32;
  const P = scratchP;
  const E = scratchE;
  let pending = 0;
  for (let i = 0; i < n; i++) {
    const p = P[i]!;
    const e = emapLookupChecked(ctx, p);
    // Not a region of this class, or its mark names another slot (freed twice): report and drop.
    if (e === 0 || !edataSlab(u32, e) || edataSzind(u32, e) !== binind) {
      flushProblems.push(p);
      continue;
    }
    P[pending] = p;
    E[pending] = e;
    pending++;
  }
  let merged = false;
  let nemptied = 0;
  while (pending > 0) {
    const arena = arenaRecordByInd(ctx, edataArena(u32, E[0]!));
    const bin = binRecord(ctx, arena, binind, edataBinshard(u32, E[0]!));
    binLock(ctx, bin);
    if (arena === tcArena && !merged) {
      merged = true;
      flushMergeRequests(ctx, bin, w);
    }
    const deferred = flushLocked(ctx, arena, bin, binind, pending, nemptied);
    nemptied = flushEmptied;
    binUnlock(ctx, bin);
    arenaDecayTicks(ctx, arena, pending - deferred - flushRefused);
    pending = deferred;
  }
  if (nemptied > 0 && ctx.failpoint !== null) ctx.failpoint("slab.emptied");
  const emptied = scratchEmptied;
  for (let i = 0; i < nemptied; i += 2) arenaExtentDalloc(ctx, emptied[i + 1]!, emptied[i]!);
  if (!merged && tcArena !== 0) {
    const bin = binRecord(ctx, tcArena, binind, threadShard(ctx, binind));
    binLock(ctx, bin);
    flushMergeRequests(ctx, bin, w);
    binUnlock(ctx, bin);
  }
}

/** tcache_bin_flush's stats merge: one flush and the cache bin's unmerged requests. Bin lock held. */
function flushMergeRequests(ctx: HeapCtx, bin: number, w: number): void {
  bstatAdd(ctx, bin, BSTATS_NFLUSHES, 1);
  bstatAdd(ctx, bin, BSTATS_NREQUESTS, ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1]!);
  ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1] = 0;
}

/** Set by flushLocked: entries of the emptied list in use, and regions refused in this pass. */
let flushEmptied = 0;
let flushRefused = 0;

/**
 * One pass under `bin`'s lock: frees the scratch regions that belong to this bin (the arena and
 * shard of the first one), moves the others to the front. Returns how many were deferred.
 */
function flushLocked(
  ctx: HeapCtx,
  arena: number,
  bin: number,
  binind: number,
  pending: number,
  nemptied: number,
): number {
  const u32 = ctx.u32;
  const P = scratchP;
  const E = scratchE;
  const emptied = scratchEmptied;
  const regSize = ctx.sc.binRegSize[binind]!;
  const arenaInd = edataArena(u32, E[0]!);
  const shard = edataBinshard(u32, E[0]!);
  let ndeferred = 0;
  let refused = 0;
  for (let i = 0; i < pending; i++) {
    const p = P[i]!;
    const e = E[i]!;
    if (edataArena(u32, e) !== arenaInd || edataBinshard(u32, e) !== shard) {
      P[ndeferred] = p;
      E[ndeferred] = e;
      ndeferred++;
      continue;
    }
    const off = p - edataBase(u32, e);
    const regind = off / regSize;
    if (
      edataState(u32, e) !== EXTENT_STATE_ACTIVE ||
      off % regSize !== 0 ||
      !slabRegIsAllocated(u32, e, regind)
    ) {
      flushProblems.push(p);
      refused++;
      continue;
    }
    // Debug: the mark goes back to free junk, so the free region verifies as all junk.
    if (ctx.debug && ctx.opt.junkFree) u32[p >>> 2] = 0x5a5a5a5a;
    if (binDallocLocked(ctx, arena, bin, binind, e, regind)) {
      emptied[nemptied++] = e;
      emptied[nemptied++] = arena;
    }
    if (ctx.failpoint !== null) ctx.failpoint("bin.flush.partial");
  }
  flushEmptied = nemptied;
  flushRefused = refused;
  return ndeferred;
}
