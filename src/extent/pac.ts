/**
 * pac: the page allocator of one arena (jemalloc's pa.c + pac.c): extents for slabs and large
 * allocations from the dirty, then muzzy, then retained caches, then new address space; frees into
 * the dirty cache; in-place growth and shrinking of large extents; and decay — evicting the least
 * recently used free extents down to the curve's limit (dirty → muzzy by a lazy purge when muzzy decay
 * is on, else → retained by a forced purge).
 *
 * Locking: the public functions take the arena's extent lock (PAC_LOCK_B) themselves; the caller holds
 * no bin lock (bins rank before extents, and jemalloc drops the bin lock before calling the PAC too).
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { decayInit } from "../decay/index.js";
import { f64AddB } from "../layout/index.js";
import { lockInit } from "../sync/index.js";
import { ecacheAlloc, ecacheAllocGrow, ecacheDalloc } from "./ecache.js";
import {
  EDATA_BITS_SLAB_MASK,
  EDATA_W_ADDR,
  EDATA_W_BASE,
  EDATA_W_BITS,
  EDATA_W_SIZE,
  EDATA_W_SZIND,
  EXTENT_STATE_DIRTY,
  EXTENT_STATE_MUZZY,
  EXTENT_STATE_RETAINED,
  edataMarkInFlight,
  edataSlabSet,
  edataSzindSet,
} from "./edata.js";
import { emapDeregisterInterior, emapRegisterInterior } from "./emap.js";
import { esetInit } from "./eset.js";
import {
  extentDallocWrapper,
  extentMerge,
  extentSplit,
  pacDecayDirty,
  pacDecayMuzzy,
  pacEcacheDirty,
  pacEcacheMuzzy,
  pacMayHaveMuzzy,
} from "./extent.js";
import { heapLock, heapUnlock } from "./lock.js";
import { pacAllocLastResort } from "./pac_last_resort.js";
import {
  PAC_ARENA_IND_B,
  PAC_BASE_B,
  PAC_EXP_GROW_LIMIT_B,
  PAC_EXP_GROW_NEXT_B,
  PAC_LOCK_B,
  PAC_MAPPED_B,
  PAC_NACTIVE_B,
  PAC_OFFSET_STATE_B,
  PAC_OVERSIZE_THRESHOLD_B,
  PAC_SN_NEXT_B,
} from "./pac_layout.js";
import { pagesRoomFor } from "./pages.js";

/** Sets up the PAC part of a fresh (zeroed) arena record. */
export function pacInit(
  ctx: HeapCtx,
  pac: number,
  arenaInd: number,
  baseB: number,
  dirtyDecayMs: number,
  muzzyDecayMs: number,
  oversizeThreshold: number,
): void {
  const u32 = ctx.u32;
  const sc = ctx.sc;
  lockInit(ctx.i32, (pac + PAC_LOCK_B) >>> 2);
  u32[(pac + PAC_ARENA_IND_B) >>> 2] = arenaInd;
  u32[(pac + PAC_SN_NEXT_B) >>> 2] = 0;
  u32[(pac + PAC_EXP_GROW_NEXT_B) >>> 2] = sc.psz2ind(ctx.hugepage);
  u32[(pac + PAC_EXP_GROW_LIMIT_B) >>> 2] = sc.npsizes - 1;
  u32[(pac + PAC_BASE_B) >>> 2] = baseB;
  u32[(pac + PAC_OVERSIZE_THRESHOLD_B) >>> 2] = Math.min(oversizeThreshold, 2 ** 32 - 1);
  u32[(pac + PAC_OFFSET_STATE_B) >>> 2] = arenaInd;
  esetInit(ctx, pacEcacheDirty(ctx, pac), EXTENT_STATE_DIRTY, true);
  esetInit(ctx, pacEcacheMuzzy(ctx, pac), EXTENT_STATE_MUZZY, false);
  esetInit(ctx, pac + ctx.arenaLayout.ecacheRetainedB, EXTENT_STATE_RETAINED, false);
  const now = ctx.nowNs();
  decayInit(ctx, pacDecayDirty(ctx, pac), now, dirtyDecayMs, pacDecayDirty(ctx, pac));
  decayInit(ctx, pacDecayMuzzy(ctx, pac), now, muzzyDecayMs, pacDecayMuzzy(ctx, pac));
}

