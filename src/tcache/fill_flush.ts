/**
 * fill_flush: moving regions between a thread's cache bins and the arena — fill (jemalloc's
 * arena_cache_bin_fill_small: regions from the bin's current slab, lowest addresses first) and flush
 * (tcache_bin_flush_small / _large: the oldest items back to their slabs or large extents, grouped by
 * bin and arena), with the reports of entries found freed twice.
 *
 * Locking: fill and flush take the bin locks (small) or the arena's extent lock (large) themselves;
 * the cache bins are the owning thread's, touched without a lock.
 */
import { arenaDecayTicks, arenaGet, arenaRecordByInd, threadArena, threadShard } from "../arena/arena.js";
import {
  binDallocLocked,
  binInstallFreshSlab,
  binLock,
  binRecord,
  binRefillSlabcur,
  binUnlock,
  bstatD,
  slabAlloc,
} from "../arena/bin.js";
import { largeDallocPrepLocked } from "../arena/large.js";
import {
  BIN_SLABCUR_B,
  BSTATS_CURREGS,
  BSTATS_NFILLS,
  BSTATS_NFLUSHES,
  BSTATS_NMALLOC,
  BSTATS_NREQUESTS,
  LSTATS_BYTES,
  LSTATS_NFLUSHES,
  LSTATS_NREQUESTS,
} from "../arena/layout.js";
import { slabRegAllocIndex, slabRegIsAllocated } from "../arena/slab.js";
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
import { pacLock, pacUnlock } from "../extent/pac.js";
import { arenaExtentDalloc } from "../arena/decay.js";
import {
  TBIN_FILL_DIV_MASK,
  TBIN_REFILLED_BIT,
  TBIN_W_CAP,
  TBIN_W_HEAD,
  TBIN_W_LOW_WATER,
  TBIN_W_NREQUESTS,
  TBIN_W_PACKED,
  TBIN_W_SLOTS,
  TCACHE_ARENA_B,
  tbinW,
} from "./layout.js";
import {
  cacheBinPopChecked,
  cacheBinPush,
  cacheMarkOk,
  cacheMarkRange,
  cacheMarkSet,
  flushProblems,
} from "../cache_bin/cache_bin.js";
import { statAdd, tbinAssertSane, tcacheGeom } from "./geom.js";

// ---- fill ---------------------------------------------------------------------------------------

/**
 * arena_cache_bin_fill_small: up to `nfill` regions into the empty bin, lowest addresses on top.
 * Returns the number filled.
 */
