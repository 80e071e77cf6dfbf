/**
 * recover_extent: after taking over an arena's extent lock from a dead holder, decide whether what it
 * guards is consistent — the part of the heap checker (check.ts C3, C6) that this lock covers:
 *   - each extent cache (dirty, muzzy, retained): heaps, LRU, page and extent counts, member states;
 *   - every extent of this arena the page map names: a free one sits in the cache of its state, none
 *     is left MERGING, and pactive equals the pages of the active ones.
 * The dead holder may have stopped before changing anything (or after finishing): then this passes
 * and the lock is used as is. Otherwise `extentLockRepair` rebuilds what can be derived from the page
 * map — the three extent caches (members by state, keeping the old LRU order where it is intact),
 * pactive, and the decay "purging" flags — provided the page map itself is sound for this arena (no
 * extent MERGING, none overlapping, each extent's first and last page naming it). The one change the
 * dead holder announced in its intent record (a split, a merge, a neighbour marked MERGING, a
 * registration) is finished or undone before this runs (recover_intent.ts); a page map still unsound
 * after that makes the caller poison the heap.
 *
 * Synchronization: the caller holds the extent lock. Extents of this arena change state only under
 * it; the page-map walk reads other arenas' entries racily and filters on the arena index.
 */
import { checkEcache, collectExtents } from "../check/check.js";
import type { HeapCtx } from "../ctx/ctx.js";
import { DECAY_B_PURGING } from "../decay/decay.js";
import {
  EDATA_W_LIST_NEXT,
  EDATA_W_PH_PARENT,
  EXTENT_STATE_ACTIVE,
  EXTENT_STATE_DIRTY,
  EXTENT_STATE_MERGING,
  EXTENT_STATE_MUZZY,
  EXTENT_STATE_RETAINED,
  edataArena,
  edataBase,
  edataIsRecord,
  edataSize,
  edataState,
} from "../extent/edata.js";
import { emapRead } from "../extent/emap.js";
import { ESET_LRU_HEAD_B, esetDelayCoalesce, esetInit, esetInsert } from "../extent/eset.js";
import {
  pacDecayDirty,
  pacDecayMuzzy,
  pacEcacheDirty,
  pacEcacheMuzzy,
  pacEcacheRetained,
} from "../extent/extent.js";
import { PAC_NACTIVE_B } from "../extent/pac_layout.js";

/** Problems found in arena `ind`'s extent structures (empty when consistent). */
export function extentLockVerify(ctx: HeapCtx, arena: number, ind: number): string[] {
  const problems: string[] = [];
  const inCaches = new Map<number, number>();
  const caches = [
    [pacEcacheDirty(ctx, arena), EXTENT_STATE_DIRTY, "dirty"],
    [pacEcacheMuzzy(ctx, arena), EXTENT_STATE_MUZZY, "muzzy"],
    [pacEcacheRetained(ctx, arena), EXTENT_STATE_RETAINED, "retained"],
  ] as const;
  for (const [ec, state, name] of caches) {
    for (const e of checkEcache(ctx, ec, state, `arena ${ind} ${name}`, problems)) inCaches.set(e, state);
  }
  const u32 = ctx.u32;
  let activePages = 0;
  for (const e of collectExtents(ctx, [])) {
    if (edataArena(u32, e) !== ind) continue;
    const st = edataState(u32, e);
    if (st === EXTENT_STATE_ACTIVE || claimedInFlight(u32, e)) activePages += edataSize(u32, e) / ctx.page;
    else if (inCaches.get(e) !== st) problems.push(`extent ${e} (state ${st}) is not in the matching cache`);
  }
  const pactive = ctx.f64[(arena + PAC_NACTIVE_B) >>> 3]!;
  if (pactive !== activePages)
    problems.push(`pactive ${pactive} but active extents hold ${activePages} pages`);
  return problems;
}

/**
 * A large extent claimed for freeing (MERGING, carrying an in-flight mark — heap/inflight.ts): still
 * counted in pactive until the page allocator takes it, by its live holder or by the reclaim.
 */
function claimedInFlight(u32: Uint32Array, e: number): boolean {
  return edataState(u32, e) === EXTENT_STATE_MERGING && (u32[(e >>> 2) + EDATA_W_PH_PARENT]! & 1) === 1;
}

/** This arena's extents named by the page map, or null when the map is not sound for them. */
function arenaExtentsSound(ctx: HeapCtx, ind: number): number[] | null {
  const u32 = ctx.u32;
  const mine = [...collectExtents(ctx, [])].filter((e) => edataArena(u32, e) === ind);
  mine.sort((a, b) => edataBase(u32, a) - edataBase(u32, b));
  let prevEnd = 0;
  for (const e of mine) {
    const base = edataBase(u32, e);
    const size = edataSize(u32, e);
    if (edataState(u32, e) === EXTENT_STATE_MERGING && !claimedInFlight(u32, e)) return null;
    if (size === 0 || size % ctx.page !== 0) return null;
    if (base < prevEnd) return null;
    if (emapRead(ctx, base) !== e || emapRead(ctx, base + size - ctx.page) !== e) return null;
    prevEnd = base + size;
  }
  return mine;
}

/** Rebuilds one extent cache from the extents in `state`, old LRU order first. */
function ecacheRebuild(ctx: HeapCtx, ec: number, state: number, mine: number[]): void {
  const u32 = ctx.u32;
  const members = new Set(mine.filter((e) => edataState(u32, e) === state));
  const order: number[] = [];
  const seen = new Set<number>();
  for (let e = u32[(ec + ESET_LRU_HEAD_B) >>> 2]!; e !== 0 && order.length < members.size; ) {
    if (!edataIsRecord(u32, e) || !members.has(e) || seen.has(e)) break;
    seen.add(e);
    order.push(e);
    e = u32[(e >>> 2) + EDATA_W_LIST_NEXT]!;
  }
  for (const e of members) if (!seen.has(e)) order.push(e);
  esetInit(ctx, ec, state, esetDelayCoalesce(ctx, ec));
  for (const e of order) esetInsert(ctx, ec, e);
}

/**
 * Repairs arena `ind`'s extent structures from the page map (see the header). Returns false, changing
 * nothing, when the page map itself is not sound for this arena. The caller holds the extent lock.
 */
export function extentLockRepair(ctx: HeapCtx, arena: number, ind: number): boolean {
  const mine = arenaExtentsSound(ctx, ind);
  if (mine === null) return false;
  ecacheRebuild(ctx, pacEcacheDirty(ctx, arena), EXTENT_STATE_DIRTY, mine);
  ecacheRebuild(ctx, pacEcacheMuzzy(ctx, arena), EXTENT_STATE_MUZZY, mine);
  ecacheRebuild(ctx, pacEcacheRetained(ctx, arena), EXTENT_STATE_RETAINED, mine);
  let activePages = 0;
  for (const e of mine)
    if (edataState(ctx.u32, e) === EXTENT_STATE_ACTIVE || claimedInFlight(ctx.u32, e))
      activePages += edataSize(ctx.u32, e) / ctx.page;
  ctx.f64[(arena + PAC_NACTIVE_B) >>> 3] = activePages;
  return true;
}

/** The dead holder may have been purging: no decay is in progress once we hold the lock. */
export function decayPurgingReset(ctx: HeapCtx, arena: number): void {
  ctx.i32[(pacDecayDirty(ctx, arena) + DECAY_B_PURGING) >>> 2] = 0;
  ctx.i32[(pacDecayMuzzy(ctx, arena) + DECAY_B_PURGING) >>> 2] = 0;
}