export function pacLock(ctx: HeapCtx, pac: number): void {
  heapLock(ctx, pac + PAC_LOCK_B);
}
export function pacUnlock(ctx: HeapCtx, pac: number): void {
  heapUnlock(ctx, pac + PAC_LOCK_B);
}

export function pacNactive(ctx: HeapCtx, pac: number): number {
  return ctx.f64[(pac + PAC_NACTIVE_B) >>> 3]!;
}
export function pacMapped(ctx: HeapCtx, pac: number): number {
  return ctx.f64[(pac + PAC_MAPPED_B) >>> 3]!;
}

/**
 * pac_alloc_real: dirty, then muzzy (if muzzy decay is on), then retained / new space — and, when the
 * top cannot hold the request (the buffer's maximum), the last resort of pac_last_resort.ts.
 */
function pacAllocReal(ctx: HeapCtx, pac: number, size: number, alignment: number, zero: boolean): number {
  let e = ecacheAlloc(ctx, pac, pacEcacheDirty(ctx, pac), 0, size, alignment, zero);
  if (e === 0 && pacMayHaveMuzzy(ctx, pac))
    e = ecacheAlloc(ctx, pac, pacEcacheMuzzy(ctx, pac), 0, size, alignment, zero);
  if (e === 0) {
    e = ecacheAllocGrow(ctx, pac, 0, size, alignment, zero);
    if (e !== 0) f64AddB(ctx.f64, pac + PAC_MAPPED_B, size);
  }
  if (e === 0 && !pagesRoomFor(ctx, size, alignment)) e = pacAllocLastResort(ctx, pac, size, alignment, zero);
  return e;
}

/**
 * pa_alloc: an active extent of `size` bytes (page multiple) aligned to `alignment`, marked as slab
 * or large of class `szind`. Returns 0 when out of memory.
 */
export function paAlloc(
  ctx: HeapCtx,
  pac: number,
  size: number,
  alignment: number,
  slab: boolean,
  szind: number,
  zero: boolean,
): number {
  pacLock(ctx, pac);
  try {
    return paAllocLocked(ctx, pac, size, alignment, slab, szind, zero);
  } finally {
    pacUnlock(ctx, pac);
  }
}

/** paAlloc with the arena's extent lock already held (the large path finishes under the same lock). */
export function paAllocLocked(
  ctx: HeapCtx,
  pac: number,
  size: number,
  alignment: number,
  slab: boolean,
  szind: number,
  zero: boolean,
): number {
  if (ctx.failpoint !== null) ctx.failpoint("extent.locked");
  const e = pacAllocReal(ctx, pac, size, alignment, zero);
  if (e === 0) return 0;
  // A slab is the caller's, outside every list, from here until its bin installs it: mark it now,
  // under this lock and before it is a slab, so a thread terminated before that leaves it
  // recoverable (heap/inflight.ts) and a bin repair never takes an unmarked fresh slab for its own.
  const u32 = ctx.u32;
  if (slab) edataMarkInFlight(u32, e, ctx.ownerTag);
  const we = e >>> 2;
  u32[we + EDATA_W_SZIND] = szind;
  u32[we + EDATA_W_BITS] = slab
    ? u32[we + EDATA_W_BITS]! | EDATA_BITS_SLAB_MASK
    : u32[we + EDATA_W_BITS]! & ~EDATA_BITS_SLAB_MASK;
  const d = (pac + PAC_NACTIVE_B) >>> 3;
  ctx.f64[d] = ctx.f64[d]! + (size >>> ctx.lgPage);
  return slab && size > 2 * ctx.page ? slabRegisterInterior(ctx, pac, e, size) : e;
}