function fillSmall(ctx: HeapCtx, tc: number, arena: number, binind: number, nfill: number): number {
  const u32 = ctx.u32;
  const w = tbinW(tc, binind);
  const cap = u32[w + TBIN_W_CAP]!;
  const slots = u32[w + TBIN_W_SLOTS]!;
  const base = cap - nfill;
  const shard = threadShard(ctx, binind);
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
    statAdd(ctx, bstatD(bin, BSTATS_NMALLOC), filled - counted);
    statAdd(ctx, bstatD(bin, BSTATS_CURREGS), filled - counted);
    counted = filled;
    if (!allocAndRetry) {
      statAdd(ctx, bstatD(bin, BSTATS_NREQUESTS), ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1]!);
      statAdd(ctx, bstatD(bin, BSTATS_NFILLS), 1);
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

/** tcache_alloc_small_hard: fill the empty bin, then pop. Returns 0 on OOM. */
export function tcacheAllocSmallHard(ctx: HeapCtx, tc: number, binind: number, arenaInd: number): number {
  tbinAssertSane(ctx, tc, binind);
  const u32 = ctx.u32;
  const arena = arenaGet(ctx, arenaInd >= 0 ? arenaInd : threadArena(ctx), true);
  if (arena === 0) return 0;
  const w = tbinW(tc, binind);
  const packed = u32[w + TBIN_W_PACKED]!;
  const nfill = u32[w + TBIN_W_CAP]! >>> (packed & TBIN_FILL_DIV_MASK);
  fillSmall(ctx, tc, arena, binind, nfill === 0 ? 1 : nfill);
  u32[w + TBIN_W_PACKED] = u32[w + TBIN_W_PACKED]! | TBIN_REFILLED_BIT;
  // low water tracks the minimum count; a fill from empty leaves it at 0
  return cacheBinPopChecked(ctx, w);
}

// ---- flush --------------------------------------------------------------------------------------

/** Detected double frees inside a flush or pop (reported by the caller after the operation). */
export { flushProblems };

/**
 * tcache_bin_flush_bottom: flush the oldest items so that `rem` remain. Small and large.
 */
export function tcacheBinFlush(ctx: HeapCtx, tc: number, binind: number, rem: number): void {
  tbinAssertSane(ctx, tc, binind);
  const u32 = ctx.u32;
  const w = tbinW(tc, binind);
  const cap = u32[w + TBIN_W_CAP]!;
  const head = u32[w + TBIN_W_HEAD]!;
  const slots = u32[w + TBIN_W_SLOTS]!;
  const ncached = cap - head;
  const nflush = ncached - rem;
  if (nflush > 0) {
    // Take the items out of the cache before freeing them: a thread terminated mid-flush must not
    // leave freed regions listed in its cache (its reclaim would free them again, maybe while
    // another thread owns them). Each mark is checked while it still names its slot: a block whose
    // mark names another slot was freed twice, and is reported instead of freed.
    const small = binind < ctx.sc.nbins;
    const ptrs: number[] = [];
    let n = 0;
    if (small) scratchFor(nflush);
    for (let i = 0; i < nflush; i++) {
      const slotW = slots + cap - nflush + i;
      const p = u32[slotW]!;
      if (!cacheMarkOk(u32, p, slotW)) flushProblems.push(p);
      else if (small) scratchP[n++] = p;
      else ptrs.push(p);
    }
    // Keep the newest `rem` items, moved down to the bottom.
    for (let i = rem - 1; i >= 0; i--) u32[slots + head + nflush + i] = u32[slots + head + i]!;
    cacheMarkRange(u32, w, head + nflush, cap);
    u32[w + TBIN_W_HEAD] = head + nflush;
    if (small) flushSmall(ctx, tc, binind, n);
    else flushLarge(ctx, tc, binind, ptrs);
  } else if (ncached === 0 && ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1] === 0) {
    return;
  }
  if (rem < u32[w + TBIN_W_LOW_WATER]!) u32[w + TBIN_W_LOW_WATER] = rem;
}

export function tcacheArenaRecord(ctx: HeapCtx, tc: number): number {
  return arenaRecordByInd(ctx, ctx.i32[(tc + TCACHE_ARENA_B) >>> 2]!);
}

/** Scratch for flushes (slow path, one flush at a time per thread): pointers and their records. */
let scratchP = new Uint32Array(256);
let scratchE = new Uint32Array(256);
let scratchEmptied = new Uint32Array(256);

function scratchFor(n: number): void {
  if (scratchP.length >= n) return;
  scratchP = new Uint32Array(n);
  scratchE = new Uint32Array(n);
  scratchEmptied = new Uint32Array(n * 2);
}

/** Frees the `n` regions in scratchP (taken out of the cache by the caller). */
function flushSmall(ctx: HeapCtx, tc: number, binind: number, n: number): void {
  const u32 = ctx.u32;
  const w = tbinW(tc, binind);
  const tcArena = tcacheArenaRecord(ctx, tc);
  const regSize = ctx.sc.binRegSize[binind]!;
  const P = scratchP;
  const E = scratchE;
  const emptied = scratchEmptied;
  let nemptied = 0;
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
  while (pending > 0) {
    const e0 = E[0]!;
    const arenaInd = edataArena(u32, e0);
    const arena = arenaRecordByInd(ctx, arenaInd);
    const shard = edataBinshard(u32, e0);
    const bin = binRecord(ctx, arena, binind, shard);
    binLock(ctx, bin);
    if (arena === tcArena && !merged) {
      merged = true;
      statAdd(ctx, bstatD(bin, BSTATS_NFLUSHES), 1);
      statAdd(ctx, bstatD(bin, BSTATS_NREQUESTS), ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1]!);
      ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1] = 0;
    }
    let ndeferred = 0;
    let done = 0;
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
        continue;
      }
      // Debug: the mark goes back to free junk, so the free region verifies as all junk.
      if (ctx.debug && ctx.opt.junkFree) u32[p >>> 2] = 0x5a5a5a5a;
      if (binDallocLocked(ctx, arena, bin, binind, e, regind)) {
        emptied[nemptied++] = e;
        emptied[nemptied++] = arena;
      }
      done++;
      if (ctx.failpoint !== null) ctx.failpoint("bin.flush.partial");
    }
    binUnlock(ctx, bin);
    arenaDecayTicks(ctx, arena, done);
    pending = ndeferred;
  }
  if (nemptied > 0 && ctx.failpoint !== null) ctx.failpoint("slab.emptied");
  for (let i = 0; i < nemptied; i += 2) arenaExtentDalloc(ctx, emptied[i + 1]!, emptied[i]!);
  if (!merged && tcArena !== 0) {
    const bin = binRecord(ctx, tcArena, binind, threadShard(ctx, binind));
    binLock(ctx, bin);
    statAdd(ctx, bstatD(bin, BSTATS_NFLUSHES), 1);
    statAdd(ctx, bstatD(bin, BSTATS_NREQUESTS), ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1]!);
    ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1] = 0;
    binUnlock(ctx, bin);
  }
}

