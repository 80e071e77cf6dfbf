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
import { cacheMarkRange, flushProblems } from "../cache_bin/cache_bin.js";
import { TBIN_W_CAP, TBIN_W_HEAD, TBIN_W_NREQUESTS, TBIN_W_SLOTS } from "../cache_bin/layout.js";
import type { HeapCtx } from "../ctx/ctx.js";
import { metadataCorrupt } from "../errors.js";
import {
  EDATA_BITS_SLAB_MASK,
  EDATA_BITS_STATE_MASK,
  EDATA_W_ARENA,
  EDATA_W_BASE,
  EDATA_W_BINSHARD,
  EDATA_W_BITMAP,
  EDATA_W_BITS,
  EDATA_W_BM_HINT,
  EDATA_W_NFREE,
  EDATA_W_SIZE,
  EDATA_W_SZIND,
  EXTENT_STATE_ACTIVE,
  edataAddr,
  edataArena,
  edataBinshard,
  edataNfree,
} from "../extent/edata.js";
import { emapLookupChecked } from "../extent/emap.js";
import { DIV_W_INV, DIV_W_MASK, DIV_W_NREGS, DIV_W_SHIFT, DIV_WORDS, divTableOf } from "../sizeclass/div.js";
import { arenaDecayTicks, arenaRecordByInd, threadShard } from "./arena.js";
import {
  binDallocLockedUncounted,
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
  BSTATS_NDALLOC,
  BSTATS_NFILLS,
  BSTATS_NFLUSHES,
  BSTATS_NMALLOC,
  BSTATS_NREQUESTS,
} from "./layout.js";

// Local copies of the record offsets the loops read per region: V8 folds a module's own constants
// into optimized code but loads an imported binding from its module cell at every use.
const W_BASE = EDATA_W_BASE;
const W_SIZE = EDATA_W_SIZE;
const W_BITS = EDATA_W_BITS;
const W_SZIND = EDATA_W_SZIND;
const W_ARENA = EDATA_W_ARENA;
const W_BINSHARD = EDATA_W_BINSHARD;
const W_NFREE = EDATA_W_NFREE;
const W_BM_HINT = EDATA_W_BM_HINT;
const W_BITMAP = EDATA_W_BITMAP;
const STATE_MASK = EDATA_BITS_STATE_MASK;
const SLAB_BIT = EDATA_BITS_SLAB_MASK;
const STATE_ACTIVE = EXTENT_STATE_ACTIVE;
// The same for the function called per region: through an imported binding, optimized code reloads
// and compares the binding at every call.
const dallocRegion = binDallocLockedUncounted;

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
        slabRegAllocBatch(
          u32,
          cur,
          ctx.sc.binNregs[binind]!,
          edataAddr(u32, cur),
          regSize,
          slots + base + filled,
          cnt,
        );
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

/**
 * arena_slab_reg_alloc_batch: `cnt` regions (the slab has that many free) of slab `e`, lowest first,
 * into cache slots from word `slotW` on, each with its cached mark — one bitmap word at a time.
 */
function slabRegAllocBatch(
  u32: Uint32Array,
  e: number,
  nregs: number,
  addr: number,
  regSize: number,
  slotW: number,
  cnt: number,
): void {
  const ew = e >>> 2;
  const bm = ew + W_BITMAP;
  let i = u32[ew + W_BM_HINT]!;
  let left = cnt;
  while (left > 0) {
    if (i * 32 >= nregs) throw metadataCorrupt(`slab ${e}: nfree > 0 but its bitmap is full`);
    let word = u32[bm + i]!;
    while (word !== 0xffffffff && left > 0) {
      const inv = ~word;
      const bit = 31 - Math.clz32(inv & -inv);
      word = (word | (1 << bit)) >>> 0;
      const p = addr + (i * 32 + bit) * regSize;
      u32[p >>> 2] = slotW; // the cached mark (cacheMarkSet)
      u32[slotW++] = p;
      left--;
    }
    u32[bm + i] = word;
    if (left > 0) i++;
  }
  u32[ew + W_BM_HINT] = i;
  u32[ew + W_NFREE] = u32[ew + W_NFREE]! - cnt;
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
  // Consecutive entries often share a slab: a pointer inside the last slab's range maps to it (a
  // slab registers every page), so the page-map lookup is skipped.
  let lastE = 0;
  let lastBase = 0;
  let lastPast = 0;
  for (let i = 0; i < n; i++) {
    const p = P[i]!;
    let e = lastE;
    if (p < lastBase || p >= lastPast) {
      e = emapLookupChecked(ctx, p);
      const ew = e >>> 2;
      // Not a region of this class, or its mark names another slot (freed twice): report and drop.
      if (e === 0 || (u32[ew + W_BITS]! & SLAB_BIT) === 0 || u32[ew + W_SZIND] !== binind) {
        flushProblems.push(p);
        continue;
      }
      lastE = e;
      lastBase = u32[ew + W_BASE]!;
      lastPast = lastBase + u32[ew + W_SIZE]!;
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
  // The region index in integers (src/sizeclass/div.ts): no float rounding and conversion per region.
  const div = divTableOf(ctx.sc);
  const d = binind * DIV_WORDS;
  const dMask = div[d + DIV_W_MASK]!;
  const dShift = div[d + DIV_W_SHIFT]!;
  const dInv = div[d + DIV_W_INV]!;
  const nregs = div[d + DIV_W_NREGS]!;
  const arenaInd = edataArena(u32, E[0]!);
  const shard = edataBinshard(u32, E[0]!);
  let ndeferred = 0;
  let refused = 0;
  let freed = 0;
  for (let i = 0; i < pending; i++) {
    const p = P[i]!;
    const e = E[i]!;
    const ew = e >>> 2;
    if (u32[ew + W_ARENA] !== arenaInd || u32[ew + W_BINSHARD] !== shard) {
      P[ndeferred] = p;
      E[ndeferred] = e;
      ndeferred++;
      continue;
    }
    const off = p - u32[ew + W_BASE]!;
    // The region index: exact for a region start; any other offset gives one ≥ nregs.
    const regind = Math.imul(off >>> dShift, dInv) >>> 0;
    if (
      (u32[ew + W_BITS]! & STATE_MASK) !== STATE_ACTIVE ||
      off < 0 ||
      (off & dMask) !== 0 ||
      regind >= nregs ||
      (u32[ew + W_BITMAP + (regind >>> 5)]! & (1 << (regind & 31))) === 0
    ) {
      flushProblems.push(p);
      refused++;
      continue;
    }
    // Debug: the mark goes back to free junk, so the free region verifies as all junk.
    if (ctx.debug && ctx.opt.junkFree) u32[p >>> 2] = 0x5a5a5a5a;
    freed++;
    if (dallocRegion(ctx, arena, bin, binind, e, regind)) {
      emptied[nemptied++] = e;
      emptied[nemptied++] = arena;
    }
    if (ctx.failpoint !== null) ctx.failpoint("bin.flush.partial");
  }
  bstatAdd(ctx, bin, BSTATS_NDALLOC, freed);
  bstatAdd(ctx, bin, BSTATS_CURREGS, -freed);
  flushEmptied = nemptied;
  flushRefused = refused;
  return ndeferred;
}
