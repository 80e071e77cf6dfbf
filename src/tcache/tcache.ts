/**
 * tcache: the thread cache's slow paths (jemalloc's tcache.c): creating a cache (its stacks are one
 * internal allocation in arena 0), filling a bin from the arena on a miss (half its capacity, adapted
 * by GC), flushing the oldest items when a bin is full, the incremental GC that visits one bin per
 * 64 KiB allocated or freed, and destroying a cache (flush, merge statistics, free the block).
 * The fast paths (one pop, one push) are inlined in src/heap.ts; they and these functions touch a
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
import { CACHELINE, largeAlloc, largeDallocPrepLocked, largeUsize } from "../arena/large.js";
import {
  ARENA_INTERNAL_B,
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
import { metadataCorrupt } from "../errors.js";
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
import { PURGE_NEVER, PURGE_ON_EPOCH_ADVANCE, arenaDecay, arenaExtentDalloc } from "../arena/decay.js";
import { alignUp, f64AddD } from "../layout/index.js";
import {
  TBIN_BYTES,
  TBIN_FILL_DIV_MASK,
  TBIN_FLUSH_DELAY_MASK,
  TBIN_FLUSH_DELAY_SHIFT,
  TBIN_REFILLED_BIT,
  TBIN_W_CAP,
  TBIN_W_HEAD,
  TBIN_W_LOW_WATER,
  TBIN_W_NREQUESTS,
  TBIN_W_PACKED,
  TBIN_W_SLOTS,
  TCACHE_ARENA_B,
  TCACHE_BLOCK_B,
  TCACHE_HDR_BYTES,
  TCACHE_KIND_B,
  TCACHE_NEXT_GC_BIN_B,
  TCACHE_NHBINS_B,
  TCACHE_STATE_B,
  TCACHE_STATE_DEAD,
  TCACHE_STATE_LIVE,
  tbinW,
} from "./layout.js";
import { cacheBinPopChecked, cacheMarkOk, cacheMarkRange, cacheMarkSet, flushProblems } from "./mark.js";

/** Bin geometry shared by every cache of a heap (tcache_bin_info). */
export interface TcacheGeom {
  nhbins: number;
  cap: Uint32Array;
  /** Slot offset (in u32 slots) of each bin's stack within the block. */
  slotOff: Uint32Array;
  totalSlots: number;
  /** jemalloc's stack allocation: 8-byte slots + 2 reserved slots, page aligned. */
  allocSize: number;
  /** Byte offset of the record inside the block. */
  recordOff: number;
  /** Block size actually requested (≥ allocSize when the record needs more room). */
  blockSize: number;
  gcIncrBytes: number;
  lgFlushSmallDiv: number;
  lgFlushLargeDiv: number;
  gcDelayBytes: number;
}

const geoms = new WeakMap<object, TcacheGeom>();

export function tcacheGeom(ctx: HeapCtx): TcacheGeom {
  const c = ctx as HeapCtx & { tcacheGeom?: TcacheGeom };
  if (c.tcacheGeom !== undefined) return c.tcacheGeom;
  const g0 = geoms.get(ctx.sc);
  if (g0 !== undefined) {
    c.tcacheGeom = g0;
    return g0;
  }
  const sc = ctx.sc;
  const o = ctx.optRaw;
  const nhbins = sc.nhbins(o.tcache_max);
  const cap = new Uint32Array(nhbins);
  const slotOff = new Uint32Array(nhbins);
  let total = 0;
  const nslots = {
    nslotsSmallMin: o.tcache_nslots_small_min,
    nslotsSmallMax: o.tcache_nslots_small_max,
    nslotsLarge: o.tcache_nslots_large,
    lgNslotsMul: o.lg_tcache_nslots_mul,
  };
  for (let i = 0; i < nhbins; i++) {
    cap[i] = sc.ncachedMax(i, nslots);
    slotOff[i] = total;
    total += cap[i]!;
  }
  const allocSize = 16 + total * 8;
  const recordOff = alignUp(total * 4, 64);
  const need = recordOff + TCACHE_HDR_BYTES + nhbins * TBIN_BYTES;
  const g: TcacheGeom = {
    nhbins,
    cap,
    slotOff,
    totalSlots: total,
    allocSize,
    recordOff,
    blockSize: Math.max(allocSize, need),
    gcIncrBytes: o.tcache_gc_incr_bytes,
    lgFlushSmallDiv: o.lg_tcache_flush_small_div,
    lgFlushLargeDiv: o.lg_tcache_flush_large_div,
    gcDelayBytes: o.tcache_gc_delay_bytes,
  };
  geoms.set(ctx.sc, g);
  return g;
}

/**
 * Throws (corrupt metadata) unless bin `binind` of cache `tc` still has its geometry — capacity, stack
 * position, head ≤ capacity — so every walk over the bin is bounded by what the bin can hold.
 */