export function lstatD(ctx: HeapCtx, arena: number, binind: number, stat: number): number {
  return ((arena + ctx.arenaLayout.lstatsB + (binind - ctx.sc.nbins) * LSTATS_BYTES) >>> 3) + stat;
}

function flushLarge(ctx: HeapCtx, tc: number, binind: number, ptrs: number[]): void {
  const u32 = ctx.u32;
  const w = tbinW(tc, binind);
  const tcArena = tcacheArenaRecord(ctx, tc);
  let todoP = ptrs;
  let todoE = ptrs.map((p) => emapLookupChecked(ctx, p));
  let merged = false;
  while (todoP.length > 0) {
    const e0 = todoE[0]!;
    if (
      e0 === 0 ||
      edataSlab(u32, e0) ||
      edataSzind(u32, e0) !== binind ||
      edataState(u32, e0) !== EXTENT_STATE_ACTIVE
    ) {
      flushProblems.push(todoP[0]!);
      todoP = todoP.slice(1);
      todoE = todoE.slice(1);
      continue;
    }
    const arenaInd = edataArena(u32, e0);
    const arena = arenaRecordByInd(ctx, arenaInd);
    pacLock(ctx, arena);
    if (arena === tcArena && !merged) {
      merged = true;
      statAdd(ctx, lstatD(ctx, arena, binind, LSTATS_NREQUESTS), ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1]!);
      statAdd(ctx, lstatD(ctx, arena, binind, LSTATS_NFLUSHES), 1);
      ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1] = 0;
    }
    const mine: number[] = [];
    const deferP: number[] = [];
    const deferE: number[] = [];
    for (let i = 0; i < todoP.length; i++) {
      const e = todoE[i]!;
      if (
        e === 0 ||
        edataSlab(u32, e) ||
        edataSzind(u32, e) !== binind ||
        edataState(u32, e) !== EXTENT_STATE_ACTIVE ||
        edataAddr(u32, e) !== todoP[i]
      ) {
        flushProblems.push(todoP[i]!);
        continue;
      }
      if (edataArena(u32, e) !== arenaInd) {
        deferP.push(todoP[i]!);
        deferE.push(e);
        continue;
      }
      largeDallocPrepLocked(ctx, arena, e);
      mine.push(e);
    }
    pacUnlock(ctx, arena);
    for (const e of mine) arenaExtentDalloc(ctx, arena, e);
    arenaDecayTicks(ctx, arena, mine.length);
    todoP = deferP;
    todoE = deferE;
  }
  if (!merged && tcArena !== 0) {
    pacLock(ctx, tcArena);
    statAdd(ctx, lstatD(ctx, tcArena, binind, LSTATS_NREQUESTS), ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1]!);
    statAdd(ctx, lstatD(ctx, tcArena, binind, LSTATS_NFLUSHES), 1);
    ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1] = 0;
    pacUnlock(ctx, tcArena);
  }
}

/** tcache_dalloc_{small,large} when the bin is full: flush to half, then push. */
export function tcacheDallocHard(ctx: HeapCtx, tc: number, binind: number, ptr: number): void {
  const g = tcacheGeom(ctx);
  const u32 = ctx.u32;
  const w = tbinW(tc, binind);
  const cap = u32[w + TBIN_W_CAP]!;
  const div = binind < ctx.sc.nbins ? g.lgFlushSmallDiv : g.lgFlushLargeDiv;
  tcacheBinFlush(ctx, tc, binind, cap >>> div);
  cacheBinPush(u32, w, ptr);
}
