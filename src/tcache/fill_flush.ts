/**
 * fill_flush: moving regions between a thread's cache bins and the arena — fill on a miss
 * (tcache_alloc_small_hard) and flush (tcache_bin_flush_small / _large: the oldest items back to their
 * slabs or large extents), with the reports of entries found freed twice. The locked loops over a
 * bin's slabs are src/arena/bin_fill.ts; this side takes the entries out of the cache bin and puts
 * them in.
 *
 * Locking: fill and flush take the bin locks (small) or the arena's extent lock (large) themselves;
 * the cache bins are the owning thread's, touched without a lock.
 */
import { arenaDecayTicks, arenaGet, arenaRecordByInd, threadArena, threadShard } from "../arena/arena.js";
import { binFillCacheBin, binFlushCacheBin, binFlushScratch } from "../arena/bin_fill.js";
import { arenaExtentDalloc } from "../arena/decay.js";
import { largeDallocPrepLocked } from "../arena/large.js";
import { LSTATS_BYTES, LSTATS_NFLUSHES, LSTATS_NREQUESTS } from "../arena/layout.js";
import {
  cacheBinLowWaterLower,
  cacheBinPopChecked,
  cacheBinPush,
  cacheBinTakeStashed,
  cacheMarkOk,
  cacheMarkRange,
  flushProblems,
} from "../cache_bin/cache_bin.js";
import { sanStashedChanged, sanUafMessage, stashReports } from "../cache_bin/san_uaf.js";
import type { HeapCtx } from "../ctx/ctx.js";
import {
  EXTENT_STATE_ACTIVE,
  edataAddr,
  edataArena,
  edataSlab,
  edataState,
  edataSzind,
} from "../extent/edata.js";
import { emapLookupChecked } from "../extent/emap.js";
import { pacLock, pacUnlock } from "../extent/pac.js";
import { statAdd, tbinAssertSane, tcacheGeom } from "./geom.js";
import {
  TBIN_FILL_DIV_MASK,
  TBIN_REFILLED_BIT,
  TBIN_W_CAP,
  TBIN_W_HEAD,
  TBIN_W_NREQUESTS,
  TBIN_W_NSTASHED,
  TBIN_W_PACKED,
  TBIN_W_SLOTS,
  TCACHE_ARENA_B,
  tbinW,
} from "./layout.js";

// Local aliases of the functions called per entry: through an imported binding, optimized code
// reloads and compares the binding at every call.
const markOk = cacheMarkOk;
/** The large-pointer list of a small flush: never written (small entries go to the scratch array). */
const NO_PTRS: number[] = [];

// ---- fill ---------------------------------------------------------------------------------------

/** tcache_alloc_small_hard: fill the empty bin, then pop. Returns 0 on OOM. */
export function tcacheAllocSmallHard(ctx: HeapCtx, tc: number, binind: number, arenaInd: number): number {
  tbinAssertSane(ctx, tc, binind);
  const u32 = ctx.u32;
  const arena = arenaGet(ctx, arenaInd >= 0 ? arenaInd : threadArena(ctx), true);
  if (arena === 0) return 0;
  tcacheBinFlushStashed(ctx, tc, binind);
  const w = tbinW(tc, binind);
  const packed = u32[w + TBIN_W_PACKED]!;
  const nfill = u32[w + TBIN_W_CAP]! >>> (packed & TBIN_FILL_DIV_MASK);
  binFillCacheBin(ctx, arena, binind, threadShard(ctx, binind), w, nfill === 0 ? 1 : nfill);
  u32[w + TBIN_W_PACKED] = u32[w + TBIN_W_PACKED]! | TBIN_REFILLED_BIT;
  // low water tracks the minimum count; a fill from empty leaves it at 0
  return cacheBinPopChecked(ctx, w);
}

// ---- flush --------------------------------------------------------------------------------------

/** Detected double frees inside a flush or pop (reported by the caller after the operation). */
export { flushProblems };

/**
 * tcache_bin_flush_stashed: the stashed blocks of bin `binind` leave the cache; each one's junk is
 * verified (a changed byte: reported as a write after free, and the block is kept out of the arena,
 * since someone may be using it), the others go back to their slabs as a flush does — counting a
 * flush in the bin's statistics, as jemalloc's does.
 */
export function tcacheBinFlushStashed(ctx: HeapCtx, tc: number, binind: number): void {
  const u32 = ctx.u32;
  const w = tbinW(tc, binind);
  if (u32[w + TBIN_W_NSTASHED] === 0) return;
  const scratch = binFlushScratch(u32[w + TBIN_W_CAP]!);
  const n = cacheBinTakeStashed(u32, w, scratch);
  const usize = ctx.sc.index2size(binind);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const p = scratch[i]!;
    const off = sanStashedChanged(ctx, p, usize);
    if (off >= 0) {
      stashReports.set(p, sanUafMessage(p, usize, off));
      flushProblems.push(p);
      continue;
    }
    // Debug: back to free junk, so the free region verifies as all junk when reused.
    if (ctx.debug && ctx.opt.junkFree) ctx.u8.fill(0x5a, p, p + usize);
    scratch[kept++] = p;
  }
  binFlushCacheBin(ctx, tcacheArenaRecord(ctx, tc), binind, w, kept);
}

/**
 * tcache_bin_flush_bottom: flush the oldest items so that `rem` remain. Small and large.
 */
export function tcacheBinFlush(ctx: HeapCtx, tc: number, binind: number, rem: number): void {
  tbinAssertSane(ctx, tc, binind);
  if (binind < ctx.sc.nbins) tcacheBinFlushStashed(ctx, tc, binind);
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
    const ptrs: number[] = small ? NO_PTRS : [];
    const scratch = small ? binFlushScratch(nflush) : null;
    let n = 0;
    for (let i = 0; i < nflush; i++) {
      const slotW = slots + cap - nflush + i;
      const p = u32[slotW]!;
      if (!markOk(u32, p, slotW)) flushProblems.push(p);
      else if (scratch !== null) scratch[n++] = p;
      else ptrs.push(p);
    }
    // Keep the newest `rem` items, moved down to the bottom.
    for (let i = rem - 1; i >= 0; i--) u32[slots + head + nflush + i] = u32[slots + head + i]!;
    cacheMarkRange(u32, w, head + nflush, cap);
    u32[w + TBIN_W_HEAD] = head + nflush;
    if (small) binFlushCacheBin(ctx, tcacheArenaRecord(ctx, tc), binind, w, n);
    else flushLarge(ctx, tc, binind, ptrs);
  } else if (ncached === 0 && ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1] === 0) {
    return;
  }
  cacheBinLowWaterLower(u32, w, rem);
}

export function tcacheArenaRecord(ctx: HeapCtx, tc: number): number {
  return arenaRecordByInd(ctx, ctx.i32[(tc + TCACHE_ARENA_B) >>> 2]!);
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
