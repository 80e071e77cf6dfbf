/**
 * recover_intent: after taking over an arena's extent lock from a dead holder, finish or undo the one
 * change its write-ahead record names (src/extent/intent.ts), so the page map is sound again before
 * recover_extent.ts checks and rebuilds the extent caches from it:
 *   neighbour  a free extent marked MERGING for a merge that never came goes back to its free state;
 *   split      redone: the trail's record is (re)initialized from the source, the source shrunk, both
 *              registered — the two halves keep the source's state;
 *   merge      redone: the upper half's pages leave the map, the lower half grows and is registered,
 *              the upper half's record goes back to the edata cache (once);
 *   register   redone (or, without a page-map leaf, undone).
 * Every step is an absolute store, so a change found complete is redone harmlessly. An intent whose
 * records do not fit the change it names (never expected) is ignored; the checks that follow then
 * decide between repair and poison. Extents the dead holder was carrying (taken out of a cache, a
 * merge's result) are active and owned by no one afterwards: a leak, never a second owner.
 *
 * Synchronization: the caller holds the arena's extent lock.
 */
import type { HeapCtx } from "../ctx/ctx.js";
import {
  EDATA_W_PH_PARENT,
  EXTENT_STATE_ACTIVE,
  EXTENT_STATE_CACHED,
  EXTENT_STATE_MERGING,
  edataArena,
  edataBase,
  edataIsRecord,
  edataSize,
  edataState,
  edataStateSet,
} from "../extent/edata.js";
import { emapDeregister, emapRegister } from "../extent/emap.js";
import { edataCachePut, extentMergeRecords, extentSplitRecords, pacArenaInd } from "../extent/extent.js";
import {
  INTENT_MERGE,
  INTENT_NEIGHBOR,
  INTENT_NONE,
  INTENT_REGISTER,
  INTENT_SPLIT,
  INTENT_W_OP,
  INTENT_W_U,
  INTENT_W_V,
  INTENT_W_W,
  INTENT_W_X,
  INTENT_W_Y,
  intentClear,
  intentWord,
} from "../extent/intent.js";
import { PAC_EDATA_AVAIL_COUNT_B, PAC_EDATA_AVAIL_HEAD_B } from "../extent/pac_layout.js";

/** What intentRecover did (for tests and reports). */
export type IntentOutcome = "none" | "neighbor" | "split" | "merge" | "register" | "ignored";

function pages(ctx: HeapCtx, bytes: number): boolean {
  return bytes > 0 && bytes % ctx.page === 0;
}

/** A record of arena `ind` that describes something (not parked in the edata cache). */
function liveRecord(u32: Uint32Array, e: number, ind: number): boolean {
  return edataIsRecord(u32, e) && edataArena(u32, e) === ind && edataState(u32, e) !== EXTENT_STATE_CACHED;
}

function neighborUndo(ctx: HeapCtx, ind: number, n: number, freeState: number): boolean {
  const u32 = ctx.u32;
  if (!liveRecord(u32, n, ind) || freeState === EXTENT_STATE_ACTIVE || freeState >= EXTENT_STATE_MERGING)
    return false;
  // Put back already (the merge hook refused), or an odd parent word: a claim for freeing
  // (inflight.ts), not this neighbour mark.
  if (edataState(u32, n) !== EXTENT_STATE_MERGING) return true;
  if ((u32[(n >>> 2) + EDATA_W_PH_PARENT]! & 1) === 1) return true;
  edataStateSet(u32, n, freeState);
  return true;
}

function splitRedo(
  ctx: HeapCtx,
  ind: number,
  e: number,
  trail: number,
  sizeA: number,
  sizeB: number,
): boolean {
  const u32 = ctx.u32;
  if (!liveRecord(u32, e, ind) || !edataIsRecord(u32, trail) || trail === e) return false;
  if (!pages(ctx, sizeA) || !pages(ctx, sizeB)) return false;
  const size = edataSize(u32, e);
  if (size !== sizeA && size !== sizeA + sizeB) return false;
  const st = edataState(u32, trail);
  if (st !== EXTENT_STATE_CACHED && st !== edataState(u32, e)) return false;
  extentSplitRecords(ctx, e, trail, sizeA, sizeB);
  // The split prepared both leaves before its intent, so these cannot run out of memory.
  return emapRegister(ctx, trail) && emapRegister(ctx, e);
}

function mergeRedo(
  ctx: HeapCtx,
  pac: number,
  ind: number,
  a: number,
  b: number,
  sizeA: number,
  sizeB: number,
  availCount: number,
): boolean {
  const u32 = ctx.u32;
  if (!liveRecord(u32, a, ind) || !edataIsRecord(u32, b) || a === b) return false;
  if (!pages(ctx, sizeA) || !pages(ctx, sizeB)) return false;
  const size = edataSize(u32, a);
  if (size !== sizeA && size !== sizeA + sizeB) return false;
  const bDone = edataState(u32, b) === EXTENT_STATE_CACHED;
  if (!bDone && (edataBase(u32, b) !== edataBase(u32, a) + sizeA || edataSize(u32, b) !== sizeB))
    return false;
  if (!bDone) emapDeregister(ctx, b); // clears only entries that still name b
  extentMergeRecords(u32, a, b, sizeA + sizeB);
  if (!emapRegister(ctx, a)) return false;
  if (u32[(pac + PAC_EDATA_AVAIL_HEAD_B) >>> 2] !== b) edataCachePut(ctx, pac, b);
  u32[(pac + PAC_EDATA_AVAIL_COUNT_B) >>> 2] = availCount + 1;
  return true;
}

function registerRedo(ctx: HeapCtx, ind: number, e: number): boolean {
  if (!liveRecord(ctx.u32, e, ind) || !pages(ctx, edataSize(ctx.u32, e))) return false;
  if (emapRegister(ctx, e)) return true;
  emapDeregister(ctx, e); // no leaf for its last page: the record stays out of the map (a leak)
  return true;
}

/**
 * Finishes or undoes the change named by arena record `pac`'s intent and clears it. The caller holds
 * the extent lock, taken over from a dead holder.
 */
export function intentRecover(ctx: HeapCtx, pac: number): IntentOutcome {
  const u32 = ctx.u32;
  const op = intentWord(u32, pac, INTENT_W_OP);
  if (op === INTENT_NONE) return "none";
  const ind = pacArenaInd(ctx, pac);
  const x = intentWord(u32, pac, INTENT_W_X);
  const y = intentWord(u32, pac, INTENT_W_Y);
  const u = intentWord(u32, pac, INTENT_W_U);
  const v = intentWord(u32, pac, INTENT_W_V);
  let done = false;
  let what: IntentOutcome = "ignored";
  if (op === INTENT_NEIGHBOR) {
    done = neighborUndo(ctx, ind, x, u);
    what = "neighbor";
  } else if (op === INTENT_SPLIT) {
    done = splitRedo(ctx, ind, x, y, u, v);
    what = "split";
  } else if (op === INTENT_MERGE) {
    done = mergeRedo(ctx, pac, ind, x, y, u, v, intentWord(u32, pac, INTENT_W_W));
    what = "merge";
  } else if (op === INTENT_REGISTER) {
    done = registerRedo(ctx, ind, x);
    what = "register";
  }
  intentClear(u32, pac);
  return done ? what : "ignored";
}
