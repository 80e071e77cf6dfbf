/**
 * recover_extent: after taking over an arena's extent lock from a dead holder, decide whether what it
 * guards is consistent — the part of the heap checker (check.ts C3, C6) that this lock covers:
 *   - each extent cache (dirty, muzzy, retained): heaps, LRU, page and extent counts, member states;
 *   - every extent of this arena the page map names: a free one sits in the cache of its state, none
 *     is left MERGING, and pactive equals the pages of the active ones.
 * The dead holder may have stopped before changing anything (or after finishing): then this passes
 * and the lock is used as is. Otherwise the caller poisons the heap. No repair is attempted here: a
 * half-done split or merge cannot be told apart from a legitimate state without the dead thread's
 * private variables.
 *
 * Synchronization: the caller holds the extent lock. Extents of this arena change state only under
 * it; the page-map walk reads other arenas' entries racily and filters on the arena index.
 */
import { checkEcache, collectExtents } from "../check/check.js";
import type { HeapCtx } from "../extent/ctx.js";
import {
  EXTENT_STATE_ACTIVE,
  EXTENT_STATE_DIRTY,
  EXTENT_STATE_MUZZY,
  EXTENT_STATE_RETAINED,
  edataArena,
  edataSize,
  edataState,
} from "../extent/edata.js";
import { pacEcacheDirty, pacEcacheMuzzy, pacEcacheRetained } from "../extent/extent.js";
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
    if (st === EXTENT_STATE_ACTIVE) activePages += edataSize(u32, e) / ctx.page;
    else if (inCaches.get(e) !== st) problems.push(`extent ${e} (state ${st}) is not in the matching cache`);
  }
  const pactive = ctx.f64[(arena + PAC_NACTIVE_B) >>> 3]!;
  if (pactive !== activePages)
    problems.push(`pactive ${pactive} but active extents hold ${activePages} pages`);
  return problems;
}
