/**
 * extent: allocating extents from an arena's caches, splitting and coalescing them, growing the
 * address space, and recording freed extents — jemalloc's extent.c, rule for rule:
 *   recycle    fit in one ecache (eset_fit), split off lead and trail, which go back unmerged
 *   record     coalesce: retained/muzzy at once and fully; dirty only for extents ≥ LARGE_MINCLASS
 *              (smaller ones wait for eviction), and a dirty result ≥ oversize_threshold is purged to
 *              retained at once unless a decay time is −1
 *   grow       retained growth in page classes starting at HUGEPAGE (exp_grow); the new mapping's
 *              unused lead and trail go to the retained cache
 *   merges     never across a mapping's head (is_head), never across arenas or commit states
 * Every function here runs with the arena's extent lock held (PAC_LOCK_B); `pac` is the arena
 * record's offset. Results that jemalloc returns through out-parameters are returned in module-level
 * registers (splitLead / splitTrail / coalesced) so nothing allocates.
 */

import { DECAY_B_NMADVISE, DECAY_B_PURGED_PAGES, decayMsRead } from "../decay/index.js";
import { alignUp, f64AddB } from "../layout/index.js";
import { baseAlloc } from "./base.js";
import type { HeapCtx } from "../ctx/ctx.js";
import {
  EDATA_W_LIST_NEXT,
  EXTENT_STATE_ACTIVE,
  EXTENT_STATE_CACHED,
  EXTENT_STATE_MERGING,
  EXTENT_STATE_MUZZY,
  EXTENT_STATE_RETAINED,
  edataAddrSet,
  edataArena,
  edataBase,
  edataCommitted,
  edataCommittedSet,
  edataHead,
  edataInit,
  edataIsRecord,
  edataPast,
  edataSize,
  edataSizeSet,
  edataSn,
  edataSnSet,
  edataState,
  edataStateSet,
  edataZeroed,
  edataZeroedSet,
} from "./edata.js";
import {
  ehooksAlloc,
  ehooksDalloc,
  ehooksDecommit,
  ehooksMerge,
  ehooksPurgeForced,
  ehooksPurgeLazy,
  ehooksSplit,
  ehooksZero,
} from "./ehooks.js";
import { emapDeregister, emapPrepare, emapRead, emapRegister } from "./emap.js";
import {
  esetDelayCoalesce,
  esetFit,
  esetInsert,
  esetLruFirst,
  esetNpages,
  esetRemove,
  esetState,
} from "./eset.js";
import {
  PAC_ABANDONED_VM_B,
  PAC_ARENA_IND_B,
  PAC_BASE_B,
  PAC_EDATA_AVAIL_COUNT_B,
  PAC_EDATA_AVAIL_HEAD_B,
  PAC_EXP_GROW_LIMIT_B,
  PAC_EXP_GROW_NEXT_B,
  PAC_MAPPED_B,
  PAC_OVERSIZE_THRESHOLD_B,
  PAC_SN_NEXT_B,
} from "./pac_layout.js";
import { pagesAbandonTop } from "./pages.js";

// ---- small accessors ---------------------------------------------------------------------------

export function pacArenaInd(ctx: HeapCtx, pac: number): number {
  return ctx.u32[(pac + PAC_ARENA_IND_B) >>> 2]!;
}
export function pacEcacheDirty(ctx: HeapCtx, pac: number): number {
  return pac + ctx.arenaLayout.ecacheDirtyB;
}
export function pacEcacheMuzzy(ctx: HeapCtx, pac: number): number {
  return pac + ctx.arenaLayout.ecacheMuzzyB;
}
export function pacEcacheRetained(ctx: HeapCtx, pac: number): number {
  return pac + ctx.arenaLayout.ecacheRetainedB;
}
export function pacDecayDirty(ctx: HeapCtx, pac: number): number {
  return pac + ctx.arenaLayout.decayDirtyB;
}
export function pacDecayMuzzy(ctx: HeapCtx, pac: number): number {
  return pac + ctx.arenaLayout.decayMuzzyB;
}
function snNext(ctx: HeapCtx, pac: number): number {
  const w = (pac + PAC_SN_NEXT_B) >>> 2;
  const sn = ctx.u32[w]!;
  ctx.u32[w] = sn + 1;
  return sn;
}

