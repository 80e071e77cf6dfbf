/**
 * bin: a size class's slabs within one arena shard (jemalloc's bin.c and the bin half of arena.c).
 * `slabcur` serves allocations; non-full slabs wait in a heap ordered by (sn, addr) so the oldest,
 * lowest slab is reused first; full slabs are tracked only in manual arenas (for reset). A slab that
 * becomes empty goes back to the page allocator at once; a full slab that gets a free region is
 * "lowered": it replaces slabcur if it is older/lower, keeping slabcur the oldest non-full slab.
 *
 * Synchronization: the bin's lock; the page allocator is called with no bin lock held.
 */
import type { HeapCtx } from "../ctx/ctx.js";
import {
  EDATA_W_LIST_NEXT,
  EDATA_W_LIST_PREV,
  EDATA_W_NFREE,
  edataAddr,
  edataBase,
  edataBinshardSet,
  edataNfree,
  edataPast,
  edataSnadComp,
} from "../extent/edata.js";
import { heapLock, heapUnlock } from "../extent/lock.js";
import { paAlloc } from "../extent/pac.js";
import { phInsert, phRemove, phRemoveFirst } from "../extent/ph.js";
import { lockInit } from "../sync/index.js";
import { arenaExtentDalloc } from "./decay.js";
import {
  arenaIsAuto,
  BIN_FULL_HEAD_B,
  BIN_FULL_TAIL_B,
  BIN_LOCK_B,
  BIN_NONFULL_ROOT_B,
  BIN_SLABCUR_B,
  BIN_STATS_B,
  BSTATS_CURREGS,
  BSTATS_CURSLABS,
  BSTATS_NDALLOC,
  BSTATS_NMALLOC,
  BSTATS_NONFULL_SLABS,
  BSTATS_NREQUESTS,
  BSTATS_NRESLABS,
  BSTATS_NSLABS,
} from "./layout.js";
import {
  slabAssertConsistent,
  slabBitmapInit,
  slabMarkInFlight,
  slabRegAllocIndex,
  slabRegFree,
  slabUnmarkInFlight,
} from "./slab.js";

// Local copies for the per-region path (binDallocLockedUncounted): V8 folds a module's own constants
// but loads an imported binding from its module cell at every use.
const W_NFREE = EDATA_W_NFREE;
const SLABCUR_B = BIN_SLABCUR_B;
const regFree = slabRegFree;

export function binRecord(ctx: HeapCtx, arena: number, binind: number, shard: number): number {
  const al = ctx.arenaLayout;
  return arena + al.binsB + (al.binFirst[binind]! + shard) * al.binBytes;
}

export function binInit(ctx: HeapCtx, bin: number): void {
  lockInit(ctx.i32, (bin + BIN_LOCK_B) >>> 2);
}

/** Index of a bin statistic in the f64 view. */
export function bstatD(bin: number, stat: number): number {
  return ((bin + BIN_STATS_B) >>> 3) + stat;
}

export function bstatAdd(ctx: HeapCtx, bin: number, stat: number, v: number): void {
  if (!ctx.opt.stats) return;
  const d = ((bin + BIN_STATS_B) >>> 3) + stat;
  ctx.f64[d] = ctx.f64[d]! + v;
}

export function binLock(ctx: HeapCtx, bin: number): void {
  heapLock(ctx, bin + BIN_LOCK_B);
}
export function binUnlock(ctx: HeapCtx, bin: number): void {
  heapUnlock(ctx, bin + BIN_LOCK_B);
}

// ---- slab lists -----------------------------------------------------------------------------------

function nonfullInsert(ctx: HeapCtx, bin: number, slab: number): void {
  phInsert(ctx.u32, (bin + BIN_NONFULL_ROOT_B) >>> 2, slab);
  bstatAdd(ctx, bin, BSTATS_NONFULL_SLABS, 1);
}

function nonfullRemove(ctx: HeapCtx, bin: number, slab: number): void {
  phRemove(ctx.u32, (bin + BIN_NONFULL_ROOT_B) >>> 2, slab);
  bstatAdd(ctx, bin, BSTATS_NONFULL_SLABS, -1);
}

function nonfullTryget(ctx: HeapCtx, bin: number): number {
  const slab = phRemoveFirst(ctx.u32, (bin + BIN_NONFULL_ROOT_B) >>> 2);
  if (slab !== 0) {
    bstatAdd(ctx, bin, BSTATS_NRESLABS, 1);
    bstatAdd(ctx, bin, BSTATS_NONFULL_SLABS, -1);
  }
  return slab;
}

