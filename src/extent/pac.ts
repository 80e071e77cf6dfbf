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

import { backgroundInactivityCheck, backgroundMaybeDeferredWork } from "../background/wake.js";
import {
  DECAY_B_NMADVISE,
  DECAY_B_NPURGE,
  DECAY_B_PURGED_PAGES,
  DECAY_B_PURGING,
  decayEpochNpagesDelta,
  decayImmediately,
  decayInit,
  decayMaybeAdvanceEpoch,
  decayMsRead,
  decayMsValid,
  decayNpagesLimit,
  decayReinit,
} from "../decay/index.js";
import { lockInit, lockTryAcquire } from "../sync/index.js";
import type { HeapCtx } from "./ctx.js";
import {
  EDATA_W_LIST_NEXT,
  EXTENT_STATE_DIRTY,
  EXTENT_STATE_MUZZY,
  EXTENT_STATE_RETAINED,
  edataAddrSet,
  edataArena,
  edataBase,
  edataIsRecord,
  edataPast,
  edataSize,
  edataSlab,
  edataSlabSet,
  edataState,
  edataSzindSet,
} from "./edata.js";
import { ehooksPurgeLazy } from "./ehooks.js";
import { emapDeregister, emapDeregisterInterior, emapRead, emapRegisterInterior } from "./emap.js";
import { esetInit, esetNpages, esetRemove } from "./eset.js";
import {
  ecacheAlloc,
  ecacheAllocGrow,
  ecacheDalloc,
  ecacheEvict,
  edataCachePut,
  extentDallocWrapper,
  extentMerge,
  extentSplit,
  pacDecayDirty,
  pacDecayMuzzy,
  pacEcacheDirty,
  pacEcacheMuzzy,
  pacEcacheRetained,
  pacMayHaveMuzzy,
} from "./extent.js";
import { heapLock, heapUnlock } from "./lock.js";
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
import { pagesTop, pagesTrimTail } from "./pages.js";

function f64Add(ctx: HeapCtx, b: number, v: number): void {
  ctx.f64[b >>> 3] = ctx.f64[b >>> 3]! + v;
}

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

/** pac_alloc_real: dirty, then muzzy (if muzzy decay is on), then retained / new space. */
function pacAllocReal(ctx: HeapCtx, pac: number, size: number, alignment: number, zero: boolean): number {
  let e = ecacheAlloc(ctx, pac, pacEcacheDirty(ctx, pac), 0, size, alignment, zero);
  if (e === 0 && pacMayHaveMuzzy(ctx, pac))
    e = ecacheAlloc(ctx, pac, pacEcacheMuzzy(ctx, pac), 0, size, alignment, zero);
  if (e === 0) {
    e = ecacheAllocGrow(ctx, pac, 0, size, alignment, zero);
    if (e !== 0) f64Add(ctx, pac + PAC_MAPPED_B, size);
  }
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
    if (ctx.failpoint !== null) ctx.failpoint("extent.locked");
    const e = pacAllocReal(ctx, pac, size, alignment, zero);
    if (e === 0) return 0;
    f64Add(ctx, pac + PAC_NACTIVE_B, size / ctx.page);
    edataSzindSet(ctx.u32, e, szind);
    edataSlabSet(ctx.u32, e, slab);
    if (slab && size > 2 * ctx.page) emapRegisterInterior(ctx, e);
    return e;
  } finally {
    pacUnlock(ctx, pac);
  }
}

/** pa_dalloc + arena_handle_deferred_work: back to the dirty cache; decay 0 purges at once. */
export function paDalloc(ctx: HeapCtx, pac: number, e: number): void {
  pacLock(ctx, pac);
  try {
    const u32 = ctx.u32;
    if (edataSlab(u32, e)) {
      emapDeregisterInterior(ctx, e);
      edataSlabSet(u32, e, false);
    }
    edataAddrSet(u32, e, edataBase(u32, e));
    edataSzindSet(u32, e, ctx.sc.nsizes);
    f64Add(ctx, pac + PAC_NACTIVE_B, -edataSize(u32, e) / ctx.page);
    if (ctx.failpoint !== null) ctx.failpoint("extent.dalloc.mid");
    ecacheDalloc(ctx, pac, pacEcacheDirty(ctx, pac), e);
    handleDeferredWork(ctx, pac);
  } finally {
    pacUnlock(ctx, pac);
  }
  backgroundInactivityCheck(ctx, pac);
}

