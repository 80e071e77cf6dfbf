/**
 * ecache: allocating extents from an arena's extent caches and growing its address space —
 * jemalloc's ecache_alloc / ecache_alloc_grow / ecache_dalloc / ecache_evict and their extent.c
 * helpers, rule for rule:
 *   recycle    fit in one ecache (eset_fit), split off lead and trail, which go back unmerged
 *   grow       retained growth in page classes starting at HUGEPAGE (exp_grow); the new mapping's
 *              unused lead and trail go to the retained cache
 * Every function here runs with the arena's extent lock held (PAC_LOCK_B); `pac` is the arena
 * record's offset. Split results that jemalloc returns through out-parameters sit in module-level
 * registers so nothing allocates. Records, splits, merges and coalescing are extent.ts.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { alignUp, f64AddB } from "../layout/index.js";
import {
  EDATA_BITS_ZEROED_MASK,
  EDATA_W_ADDR,
  EDATA_W_BASE,
  EDATA_W_BITS,
  EDATA_W_SIZE,
  EXTENT_STATE_ACTIVE,
  EXTENT_STATE_RETAINED,
  edataArena,
  edataBase,
  edataInit,
  edataSize,
  edataStateSet,
  edataZeroed,
} from "./edata.js";
import { ehooksAlloc, ehooksPurgeForced, ehooksZero } from "./ehooks.js";
import { emapDeregister, emapRegister } from "./emap.js";
import { esetDelayCoalesce, esetFit, esetLruFirst, esetNpages, esetRemove, esetState } from "./eset.js";
import {
  acquireNeighbor,
  coalesced,
  deactivate,
  edataCacheGet,
  edataCachePut,
  extentRecord,
  extentSplit,
  extentTryCoalesce,
  pacArenaInd,
  pacEcacheRetained,
  snNext,
  splitHookRefused,
} from "./extent.js";
import { INTENT_REGISTER, intentClear, intentSet } from "./intent.js";
import { PAC_ABANDONED_VM_B, PAC_EXP_GROW_LIMIT_B, PAC_EXP_GROW_NEXT_B } from "./pac_layout.js";
import { pagesAbandonTop } from "./pages.js";

// ---- allocation from caches ---------------------------------------------------------------------

const SPLIT_OK = 0;
const SPLIT_CANT = 1;
const SPLIT_ERROR = 2;
let splitLead = 0;
let splitE = 0;
let splitTrail = 0;
let splitToLeak = 0;
let splitToSalvage = 0;

function extentSplitInterior(ctx: HeapCtx, pac: number, e: number, size: number, alignment: number): number {
  // A base is page-aligned: below page alignment there is no lead (the general case is out of line).
  if (alignment > ctx.page) return extentSplitAligned(ctx, pac, e, size, alignment);
  const esize = ctx.u32[(e >>> 2) + EDATA_W_SIZE]!;
  if (esize < size) return SPLIT_CANT;
  splitLead = 0;
  splitTrail = 0;
  splitToLeak = 0;
  splitToSalvage = 0;
  splitE = e;
  if (esize !== size) {
    splitTrail = extentSplit(ctx, pac, e, size, esize - size);
    if (splitTrail === 0) {
      splitToLeak = e;
      splitE = 0;
      return SPLIT_ERROR;
    }
  }
  return SPLIT_OK;
}

/** extentSplitInterior for an alignment above the page: a lead may be split off first. */
function extentSplitAligned(ctx: HeapCtx, pac: number, e: number, size: number, alignment: number): number {
  const u32 = ctx.u32;
  const base = edataBase(u32, e);
  const leadsize = alignUp(base, alignUp(alignment, ctx.page)) - base;
  const esize = edataSize(u32, e);
  if (esize < leadsize + size) return SPLIT_CANT;
  const trailsize = esize - leadsize - size;
  splitLead = 0;
  splitTrail = 0;
  splitToLeak = 0;
  splitToSalvage = 0;
  splitE = e;
  if (leadsize !== 0) {
    splitLead = e;
    splitE = extentSplit(ctx, pac, splitLead, leadsize, size + trailsize);
    if (splitE === 0) {
      splitToLeak = splitLead;
      splitLead = 0;
      return SPLIT_ERROR;
    }
  }
  if (trailsize !== 0) {
    splitTrail = extentSplit(ctx, pac, splitE, size, trailsize);
    if (splitTrail === 0) {
      splitToLeak = splitE;
      splitToSalvage = splitLead;
      splitLead = 0;
      splitE = 0;
      return SPLIT_ERROR;
    }
  }
  return SPLIT_OK;
}