/** A slab's interior pages into the page map (out of line: the large path never needs it). */
function slabRegisterInterior(ctx: HeapCtx, pac: number, e: number, size: number): number {
  if (emapRegisterInterior(ctx, e)) return e;
  // No page-map leaf for the interior (OOM): the extent goes back as paDalloc would return it.
  edataSlabSet(ctx.u32, e, false);
  edataSzindSet(ctx.u32, e, ctx.sc.nsizes);
  f64AddB(ctx.f64, pac + PAC_NACTIVE_B, -(size >>> ctx.lgPage));
  ecacheDalloc(ctx, pac, pacEcacheDirty(ctx, pac), e);
  return 0;
}

/**
 * pa_dalloc: back to the dirty cache. This always generates deferred work (pages to decay): the caller
 * (the arena) then runs arenaHandleDeferredWork, as jemalloc's arena_handle_deferred_work.
 */
export function paDalloc(ctx: HeapCtx, pac: number, e: number): void {
  pacLock(ctx, pac);
  try {
    paDallocLocked(ctx, pac, e);
  } finally {
    pacUnlock(ctx, pac);
  }
}

/** paDalloc with the arena's extent lock already held (the large free claims and frees in one section). */
export function paDallocLocked(ctx: HeapCtx, pac: number, e: number): void {
  const u32 = ctx.u32;
  const we = e >>> 2;
  if ((u32[we + EDATA_W_BITS]! & EDATA_BITS_SLAB_MASK) !== 0) {
    emapDeregisterInterior(ctx, e);
    edataSlabSet(u32, e, false);
  }
  u32[we + EDATA_W_ADDR] = u32[we + EDATA_W_BASE]!;
  u32[we + EDATA_W_SZIND] = ctx.sc.nsizes;
  // Sizes are page multiples below 2^32: a shift, not a division.
  const d = (pac + PAC_NACTIVE_B) >>> 3;
  ctx.f64[d] = ctx.f64[d]! - (u32[we + EDATA_W_SIZE]! >>> ctx.lgPage);
  if (ctx.failpoint !== null) ctx.failpoint("extent.dalloc.mid");
  ecacheDalloc(ctx, pac, pacEcacheDirty(ctx, pac), e);
}

/** pa_expand: grow a large extent in place into the free pages right above it. True on failure. */
export function paExpand(
  ctx: HeapCtx,
  pac: number,
  e: number,
  oldSize: number,
  newSize: number,
  szind: number,
  zero: boolean,
): boolean {
  pacLock(ctx, pac);
  try {
    const amount = newSize - oldSize;
    let mappedAdd = 0;
    let trail = ecacheAlloc(ctx, pac, pacEcacheDirty(ctx, pac), e, amount, ctx.page, zero);
    if (trail === 0) trail = ecacheAlloc(ctx, pac, pacEcacheMuzzy(ctx, pac), e, amount, ctx.page, zero);
    if (trail === 0) {
      trail = ecacheAllocGrow(ctx, pac, e, amount, ctx.page, zero);
      mappedAdd = amount;
    }
    if (trail === 0) return true;
    if (extentMerge(ctx, pac, e, trail)) {
      extentDallocWrapper(ctx, pac, trail);
      return true;
    }
    if (mappedAdd > 0) f64AddB(ctx.f64, pac + PAC_MAPPED_B, mappedAdd);
    f64AddB(ctx.f64, pac + PAC_NACTIVE_B, amount / ctx.page);
    edataSzindSet(ctx.u32, e, szind);
    return false;
  } finally {
    pacUnlock(ctx, pac);
  }
}

/** pa_shrink: split the tail of a large extent off into the dirty cache (deferred work: see paDalloc). True on failure. */
export function paShrink(
  ctx: HeapCtx,
  pac: number,
  e: number,
  oldSize: number,
  newSize: number,
  szind: number,
): boolean {
  pacLock(ctx, pac);
  try {
    const amount = oldSize - newSize;
    const trail = extentSplit(ctx, pac, e, newSize, amount);
    if (trail === 0) return true;
    ecacheDalloc(ctx, pac, pacEcacheDirty(ctx, pac), trail);
    f64AddB(ctx.f64, pac + PAC_NACTIVE_B, -amount / ctx.page);
    edataSzindSet(ctx.u32, e, szind);
  } finally {
    pacUnlock(ctx, pac);
  }
  return false;
}