function handleDeferredWork(ctx: HeapCtx, pac: number): void {
  if (decayImmediately(ctx, pacDecayDirty(ctx, pac))) {
    decayToLimit(
      ctx,
      pac,
      pacDecayDirty(ctx, pac),
      pacEcacheDirty(ctx, pac),
      true,
      0,
      esetNpages(ctx, pacEcacheDirty(ctx, pac)),
    );
  }
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
    if (mappedAdd > 0) f64Add(ctx, pac + PAC_MAPPED_B, mappedAdd);
    f64Add(ctx, pac + PAC_NACTIVE_B, amount / ctx.page);
    edataSzindSet(ctx.u32, e, szind);
    return false;
  } finally {
    pacUnlock(ctx, pac);
  }
}

/** pa_shrink: split the tail of a large extent off into the dirty cache. True on failure. */
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
    f64Add(ctx, pac + PAC_NACTIVE_B, -amount / ctx.page);
    edataSzindSet(ctx.u32, e, szind);
    handleDeferredWork(ctx, pac);
  } finally {
    pacUnlock(ctx, pac);
  }
  backgroundInactivityCheck(ctx, pac);
  return false;
}

// ---- decay --------------------------------------------------------------------------------------

/** Eagerness of an unforced purge (arena_decide_unforced_purge_eagerness). */
export const PURGE_NEVER = 0;
export const PURGE_ON_EPOCH_ADVANCE = 1;
export const PURGE_ALWAYS = 2;

/**
 * pac_decay_to_limit: evict LRU extents while the cache holds more than `limit` pages, at most
 * `decayMax` pages, and purge them (lazy into muzzy, or forced into retained). Lock held.
 */
function decayToLimit(
  ctx: HeapCtx,
  pac: number,
  decayB: number,
  ec: number,
  fully: boolean,
  limit: number,
  decayMax: number,
): void {
  if (decayMax === 0) return;
  const purgingW = (decayB + DECAY_B_PURGING) >>> 2;
  if (ctx.i32[purgingW] !== 0) return;
  ctx.i32[purgingW] = 1;
  try {
    // Stash first (ecache_evict may coalesce), then purge the stash, as jemalloc does.
    let stash = 0;
    let stashTail = 0;
    let nstashed = 0;
    while (nstashed < decayMax) {
      const e = ecacheEvict(ctx, pac, ec, limit);
      if (e === 0) break;
      ctx.u32[(e >>> 2) + EDATA_W_LIST_NEXT] = 0;
      if (stashTail === 0) stash = e;
      else ctx.u32[(stashTail >>> 2) + EDATA_W_LIST_NEXT] = e;
      stashTail = e;
      nstashed += edataSize(ctx.u32, e) / ctx.page;
    }
    if (nstashed === 0) return;
    if (ctx.failpoint !== null) ctx.failpoint("decay.stashed");
    decayStashed(ctx, pac, decayB, ec, fully, stash);
    if (!ctx.shared) while (trimTop(ctx, pac));
  } finally {
    ctx.i32[purgingW] = 0;
  }
}

function decayStashed(
  ctx: HeapCtx,
  pac: number,
  decayB: number,
  ec: number,
  fully: boolean,
  stash: number,
): void {
  const u32 = ctx.u32;
  const tryMuzzy = !fully && decayMsRead(ctx, pacDecayMuzzy(ctx, pac)) !== 0;
  const fromDirty = ec === pacEcacheDirty(ctx, pac);
  let nmadvise = 0;
  let npurged = 0;
  let nunmapped = 0;
  let e = stash;
  while (e !== 0) {
    const next = u32[(e >>> 2) + EDATA_W_LIST_NEXT]!;
    u32[(e >>> 2) + EDATA_W_LIST_NEXT] = 0;
    const size = edataSize(u32, e);
    const npages = size / ctx.page;
    nmadvise++;
    npurged += npages;
    if (
      fromDirty &&
      tryMuzzy &&
      !ehooksPurgeLazy(ctx, u32[(pac + PAC_ARENA_IND_B) >>> 2]!, edataBase(u32, e), size)
    ) {
      ecacheDalloc(ctx, pac, pacEcacheMuzzy(ctx, pac), e);
    } else {
      extentDallocWrapper(ctx, pac, e);
      nunmapped += npages;
    }
    e = next;
  }
  f64Add(ctx, decayB + DECAY_B_NPURGE, 1);
  f64Add(ctx, decayB + DECAY_B_NMADVISE, nmadvise);
  f64Add(ctx, decayB + DECAY_B_PURGED_PAGES, npurged);
  f64Add(ctx, pac + PAC_MAPPED_B, -nunmapped * ctx.page);
}