/** pac_decay_ms_get(pac, muzzy) != 0 */
export function pacMayHaveMuzzy(ctx: HeapCtx, pac: number): boolean {
  return decayMsRead(ctx, pacDecayMuzzy(ctx, pac)) !== 0;
}
/** extent_may_force_decay: neither decay time is −1. */
function mayForceDecay(ctx: HeapCtx, pac: number): boolean {
  return !(
    decayMsRead(ctx, pacDecayDirty(ctx, pac)) === -1 || decayMsRead(ctx, pacDecayMuzzy(ctx, pac)) === -1
  );
}

// ---- edata cache (extent_avail) -------------------------------------------------------------------

export function edataCacheGet(ctx: HeapCtx, pac: number): number {
  const u32 = ctx.u32;
  const head = u32[(pac + PAC_EDATA_AVAIL_HEAD_B) >>> 2]!;
  if (head !== 0) {
    u32[(pac + PAC_EDATA_AVAIL_HEAD_B) >>> 2] = u32[(head >>> 2) + EDATA_W_LIST_NEXT]!;
    u32[(pac + PAC_EDATA_AVAIL_COUNT_B) >>> 2] = u32[(pac + PAC_EDATA_AVAIL_COUNT_B) >>> 2]! - 1;
    return head;
  }
  const e = baseAlloc(ctx, u32[(pac + PAC_BASE_B) >>> 2]!, ctx.edataBytes, 64);
  if (e !== 0)
    edataInit(u32, e, pacArenaInd(ctx, pac), 0, 0, false, 0, 0, EXTENT_STATE_CACHED, false, false, false);
  return e;
}

export function edataCachePut(ctx: HeapCtx, pac: number, e: number): void {
  const u32 = ctx.u32;
  edataStateSet(u32, e, EXTENT_STATE_CACHED);
  u32[(e >>> 2) + EDATA_W_LIST_NEXT] = u32[(pac + PAC_EDATA_AVAIL_HEAD_B) >>> 2]!;
  u32[(pac + PAC_EDATA_AVAIL_HEAD_B) >>> 2] = e;
  u32[(pac + PAC_EDATA_AVAIL_COUNT_B) >>> 2] = u32[(pac + PAC_EDATA_AVAIL_COUNT_B) >>> 2]! + 1;
}

// ---- split and merge ----------------------------------------------------------------------------

/** Whether the last failed extentSplit failed because the split hook refused (else: no metadata). */
export let splitHookRefused = false;

/**
 * Splits `e` into [sizeA | sizeB]; `e` keeps the lead. Returns the trail, or 0 on failure with `e`
 * unchanged. As in jemalloc, the trail's record and the page-map leaves are had before the split hook
 * runs, so nothing can fail after it.
 */
export function extentSplit(ctx: HeapCtx, pac: number, e: number, sizeA: number, sizeB: number): number {
  const u32 = ctx.u32;
  const arena = edataArena(u32, e);
  const base = edataBase(u32, e);
  splitHookRefused = false;
  const trail = edataCacheGet(ctx, pac);
  if (trail === 0) return 0;
  if (!emapPrepare(ctx, base + sizeA - ctx.page, 2 * ctx.page)) {
    edataCachePut(ctx, pac, trail);
    return 0;
  }
  if (ehooksSplit(ctx, arena, base, sizeA + sizeB, sizeA, sizeB, edataCommitted(u32, e))) {
    edataCachePut(ctx, pac, trail);
    splitHookRefused = true;
    return 0;
  }
  edataInit(
    u32,
    trail,
    arena,
    base + sizeA,
    sizeB,
    false,
    ctx.sc.nsizes,
    edataSn(u32, e),
    edataState(u32, e),
    edataZeroed(u32, e),
    edataCommitted(u32, e),
    false,
  );
  edataSizeSet(u32, e, sizeA);
  if (!emapRegister(ctx, trail) || !emapRegister(ctx, e)) {
    edataSizeSet(u32, e, sizeA + sizeB);
    emapRegister(ctx, e);
    edataCachePut(ctx, pac, trail);
    return 0;
  }
  return trail;
}