/** An extent that could not be split is leaked after purging (only on metadata exhaustion). */
function abandon(ctx: HeapCtx, pac: number, ec: number, e: number): void {
  const size = edataSize(ctx.u32, e);
  f64AddB(ctx.f64, pac + PAC_ABANDONED_VM_B, size);
  if (esetState(ctx, ec) !== EXTENT_STATE_RETAINED) {
    ehooksPurgeForced(ctx, edataArena(ctx.u32, e), edataBase(ctx.u32, e), size);
  }
  const base = edataBase(ctx.u32, e);
  emapDeregister(ctx, e);
  edataCachePut(ctx, pac, e);
  pagesAbandonTop(ctx, base, base + size);
}

function extentRecycleExtract(
  ctx: HeapCtx,
  pac: number,
  ec: number,
  expandE: number,
  size: number,
  alignment: number,
  anyFit: boolean,
): number {
  if (expandE !== 0) return extentRecycleExtractExpand(ctx, pac, ec, expandE, size);
  const lgMaxFit = esetDelayCoalesce(ctx, ec) && !anyFit ? ctx.opt.lgExtentMaxActiveFit : 64;
  const e = esetFit(ctx, ec, size, alignment, false, lgMaxFit);
  if (e === 0) return 0;
  // A member of the set is in the set's state already: removed, then active (extent_activate_locked).
  esetRemove(ctx, ec, e);
  edataStateSet(ctx.u32, e, EXTENT_STATE_ACTIVE);
  return e;
}

/** extentRecycleExtract for an in-place expansion: the free neighbour just above `expandE`. */
function extentRecycleExtractExpand(
  ctx: HeapCtx,
  pac: number,
  ec: number,
  expandE: number,
  size: number,
): number {
  const e = acquireNeighbor(ctx, pac, expandE, esetState(ctx, ec), true, true);
  if (e === 0) return 0;
  edataStateSet(ctx.u32, e, esetState(ctx, ec));
  if (edataSize(ctx.u32, e) < size) {
    intentClear(ctx.u32, pac);
    return 0;
  }
  esetRemove(ctx, ec, e);
  edataStateSet(ctx.u32, e, EXTENT_STATE_ACTIVE);
  intentClear(ctx.u32, pac);
  return e;
}

function extentRecycleSplit(
  ctx: HeapCtx,
  pac: number,
  ec: number,
  size: number,
  alignment: number,
  e: number,
): number {
  const r = extentSplitInterior(ctx, pac, e, size, alignment);
  if (r === SPLIT_OK) {
    const lead = splitLead;
    const trail = splitTrail;
    const mid = splitE;
    if (lead !== 0) deactivate(ctx, ec, lead);
    if (trail !== 0) deactivate(ctx, ec, trail);
    return mid;
  }
  // Out of metadata: every piece is an intact, registered free extent and goes back to the cache
  // (jemalloc leaks them). Only a piece the split hook refused to divide is abandoned, as in jemalloc.
  const leak = splitToLeak;
  const salvage = splitToSalvage;
  if (salvage !== 0) deactivate(ctx, ec, salvage);
  if (leak !== 0) {
    if (splitHookRefused) abandon(ctx, pac, ec, leak);
    else deactivate(ctx, ec, leak);
  }
  return 0;
}

/** extent_recycle: one ecache. */
function extentRecycle(
  ctx: HeapCtx,
  pac: number,
  ec: number,
  expandE: number,
  size: number,
  alignment: number,
  zero: boolean,
  anyFit: boolean,
): number {
  let e = extentRecycleExtract(ctx, pac, ec, expandE, size, alignment, anyFit);
  if (e === 0) return 0;
  e = extentRecycleSplit(ctx, pac, ec, size, alignment, e);
  if (e === 0) return 0;
  if (zero && !edataZeroed(ctx.u32, e)) ehooksZero(ctx, edataBase(ctx.u32, e), edataSize(ctx.u32, e));
  return e;
}