/**
 * A resizable ArrayBuffer gives memory back: when the retained extent at the very top of the address
 * space belongs to this arena, it leaves the retained cache and the buffer shrinks to the new top.
 * (A SharedArrayBuffer cannot shrink.) Lock held.
 */
function trimTop(ctx: HeapCtx, pac: number): boolean {
  const top = pagesTop(ctx);
  const e = emapRead(ctx, top - ctx.page);
  const u32 = ctx.u32;
  if (e === 0 || !edataIsRecord(u32, e) || edataState(u32, e) !== EXTENT_STATE_RETAINED) return false;
  if (edataPast(u32, e) !== top || edataArena(u32, e) !== u32[(pac + PAC_ARENA_IND_B) >>> 2]) return false;
  const base = edataBase(u32, e);
  esetRemove(ctx, pacEcacheRetained(ctx, pac), e);
  emapDeregister(ctx, e);
  edataCachePut(ctx, pac, e);
  pagesTrimTail(ctx, base);
  return true;
}

/** pac_maybe_decay_purge. Lock held. Returns whether the epoch advanced. */
function maybeDecayPurge(ctx: HeapCtx, pac: number, decayB: number, ec: number, eagerness: number): boolean {
  const decayMs = decayMsRead(ctx, decayB);
  if (decayMs <= 0) {
    if (decayMs === 0) decayToLimit(ctx, pac, decayB, ec, false, 0, esetNpages(ctx, ec));
    return false;
  }
  const current = esetNpages(ctx, ec);
  const advanced = decayMaybeAdvanceEpoch(ctx, decayB, ctx.nowNs(), current);
  if (eagerness === PURGE_ALWAYS || (advanced && eagerness === PURGE_ON_EPOCH_ADVANCE)) {
    const limit = decayNpagesLimit(ctx, decayB);
    if (current > limit) decayToLimit(ctx, pac, decayB, ec, false, limit, current - limit);
  }
  return advanced;
}

/** arena_decay_impl for one state. True when another thread holds the lock (skipped). */
function decayOne(
  ctx: HeapCtx,
  pac: number,
  decayB: number,
  ec: number,
  eagerness: number,
  all: boolean,
): boolean {
  if (all) {
    pacLock(ctx, pac);
    try {
      decayToLimit(ctx, pac, decayB, ec, true, 0, esetNpages(ctx, ec));
    } finally {
      pacUnlock(ctx, pac);
    }
    return false;
  }
  if (!lockTryAcquire(ctx.i32, (pac + PAC_LOCK_B) >>> 2, ctx.ownerTag)) return true;
  let npagesNew = -1;
  try {
    if (maybeDecayPurge(ctx, pac, decayB, ec, eagerness)) npagesNew = decayEpochNpagesDelta(ctx, decayB);
  } finally {
    pacUnlock(ctx, pac);
  }
  // PURGE_NEVER means an application thread while background threads are on (arena_decay_impl).
  if (npagesNew >= 0 && eagerness === PURGE_NEVER) backgroundMaybeDeferredWork(ctx, pac, decayB, npagesNew);
  return false;
}

/** arena_decay: dirty then muzzy; `all` purges everything (arena.<i>.purge). */
export function pacDecay(ctx: HeapCtx, pac: number, eagerness: number, all: boolean): void {
  if (decayOne(ctx, pac, pacDecayDirty(ctx, pac), pacEcacheDirty(ctx, pac), eagerness, all)) return;
  const muzzy = pacEcacheMuzzy(ctx, pac);
  if (esetNpages(ctx, muzzy) === 0 && decayMsRead(ctx, pacDecayMuzzy(ctx, pac)) <= 0) return;
  decayOne(ctx, pac, pacDecayMuzzy(ctx, pac), muzzy, eagerness, all);
}

/** pac_decay_ms_set: restart the backlog with a new time, maybe purging at once. False if invalid. */
export function pacDecayMsSet(
  ctx: HeapCtx,
  pac: number,
  dirty: boolean,
  decayMs: number,
  eagerness: number,
): boolean {
  if (!decayMsValid(decayMs)) return false;
  const decayB = dirty ? pacDecayDirty(ctx, pac) : pacDecayMuzzy(ctx, pac);
  const ec = dirty ? pacEcacheDirty(ctx, pac) : pacEcacheMuzzy(ctx, pac);
  pacLock(ctx, pac);
  try {
    decayReinit(ctx, decayB, ctx.nowNs(), decayMs);
    maybeDecayPurge(ctx, pac, decayB, ec, eagerness);
  } finally {
    pacUnlock(ctx, pac);
  }
  return true;
}