/** Merges `b` (just above `a`) into `a`. True on failure (the merge hook refused). */
export function extentMerge(ctx: HeapCtx, pac: number, a: number, b: number): boolean {
  const u32 = ctx.u32;
  const arena = edataArena(u32, a);
  if (
    ehooksMerge(
      ctx,
      arena,
      edataBase(u32, a),
      edataSize(u32, a),
      edataBase(u32, b),
      edataSize(u32, b),
      edataCommitted(u32, a),
    )
  ) {
    return true;
  }
  emapDeregister(ctx, b);
  edataStateSet(u32, a, EXTENT_STATE_ACTIVE);
  edataSizeSet(u32, a, edataSize(u32, a) + edataSize(u32, b));
  const snA = edataSn(u32, a);
  const snB = edataSn(u32, b);
  edataSnSet(u32, a, snA < snB ? snA : snB);
  edataZeroedSet(u32, a, edataZeroed(u32, a) && edataZeroed(u32, b));
  emapRegister(ctx, a);
  edataCachePut(ctx, pac, b);
  return false;
}

// ---- neighbours and coalescing ------------------------------------------------------------------

/**
 * emap_try_acquire_edata_neighbor: the free neighbour of `e` in `expectedState`, or 0. It must be a
 * real record covering exactly the adjacent pages, of the same arena, and the higher of the two must
 * not be a mapping head. When acquired its state becomes MERGING.
 */
function acquireNeighbor(
  ctx: HeapCtx,
  e: number,
  expectedState: number,
  forward: boolean,
  expanding: boolean,
): number {
  const u32 = ctx.u32;
  const addr = forward ? edataPast(u32, e) : edataBase(u32, e) - ctx.page;
  if (addr < 0 || addr >= 2 ** 32) return 0;
  const n = emapRead(ctx, addr);
  if (n === 0 || n === e || !edataIsRecord(u32, n)) return 0;
  if (forward ? edataBase(u32, n) !== addr : edataPast(u32, n) !== edataBase(u32, e)) return 0;
  if (forward ? edataHead(u32, n) : edataHead(u32, e)) return 0;
  if (edataState(u32, n) !== expectedState) return 0;
  if (!expanding && edataCommitted(u32, e) !== edataCommitted(u32, n)) return 0;
  if (edataArena(u32, n) !== edataArena(u32, e)) return 0;
  edataStateSet(u32, n, EXTENT_STATE_MERGING);
  return n;
}

/** Set by extentTryCoalesce: whether any merge happened (delayed-coalescing ecaches). */
let coalesced = false;

function extentCoalesce(
  ctx: HeapCtx,
  pac: number,
  ec: number,
  inner: number,
  outer: number,
  forward: boolean,
): boolean {
  esetRemove(ctx, ec, outer);
  const err = forward ? extentMerge(ctx, pac, inner, outer) : extentMerge(ctx, pac, outer, inner);
  if (err) {
    edataStateSet(ctx.u32, outer, esetState(ctx, ec));
    esetInsert(ctx, ec, outer);
  }
  return err;
}

/** extent_try_coalesce_impl: returns the (possibly different) record now holding `e`. */
function extentTryCoalesce(ctx: HeapCtx, pac: number, ec: number, e: number): number {
  const state = esetState(ctx, ec);
  const delay = esetDelayCoalesce(ctx, ec);
  let again: boolean;
  let guard = 0;
  do {
    again = false;
    if (++guard > 1_000_000) throw new Error("extent coalescing did not terminate: extent map is corrupt");
    const next = acquireNeighbor(ctx, e, state, true, false);
    if (next !== 0 && !extentCoalesce(ctx, pac, ec, e, next, true)) {
      if (delay) {
        coalesced = true;
        return e;
      }
      again = true;
    }
    const prev = acquireNeighbor(ctx, e, state, false, false);
    if (prev !== 0 && !extentCoalesce(ctx, pac, ec, e, prev, false)) {
      e = prev;
      if (delay) {
        coalesced = true;
        return e;
      }
      again = true;
    }
  } while (again);
  if (delay) coalesced = false;
  return e;
}

/** extent_deactivate_locked: into the set, in the set's state. */
function deactivate(ctx: HeapCtx, ec: number, e: number): void {
  edataStateSet(ctx.u32, e, esetState(ctx, ec));
  esetInsert(ctx, ec, e);
}