export function tbinAssertSane(ctx: HeapCtx, tc: number, binind: number): void {
  const g = tcacheGeom(ctx);
  const u32 = ctx.u32;
  const w = tbinW(tc, binind);
  const block = u32[(tc + TCACHE_BLOCK_B) >>> 2]!;
  const cap = g.cap[binind];
  if (
    cap === undefined ||
    tc - block !== g.recordOff ||
    u32[w + TBIN_W_CAP] !== cap ||
    u32[w + TBIN_W_HEAD]! > cap ||
    u32[w + TBIN_W_SLOTS] !== (block >>> 2) + g.slotOff[binind]!
  )
    throw metadataCorrupt(`thread cache ${tc} bin ${binind}: its record does not match the cache geometry`);
}

function flushDelayItems(ctx: HeapCtx, g: TcacheGeom, binind: number): number {
  const d = Math.floor(g.gcDelayBytes / ctx.sc.index2size(binind));
  return d >= 256 ? 255 : d;
}

function f64Add(ctx: HeapCtx, d: number, v: number): void {
  ctx.f64[d] = ctx.f64[d]! + v;
}

/** A statistics counter: not written when the heap keeps no statistics. */
function statAdd(ctx: HeapCtx, d: number, v: number): void {
  if (ctx.opt.stats) ctx.f64[d] = ctx.f64[d]! + v;
}

/**
 * Creates a cache associated with `arenaInd`: one zeroed internal allocation in arena 0 (page
 * aligned) holding stacks and record. Returns the record offset, or 0 on OOM.
 */
export function tcacheCreate(ctx: HeapCtx, arenaInd: number, kind: number): number {
  const g = tcacheGeom(ctx);
  const a0 = arenaGet(ctx, 0, true);
  if (a0 === 0) return 0;
  const usize = ctx.sc.sa2u(g.blockSize, ctx.page);
  if (usize === 0) return 0;
  const block = arenaPalloc(ctx, a0, usize, ctx.page, true);
  if (block === 0) return 0;
  f64AddD(ctx.f64, (a0 + ctx.arenaLayout.arenaFieldsB + ARENA_INTERNAL_B) >>> 3, usize);
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
    ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1] = 0;
    u32[w + TBIN_W_PACKED] =
      i < ctx.sc.nbins ? 1 | (flushDelayItems(ctx, g, i) << TBIN_FLUSH_DELAY_SHIFT) : 1;
  }
  return tc;
}

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

function tcacheArenaRecord(ctx: HeapCtx, tc: number): number {
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
    if (
      e === 0 ||
      !edataSlab(u32, e) ||
      edataSzind(u32, e) !== binind
    ) {
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

function lstatD(ctx: HeapCtx, arena: number, binind: number, stat: number): number {
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
  const head = u32[w + TBIN_W_HEAD]! - 1;
  cacheMarkSet(u32, ptr, u32[w + TBIN_W_SLOTS]! + head);
  u32[u32[w + TBIN_W_SLOTS]! + head] = ptr;
  u32[w + TBIN_W_HEAD] = head;
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
  const cap = u32[w + TBIN_W_CAP]!;
  const lowWater = u32[w + TBIN_W_LOW_WATER]!;
  const packed = u32[w + TBIN_W_PACKED]!;
  if (lowWater > 0) {
    const ncached = cap - u32[w + TBIN_W_HEAD]!;
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
  u32[w + TBIN_W_LOW_WATER] = cap - u32[w + TBIN_W_HEAD]!;
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
 * passes jemalloc runs (arena 0, then the cache's arena — fully if no thread is left on it).
 */
export function tcacheDestroy(ctx: HeapCtx, tc: number, arenaThreadsLeft: number): void {
  tcacheFlushAll(ctx, tc);
  tcacheStatsMerge(ctx, tc);
  const u32 = ctx.u32;
  const arenaInd = ctx.i32[(tc + TCACHE_ARENA_B) >>> 2]!;
  const block = u32[(tc + TCACHE_BLOCK_B) >>> 2]!;
  u32[(tc + TCACHE_STATE_B) >>> 2] = TCACHE_STATE_DEAD;
  const a0 = arenaRecordByInd(ctx, 0);
  const e = emapLookupChecked(ctx, block);
  if (e !== 0) {
    const usize = largeUsize(ctx, e);
    f64AddD(ctx.f64, (a0 + ctx.arenaLayout.arenaFieldsB + ARENA_INTERNAL_B) >>> 3, -usize);
    pacLock(ctx, a0);
    largeDallocPrepLocked(ctx, a0, e);
    pacUnlock(ctx, a0);
    arenaExtentDalloc(ctx, a0, e);
  }
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
