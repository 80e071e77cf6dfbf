/**
 * pac_decay: the page allocator's half of decay (jemalloc's pac_decay_to_limit, pac_decay_stashed,
 * pac_maybe_decay_purge, pac_decay_all): evict the least recently used free extents of a cache down to
 * the curve's limit and purge them — dirty → muzzy by a lazy purge when muzzy decay is on, else →
 * retained by a forced purge. When to decay and whom to wake is the arena's (src/arena/decay.ts).
 *
 * Locking: every function here runs with the arena's extent lock (PAC_LOCK_B) held, except
 * pacDecayMsSet, which takes it.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import {
  DECAY_B_NMADVISE,
  DECAY_B_NPURGE,
  DECAY_B_PURGED_PAGES,
  DECAY_B_PURGING,
  decayMaybeAdvanceEpoch,
  decayMsRead,
  decayMsValid,
  decayNpagesLimit,
  decayReinit,
} from "../decay/index.js";
import { f64AddB } from "../layout/index.js";
import { ecacheDalloc, ecacheEvict } from "./ecache.js";
import {
  EDATA_W_LIST_NEXT,
  EXTENT_STATE_RETAINED,
  edataArena,
  edataBase,
  edataIsRecord,
  edataPast,
  edataSize,
  edataState,
} from "./edata.js";
import { ehooksPurgeLazy } from "./ehooks.js";
import { emapDeregister, emapRead } from "./emap.js";
import { esetNpages, esetRemove } from "./eset.js";
import {
  edataCachePut,
  extentDallocWrapper,
  pacDecayDirty,
  pacDecayMuzzy,
  pacEcacheDirty,
  pacEcacheMuzzy,
  pacEcacheRetained,
} from "./extent.js";
import { pacLock, pacUnlock } from "./pac.js";
import { pacLastResortPurgeSet } from "./pac_last_resort.js";
import { PAC_ARENA_IND_B, PAC_MAPPED_B } from "./pac_layout.js";
import { pagesTop, pagesTrimTail } from "./pages.js";

// --------------------------------------------------------------------------------------

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
  if (ctx.opt.stats) {
    f64AddB(ctx.f64, decayB + DECAY_B_NPURGE, 1);
    f64AddB(ctx.f64, decayB + DECAY_B_NMADVISE, nmadvise);
    f64AddB(ctx.f64, decayB + DECAY_B_PURGED_PAGES, npurged);
  }
  f64AddB(ctx.f64, pac + PAC_MAPPED_B, -nunmapped * ctx.page);
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
export function pacMaybeDecayPurge(
  ctx: HeapCtx,
  pac: number,
  decayB: number,
  ec: number,
  eagerness: number,
): boolean {
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
    pacMaybeDecayPurge(ctx, pac, decayB, ec, eagerness);
  } finally {
    pacUnlock(ctx, pac);
  }
  return true;
}

/** pac_decay_all: purge every page of cache `ec` (decay record `decayB`), fully. Lock held. */
export function pacDecayAll(ctx: HeapCtx, pac: number, decayB: number, ec: number): void {
  decayToLimit(ctx, pac, decayB, ec, true, 0, esetNpages(ctx, ec));
}

// A full buffer's last resort before refusing an allocation (pac_last_resort.ts).
pacLastResortPurgeSet((ctx, pac) => {
  pacDecayAll(ctx, pac, pacDecayDirty(ctx, pac), pacEcacheDirty(ctx, pac));
  pacDecayAll(ctx, pac, pacDecayMuzzy(ctx, pac), pacEcacheMuzzy(ctx, pac));
});