function fullInsert(ctx: HeapCtx, arena: number, bin: number, slab: number): void {
  if (arenaIsAuto(ctx, arena)) return;
  const u32 = ctx.u32;
  const tail = u32[(bin + BIN_FULL_TAIL_B) >>> 2]!;
  u32[(slab >>> 2) + EDATA_W_LIST_PREV] = tail;
  u32[(slab >>> 2) + EDATA_W_LIST_NEXT] = 0;
  if (tail === 0) u32[(bin + BIN_FULL_HEAD_B) >>> 2] = slab;
  else u32[(tail >>> 2) + EDATA_W_LIST_NEXT] = slab;
  u32[(bin + BIN_FULL_TAIL_B) >>> 2] = slab;
}

function fullRemove(ctx: HeapCtx, arena: number, bin: number, slab: number): void {
  if (arenaIsAuto(ctx, arena)) return;
  const u32 = ctx.u32;
  const prev = u32[(slab >>> 2) + EDATA_W_LIST_PREV]!;
  const next = u32[(slab >>> 2) + EDATA_W_LIST_NEXT]!;
  if (prev === 0) u32[(bin + BIN_FULL_HEAD_B) >>> 2] = next;
  else u32[(prev >>> 2) + EDATA_W_LIST_NEXT] = next;
  if (next === 0) u32[(bin + BIN_FULL_TAIL_B) >>> 2] = prev;
  else u32[(next >>> 2) + EDATA_W_LIST_PREV] = prev;
  u32[(slab >>> 2) + EDATA_W_LIST_PREV] = 0;
  u32[(slab >>> 2) + EDATA_W_LIST_NEXT] = 0;
}

export function binFullFirst(ctx: HeapCtx, bin: number): number {
  return ctx.u32[(bin + BIN_FULL_HEAD_B) >>> 2]!;
}

// ---- allocation ---------------------------------------------------------------------------------

/** arena_slab_alloc: a fresh slab from the page allocator (no bin lock held). 0 on OOM. */
export function slabAlloc(ctx: HeapCtx, arena: number, binind: number, shard: number): number {
  const sc = ctx.sc;
  const slab = paAlloc(ctx, arena, sc.binSlabSize[binind]!, ctx.page, true, binind, false);
  if (slab === 0) return 0;
  edataBinshardSet(ctx.u32, slab, shard);
  slabBitmapInit(ctx.u32, slab, sc.binNregs[binind]!);
  // Debug: free regions start as free junk, so use-after-free checks can verify every free region.
  if (ctx.debug && ctx.opt.junkFree) ctx.u8.fill(0x5a, edataBase(ctx.u32, slab), edataPast(ctx.u32, slab));
  slabMarkInFlight(ctx.u32, slab, ctx.ownerTag);
  if (ctx.failpoint !== null) ctx.failpoint("slab.fresh");
  return slab;
}

/** Refills slabcur from the non-full heap; false if that is empty. Bin lock held. */
export function binRefillSlabcur(ctx: HeapCtx, arena: number, bin: number): boolean {
  const u32 = ctx.u32;
  const cur = u32[(bin + BIN_SLABCUR_B) >>> 2]!;
  if (cur !== 0) fullInsert(ctx, arena, bin, cur);
  const next = nonfullTryget(ctx, bin);
  u32[(bin + BIN_SLABCUR_B) >>> 2] = next;
  return next !== 0;
}

/** One region from slabcur or a non-full slab, or 0. Bin lock held. */
export function binMallocNoFreshSlab(ctx: HeapCtx, arena: number, bin: number, binind: number): number {
  const u32 = ctx.u32;
  let cur = u32[(bin + BIN_SLABCUR_B) >>> 2]!;
  if (cur === 0 || edataNfree(u32, cur) === 0) {
    if (!binRefillSlabcur(ctx, arena, bin)) return 0;
    cur = u32[(bin + BIN_SLABCUR_B) >>> 2]!;
  }
  return (
    edataAddr(u32, cur) + slabRegAllocIndex(u32, cur, ctx.sc.binNregs[binind]!) * ctx.sc.binRegSize[binind]!
  );
}

/** Installs a fresh slab as slabcur (slabcur and the heap are empty). Bin lock held. */
export function binInstallFreshSlab(ctx: HeapCtx, bin: number, slab: number): void {
  slabUnmarkInFlight(ctx.u32, slab);
  ctx.u32[(bin + BIN_SLABCUR_B) >>> 2] = slab;
  bstatAdd(ctx, bin, BSTATS_NSLABS, 1);
  bstatAdd(ctx, bin, BSTATS_CURSLABS, 1);
}