/** extent_record: coalesce as the ecache's policy says, then insert. */
export function extentRecord(ctx: HeapCtx, pac: number, ec: number, e: number): void {
  if (!esetDelayCoalesce(ctx, ec)) {
    e = extentTryCoalesce(ctx, pac, ec, e);
  } else if (edataSize(ctx.u32, e) >= ctx.sc.largeMinclass) {
    do {
      e = extentTryCoalesce(ctx, pac, ec, e);
    } while (coalesced);
    const threshold = ctx.u32[(pac + PAC_OVERSIZE_THRESHOLD_B) >>> 2]!;
    if (edataSize(ctx.u32, e) >= threshold && mayForceDecay(ctx, pac)) {
      extentMaximallyPurge(ctx, pac, e);
      return;
    }
  }
  deactivate(ctx, ec, e);
}

/** Purges one extent to retained, counted as a dirty purge (extent_maximally_purge). */
function extentMaximallyPurge(ctx: HeapCtx, pac: number, e: number): void {
  const size = edataSize(ctx.u32, e);
  extentDallocWrapper(ctx, pac, e);
  const d = pacDecayDirty(ctx, pac);
  if (ctx.opt.stats) {
    f64AddB(ctx.f64, d + DECAY_B_NMADVISE, 1);
    f64AddB(ctx.f64, d + DECAY_B_PURGED_PAGES, size / ctx.page);
  }
  f64AddB(ctx.f64, pac + PAC_MAPPED_B, -size);
}

/** extent_dalloc_wrapper: unmap if the hook allows (never by default), else purge into retained. */
export function extentDallocWrapper(ctx: HeapCtx, pac: number, e: number): void {
  const u32 = ctx.u32;
  const arena = edataArena(u32, e);
  const base = edataBase(u32, e);
  const size = edataSize(u32, e);
  edataAddrSet(u32, e, base);
  const hooks = ctx.hooks.get(arena);
  if (hooks?.dalloc !== undefined) {
    emapDeregister(ctx, e);
    if (!ehooksDalloc(ctx, arena, base, size, edataCommitted(u32, e))) {
      edataCachePut(ctx, pac, e);
      return;
    }
    emapRegister(ctx, e);
  }
  let zeroed: boolean;
  if (!edataCommitted(u32, e)) zeroed = true;
  else if (!ehooksDecommit(ctx, arena, base, size)) {
    edataCommittedSet(u32, e, false);
    zeroed = true;
  } else if (!ehooksPurgeForced(ctx, arena, base, size)) zeroed = true;
  else {
    if (edataState(u32, e) !== EXTENT_STATE_MUZZY) ehooksPurgeLazy(ctx, arena, base, size);
    zeroed = false;
  }
  edataZeroedSet(u32, e, zeroed);
  extentRecord(ctx, pac, pacEcacheRetained(ctx, pac), e);
}

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
  _pac: number,
  ec: number,
  expandE: number,
  size: number,
  alignment: number,
): number {
  let e: number;
  if (expandE !== 0) {
    e = acquireNeighbor(ctx, expandE, esetState(ctx, ec), true, true);
    if (e !== 0 && edataSize(ctx.u32, e) < size) {
      edataStateSet(ctx.u32, e, esetState(ctx, ec));
      e = 0;
    }
  } else {
    const lgMaxFit = esetDelayCoalesce(ctx, ec) ? ctx.opt.lgExtentMaxActiveFit : 64;
    e = esetFit(ctx, ec, size, alignment, false, lgMaxFit);
  }
  if (e === 0) return 0;
  edataStateSet(ctx.u32, e, esetState(ctx, ec));
  esetRemove(ctx, ec, e);
  edataStateSet(ctx.u32, e, EXTENT_STATE_ACTIVE);
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
): number {
  let e = extentRecycleExtract(ctx, pac, ec, expandE, size, alignment);
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
  return extentRecycle(ctx, pac, ec, expandE, size, alignment, zero);
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
  if (!emapRegister(ctx, e)) {
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
  if (!emapRegister(ctx, e)) {
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
  let e = extentRecycle(ctx, pac, retained, expandE, size, alignment, zero);
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
  edataAddrSet(ctx.u32, e, edataBase(ctx.u32, e));
  edataZeroedSet(ctx.u32, e, false);
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
