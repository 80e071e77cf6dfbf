/**
 * pac_last_resort: what an arena does when a request fits neither its caches nor fresh space because
 * the buffer's top has reached its maximum. jemalloc never gets here: it has address space to spare,
 * so it follows three rules that prefer fresh space over cached memory — a dirty extent more than
 * 2^lg_extent_max_active_fit times the request is not split, small dirty extents are coalesced only
 * when evicted, and extents of different mappings (is_head) never merge. A full buffer has no fresh
 * space, so before an allocation is refused these give way, in this order (each only when the last did
 * not help): any dirty extent that fits; the dirty cache coalesced; muzzy and retained coalesced across
 * mappings too; every dirty and muzzy page purged to retained, where all of them coalesce. Every merge is the extent layer's own (intents, hooks, statistics), so a thread killed
 * here leaves what eviction leaves. Extent lock held.
 */
import type { HeapCtx } from "../ctx/ctx.js";
import { f64AddB } from "../layout/index.js";
import { ecacheAlloc, ecacheAllocAnyFit, ecacheAllocGrow } from "./ecache.js";
import { EXTENT_STATE_ACTIVE, edataStateSet } from "./edata.js";
import { esetDelayCoalesce, esetLruFirst, esetNextents, esetNpages, esetRemove } from "./eset.js";
import {
  coalesced,
  deactivate,
  extentMergeAcrossHeadsSet,
  extentTryCoalesce,
  pacEcacheDirty,
  pacEcacheMuzzy,
  pacEcacheRetained,
  pacMayHaveMuzzy,
} from "./extent.js";
import { PAC_MAPPED_B } from "./pac_layout.js";

/**
 * Coalesces every extent of cache `ec` as far as it goes (what ecache_evict does to one extent before
 * purging it): each leaves the set, merges with its free neighbours and goes back. Returns whether the
 * cache now holds fewer extents.
 */
function coalesceAll(ctx: HeapCtx, pac: number, ec: number): boolean {
  const before = esetNextents(ctx, ec);
  const delay = esetDelayCoalesce(ctx, ec);
  for (let n = before; n > 0; n--) {
    let e = esetLruFirst(ctx, ec);
    if (e === 0) break;
    esetRemove(ctx, ec, e);
    edataStateSet(ctx.u32, e, EXTENT_STATE_ACTIVE);
    e = extentTryCoalesce(ctx, pac, ec, e);
    while (delay && coalesced) e = extentTryCoalesce(ctx, pac, ec, e);
    deactivate(ctx, ec, e);
  }
  return esetNextents(ctx, ec) < before;
}

/** Recycles from the retained cache (pac_alloc_real's accounting: retained pages become mapped). */
function fromRetained(ctx: HeapCtx, pac: number, size: number, alignment: number, zero: boolean): number {
  const e = ecacheAllocGrow(ctx, pac, 0, size, alignment, zero);
  if (e !== 0) f64AddB(ctx.f64, pac + PAC_MAPPED_B, size);
  return e;
}

/**
 * Purges every dirty and muzzy page of an arena, fully (pac_decay.ts registers it: that module sits
 * above this one).
 */
let purgeAll: ((ctx: HeapCtx, pac: number) => void) | null = null;
export function pacLastResortPurgeSet(fn: (ctx: HeapCtx, pac: number) => void): void {
  purgeAll = fn;
}

/** The last resort for pac_alloc_real (see above); an active extent or 0. */
export function pacAllocLastResort(
  ctx: HeapCtx,
  pac: number,
  size: number,
  alignment: number,
  zero: boolean,
): number {
  const dirty = pacEcacheDirty(ctx, pac);
  let e = ecacheAllocAnyFit(ctx, pac, dirty, size, alignment, zero);
  if (e !== 0) return e;
  try {
    if (coalesceAll(ctx, pac, dirty)) e = ecacheAllocAnyFit(ctx, pac, dirty, size, alignment, zero);
    if (e !== 0) return e;
    extentMergeAcrossHeadsSet(true);
    if (coalesceAll(ctx, pac, dirty)) e = ecacheAllocAnyFit(ctx, pac, dirty, size, alignment, zero);
    const muzzy = pacEcacheMuzzy(ctx, pac);
    if (e === 0 && pacMayHaveMuzzy(ctx, pac) && coalesceAll(ctx, pac, muzzy))
      e = ecacheAlloc(ctx, pac, muzzy, 0, size, alignment, zero);
    if (e === 0 && coalesceAll(ctx, pac, pacEcacheRetained(ctx, pac)))
      e = fromRetained(ctx, pac, size, alignment, zero);
    // Cached pages of different states do not merge: purge them all to retained (arena.<i>.purge),
    // unless they could not add up to the request anyway.
    const retained = esetNpages(ctx, pacEcacheRetained(ctx, pac));
    const others = esetNpages(ctx, dirty) + esetNpages(ctx, muzzy);
    if (e === 0 && purgeAll !== null && others > 0 && (others + retained) * ctx.page >= size) {
      purgeAll(ctx, pac);
      e = fromRetained(ctx, pac, size, alignment, zero);
    }
    return e;
  } finally {
    extentMergeAcrossHeadsSet(false);
  }
}
