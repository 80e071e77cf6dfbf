/**
 * inflight: slabs a thread holds outside their bin — a fresh slab between the page allocator and its
 * installation, an emptied slab between leaving its bin and going back to the page allocator. No lock
 * covers these windows, so a thread terminated inside one would leak an active slab that no bin lists
 * (heap.check(): "non-full slab … is neither slabcur nor in the non-full heap").
 *
 * The holder marks such a slab with its owner tag in the slab's pairing-heap parent word, unused while
 * the slab is in no heap (EDATA_W_PH_PARENT = tag·2 + 1: odd, so never a record offset). Installing
 * it (slabcur, or any heap insertion) overwrites the mark; giving it back makes it inactive. When a
 * dead thread is reclaimed, `recoverInFlightSlabs` finds its marked slabs in the page map, tells under
 * the bin lock which ones its bin does not link, and gives each of those back under the extent lock in
 * the same section that takes its mark off (see finishMarked). No region of a marked slab is live: a fresh
 * one hands out regions only once installed (which clears the mark), an emptied one is marked once
 * empty; so its bitmap, perhaps not even initialized (the page allocator marks a slab before its
 * interior pages are mapped), is not consulted. A large extent claimed
 * for freeing (state MERGING between the extent lock and the page allocator) is marked the same way,
 * and its free is finished.
 */
import { arenaRecordByInd } from "../arena/arena.js";
import { binLock, binRecord, binUnlock } from "../arena/bin.js";
import { BIN_NONFULL_ROOT_B, BIN_SLABCUR_B } from "../arena/layout.js";
import { inflightMark } from "../arena/slab.js";
import type { HeapCtx } from "../ctx/ctx.js";
import {
  EDATA_W_PH_PARENT,
  EXTENT_STATE_ACTIVE,
  EXTENT_STATE_MERGING,
  edataArena,
  edataBinshard,
  edataSlab,
  edataState,
  edataSzind,
} from "../extent/edata.js";
import { emapRecords } from "../extent/emap.js";
import { pacLock, pacUnlock, paDallocLocked } from "../extent/pac.js";
import { phForEach } from "../extent/ph.js";

function markedSlabs(ctx: HeapCtx, mark: number): number[] {
  return emapRecords(ctx, (u32, e) => {
    if (u32[(e >>> 2) + EDATA_W_PH_PARENT] !== mark) return false;
    const st = edataState(u32, e);
    return (st === EXTENT_STATE_ACTIVE && edataSlab(u32, e)) || st === EXTENT_STATE_MERGING;
  });
}

/** Gives back every empty slab the dead thread `deadTag` held outside its bin. Returns how many. */
export function recoverInFlightSlabs(ctx: HeapCtx, deadTag: number): number {
  const u32 = ctx.u32;
  const mark = inflightMark(deadTag);
  let n = 0;
  for (const e of markedSlabs(ctx, mark)) {
    if (edataState(u32, e) === EXTENT_STATE_MERGING) {
      // A large extent claimed for freeing: finish the free.
      const arena = arenaRecordByInd(ctx, edataArena(u32, e));
      if (arena !== 0 && finishMarked(ctx, arena, e, mark, EXTENT_STATE_MERGING)) n++;
      continue;
    }
    const binind = edataSzind(u32, e);
    if (binind >= ctx.sc.nbins) continue;
    const arena = arenaRecordByInd(ctx, edataArena(u32, e));
    if (arena === 0) continue;
    // A slab marked by the page allocator may not have its shard yet: any shard's lists will do to
    // tell it is in none of them, as long as the record exists.
    const shard = Math.min(edataBinshard(u32, e), ctx.sc.binNshards[binind]! - 1);
    const bin = binRecord(ctx, arena, binind, shard);
    binLock(ctx, bin);
    let orphan =
      u32[(e >>> 2) + EDATA_W_PH_PARENT] === mark &&
      edataState(u32, e) === EXTENT_STATE_ACTIVE &&
      u32[(bin + BIN_SLABCUR_B) >>> 2] !== e;
    if (orphan) {
      phForEach(u32, (bin + BIN_NONFULL_ROOT_B) >>> 2, 1 << 20, (m) => {
        if (m === e) orphan = false;
      });
    }
    binUnlock(ctx, bin);
    if (orphan && finishMarked(ctx, arena, e, mark, EXTENT_STATE_ACTIVE)) n++;
  }
  return n;
}

/**
 * Takes the mark off extent `e` and gives it to the page allocator, in one section under the arena's
 * extent lock, if it still carries `mark` in `state`. The repairs that a thread taking a lock over
 * from a dead holder runs hold that lock, and both tell a held extent by its mark: the extent repair
 * counts a claimed large extent as active, the bin repair leaves a marked slab to its holder (and
 * would adopt an unmarked, unlinked empty one). So the mark goes only together with the free.
 */
function finishMarked(ctx: HeapCtx, arena: number, e: number, mark: number, state: number): boolean {
  const u32 = ctx.u32;
  pacLock(ctx, arena);
  try {
    if (edataState(u32, e) !== state || u32[(e >>> 2) + EDATA_W_PH_PARENT] !== mark) return false;
    u32[(e >>> 2) + EDATA_W_PH_PARENT] = 0;
    paDallocLocked(ctx, arena, e);
    return true;
  } finally {
    pacUnlock(ctx, arena);
  }
}