export function ecacheAlloc(
  ctx: HeapCtx,
  pac: number,
  ec: number,
  expandE: number,
  size: number,
  alignment: number,
  zero: boolean,
): number {
  return extentRecycle(ctx, pac, ec, expandE, size, alignment, zero, false);
}

/**
 * ecacheAlloc without lg_extent_max_active_fit: any cached extent large enough may be split. jemalloc
 * leaves extents over 2^lg_extent_max_active_fit times the request to coalesce and decay, and maps
 * fresh space instead; a bounded buffer whose top has reached its maximum has no fresh space, so its
 * cached memory is the last resort rather than a refused allocation.
 */
export function ecacheAllocAnyFit(
  ctx: HeapCtx,
  pac: number,
  ec: number,
  size: number,
  alignment: number,
  zero: boolean,
): number {
  return extentRecycle(ctx, pac, ec, 0, size, alignment, zero, true);
}

/** Enters a fresh mapping's record in the page map, under an intent (one end alone is unsound). */
function registerFresh(ctx: HeapCtx, pac: number, e: number): boolean {
  intentSet(ctx.u32, pac, INTENT_REGISTER, e, 0, 0, 0, 0);
  const ok = emapRegister(ctx, e);
  intentClear(ctx.u32, pac);
  return ok;
}

/** exp_grow_size_prepare + the mapping; returns the new extent (active, registered) or 0. */
function extentGrowRetained(
  ctx: HeapCtx,
  pac: number,
  size: number,
  alignment: number,
  zero: boolean,
): number {
  const u32 = ctx.u32;
  const sc = ctx.sc;
  const allocSizeMin = size + alignUp(alignment, ctx.page) - ctx.page;
  const next = u32[(pac + PAC_EXP_GROW_NEXT_B) >>> 2]!;
  const limit = u32[(pac + PAC_EXP_GROW_LIMIT_B) >>> 2]!;
  let skip = 0;
  let allocSize = sc.pind2sz(next);
  while (allocSize < allocSizeMin) {
    skip++;
    if (next + skip >= sc.npsizes) return 0;
    allocSize = sc.pind2sz(next + skip);
  }
  const arena = pacArenaInd(ctx, pac);
  const e = edataCacheGet(ctx, pac);
  if (e === 0) return 0;
  let addr = allocSize < 2 ** 32 ? ehooksAlloc(ctx, arena, allocSize, ctx.page) : 0;
  let faithful = true;
  if (addr === 0) {
    // The series' next step does not fit the buffer's maximum: map only what the request needs and
    // leave the series where it is (jemalloc would fail here; a bounded buffer should not).
    allocSize = alignUp(allocSizeMin, ctx.page);
    addr = ehooksAlloc(ctx, arena, allocSize, ctx.page);
    faithful = false;
    if (addr === 0) {
      edataCachePut(ctx, pac, e);
      return 0;
    }
  }
  edataInit(
    u32,
    e,
    arena,
    addr,
    allocSize,
    false,
    sc.nsizes,
    snNext(ctx, pac),
    EXTENT_STATE_ACTIVE,
    true,
    true,
    true,
  );
  if (!registerFresh(ctx, pac, e)) {
    edataCachePut(ctx, pac, e);
    return 0;
  }
  const r = extentSplitInterior(ctx, pac, e, size, alignment);
  const retained = pacEcacheRetained(ctx, pac);
  if (r !== SPLIT_OK) {
    const leak = splitToLeak;
    const salvage = splitToSalvage;
    if (salvage !== 0) extentRecord(ctx, pac, retained, salvage);
    if (leak !== 0) {
      if (splitHookRefused) abandon(ctx, pac, retained, leak);
      else extentRecord(ctx, pac, retained, leak);
    }
    return 0;
  }
  const lead = splitLead;
  const trail = splitTrail;
  const mid = splitE;
  if (lead !== 0) extentRecord(ctx, pac, retained, lead);
  if (trail !== 0) extentRecord(ctx, pac, retained, trail);
  if (faithful) u32[(pac + PAC_EXP_GROW_NEXT_B) >>> 2] = next + skip + 1 <= limit ? next + skip + 1 : limit;
  if (zero && !edataZeroed(u32, mid)) ehooksZero(ctx, edataBase(u32, mid), edataSize(u32, mid));
  return mid;
}