/** arena_malloc_small without a thread cache. Returns 0 on OOM. */
export function arenaMallocSmall(ctx: HeapCtx, arena: number, binind: number, shard: number): number {
  const bin = binRecord(ctx, arena, binind, shard);
  binLock(ctx, bin);
  if (ctx.failpoint !== null) ctx.failpoint("bin.locked");
  let fresh = 0;
  let ret = binMallocNoFreshSlab(ctx, arena, bin, binind);
  if (ret === 0) {
    binUnlock(ctx, bin);
    fresh = slabAlloc(ctx, arena, binind, shard);
    binLock(ctx, bin);
    ret = binMallocNoFreshSlab(ctx, arena, bin, binind);
    if (ret === 0) {
      if (fresh === 0) {
        binUnlock(ctx, bin);
        return 0;
      }
      binInstallFreshSlab(ctx, bin, fresh);
      ret = binMallocNoFreshSlab(ctx, arena, bin, binind);
      fresh = 0;
    }
  }
  bstatAdd(ctx, bin, BSTATS_NMALLOC, 1);
  bstatAdd(ctx, bin, BSTATS_NREQUESTS, 1);
  bstatAdd(ctx, bin, BSTATS_CURREGS, 1);
  binUnlock(ctx, bin);
  if (fresh !== 0) arenaExtentDalloc(ctx, arena, fresh);
  return ret;
}

// ---- deallocation -------------------------------------------------------------------------------

/** arena_bin_lower_slab: keep slabcur the oldest/lowest non-full slab. Bin lock held. */
function lowerSlab(ctx: HeapCtx, arena: number, bin: number, slab: number): void {
  const u32 = ctx.u32;
  const cur = u32[(bin + BIN_SLABCUR_B) >>> 2]!;
  if (cur !== 0 && edataSnadComp(u32, cur, slab) > 0) {
    if (edataNfree(u32, cur) > 0) nonfullInsert(ctx, bin, cur);
    else fullInsert(ctx, arena, bin, cur);
    u32[(bin + BIN_SLABCUR_B) >>> 2] = slab;
    bstatAdd(ctx, bin, BSTATS_NRESLABS, 1);
  } else {
    nonfullInsert(ctx, bin, slab);
  }
}

/** Detaches an empty slab from the bin (arena_dissociate_bin_slab + slab_prepare). Bin lock held. */
function dissociateSlab(ctx: HeapCtx, arena: number, bin: number, slab: number, binind: number): void {
  const u32 = ctx.u32;
  if (u32[(bin + BIN_SLABCUR_B) >>> 2] === slab) {
    u32[(bin + BIN_SLABCUR_B) >>> 2] = 0;
  } else if (ctx.sc.binNregs[binind] === 1) {
    fullRemove(ctx, arena, bin, slab);
  } else {
    nonfullRemove(ctx, bin, slab);
  }
  bstatAdd(ctx, bin, BSTATS_CURSLABS, -1);
  slabMarkInFlight(ctx.u32, slab, ctx.ownerTag); // the caller gives it back after unlocking
}

/**
 * arena_dalloc_bin_locked_step: frees region `regind` of `slab`. Returns true when the slab became
 * empty (the caller gives it back to the page allocator after unlocking). Bin lock held; the caller
 * verified the region is allocated. Counts ndalloc/curregs itself.
 */
export function binDallocLocked(
  ctx: HeapCtx,
  arena: number,
  bin: number,
  binind: number,
  slab: number,
  regind: number,
): boolean {
  const emptied = binDallocLockedUncounted(ctx, arena, bin, binind, slab, regind);
  bstatAdd(ctx, bin, BSTATS_NDALLOC, 1);
  bstatAdd(ctx, bin, BSTATS_CURREGS, -1);
  return emptied;
}

/**
 * binDallocLocked without the ndalloc/curregs counters: a flush counts its pass at once, before it
 * unlocks (bin repair recounts them after a thread died in between).
 */
export function binDallocLockedUncounted(
  ctx: HeapCtx,
  arena: number,
  bin: number,
  binind: number,
  slab: number,
  regind: number,
): boolean {
  const u32 = ctx.u32;
  const nregs = ctx.sc.binNregs[binind]!;
  // Debug tier: the record is checked before and after every region change.
  if (ctx.debug) slabAssertConsistent(u32, slab, binind, nregs);
  regFree(u32, slab, regind);
  if (ctx.debug) slabAssertConsistent(u32, slab, binind, nregs);
  const nfree = u32[(slab >>> 2) + W_NFREE]!;
  if (nfree === nregs) {
    dissociateSlab(ctx, arena, bin, slab, binind);
    return true;
  }
  if (nfree === 1 && slab !== u32[(bin + SLABCUR_B) >>> 2]) {
    fullRemove(ctx, arena, bin, slab);
    lowerSlab(ctx, arena, bin, slab);
  }
  return false;
}
