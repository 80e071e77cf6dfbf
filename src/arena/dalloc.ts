/**
 * dalloc: a block straight back to its arena, without a thread cache (jemalloc's
 * arena_dalloc_no_tcache): a region to its slab's bin, a large block to the page allocator, then the
 * arena's decay tick.
 */
import type { HeapCtx } from "../ctx/ctx.js";
import {
  EXTENT_STATE_ACTIVE,
  edataArena,
  edataBase,
  edataBinshard,
  edataSlab,
  edataState,
  edataSzind,
} from "../extent/edata.js";
import { arenaDecayTick, arenaRecordByInd } from "./arena.js";
import { binDallocLocked, binLock, binRecord, binUnlock } from "./bin.js";
import { arenaExtentDalloc } from "./decay.js";
import { largeDalloc } from "./large.js";
import { slabRegIsAllocated } from "./slab.js";

/** Frees straight into the arena. False when the region turned out to be free already. */
export function dallocArena(ctx: HeapCtx, ptr: number, e: number): boolean {
  const u32 = ctx.u32;
  const arena = arenaRecordByInd(ctx, edataArena(u32, e));
  // Each kind in its own function: the large path stays small enough for V8 to inline.
  if (!(edataSlab(u32, e) ? dallocSmallArena(ctx, arena, ptr, e) : largeDalloc(ctx, e, arena))) return false;
  arenaDecayTick(ctx, arena);
  return true;
}

/** A region back to its slab's bin. False when it turned out to be free already. */
function dallocSmallArena(ctx: HeapCtx, arena: number, ptr: number, e: number): boolean {
  const u32 = ctx.u32;
  const binind = edataSzind(u32, e);
  const regSize = ctx.sc.binRegSize[binind]!;
  const regind = (ptr - edataBase(u32, e)) / regSize;
  const bin = binRecord(ctx, arena, binind, edataBinshard(u32, e));
  binLock(ctx, bin);
  if (edataState(u32, e) !== EXTENT_STATE_ACTIVE || !slabRegIsAllocated(u32, e, regind)) {
    binUnlock(ctx, bin);
    return false;
  }
  const empty = binDallocLocked(ctx, arena, bin, binind, e, regind);
  binUnlock(ctx, bin);
  if (empty) arenaExtentDalloc(ctx, arena, e);
  return true;
}