/** extent_alloc_wrapper: a fresh mapping of exactly `size` (used when retain is off). */
function extentAllocWrapper(ctx: HeapCtx, pac: number, size: number, alignment: number): number {
  const arena = pacArenaInd(ctx, pac);
  const e = edataCacheGet(ctx, pac);
  if (e === 0) return 0;
  const addr = ehooksAlloc(ctx, arena, size, alignUp(alignment, ctx.page));
  if (addr === 0 || addr % alignUp(alignment, ctx.page) !== 0) {
    edataCachePut(ctx, pac, e);
    return 0;
  }
  edataInit(
    ctx.u32,
    e,
    arena,
    addr,
    size,
    false,
    ctx.sc.nsizes,
    snNext(ctx, pac),
    EXTENT_STATE_ACTIVE,
    true,
    true,
    ctx.opt.retain,
  );
  if (!registerFresh(ctx, pac, e)) {
    edataCachePut(ctx, pac, e);
    return 0;
  }
  return e;
}

/** ecache_alloc_grow on the retained cache: recycle, else grow (retain) or map (no retain). */
export function ecacheAllocGrow(
  ctx: HeapCtx,
  pac: number,
  expandE: number,
  size: number,
  alignment: number,
  zero: boolean,
): number {
  const retained = pacEcacheRetained(ctx, pac);
  let e = extentRecycle(ctx, pac, retained, expandE, size, alignment, zero, false);
  if (e === 0 && ctx.opt.retain && expandE === 0) e = extentGrowRetained(ctx, pac, size, alignment, zero);
  if (e === 0) {
    if (ctx.opt.retain && expandE !== 0) return 0;
    if (expandE !== 0) return 0;
    e = extentAllocWrapper(ctx, pac, size, alignment);
  }
  return e;
}

/** ecache_dalloc: a freed extent goes back to a cache (dirty, usually). */
export function ecacheDalloc(ctx: HeapCtx, pac: number, ec: number, e: number): void {
  const u32 = ctx.u32;
  const we = e >>> 2;
  u32[we + EDATA_W_ADDR] = u32[we + EDATA_W_BASE]!;
  u32[we + EDATA_W_BITS] = u32[we + EDATA_W_BITS]! & ~EDATA_BITS_ZEROED_MASK;
  extentRecord(ctx, pac, ec, e);
}

/**
 * ecache_evict: takes the least recently used extent out of `ec` while it holds more than
 * `npagesMin` pages (coalescing delayed extents first). Returns it active, or 0.
 */
export function ecacheEvict(ctx: HeapCtx, pac: number, ec: number, npagesMin: number): number {
  let guard = 0;
  for (;;) {
    if (++guard > 10_000_000) throw new Error("ecache eviction did not terminate: LRU list is corrupt");
    let e = esetLruFirst(ctx, ec);
    if (e === 0) return 0;
    if (esetNpages(ctx, ec) <= npagesMin) return 0;
    esetRemove(ctx, ec, e);
    if (!esetDelayCoalesce(ctx, ec)) {
      edataStateSet(ctx.u32, e, EXTENT_STATE_ACTIVE);
      if (esetState(ctx, ec) === EXTENT_STATE_RETAINED) emapDeregister(ctx, e);
      return e;
    }
    edataStateSet(ctx.u32, e, EXTENT_STATE_ACTIVE);
    e = extentTryCoalesce(ctx, pac, ec, e);
    if (!coalesced) {
      edataStateSet(ctx.u32, e, EXTENT_STATE_ACTIVE);
      return e;
    }
    deactivate(ctx, ec, e);
  }
}
