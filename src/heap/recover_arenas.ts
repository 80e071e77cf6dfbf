/**
 * recover_arenas: after taking over the arenas lock from a dead holder (recover.ts). Every critical
 * section under that lock is restartable, so the lock is made consistent rather than poisoned:
 *   choosing an arena       reads only;
 *   creating an arena       builds the record privately and publishes it with one store into the
 *                           arena table, last: a holder killed before it leaves an unreachable record
 *                           (leaked metadata; the next caller creates the arena again), after it a
 *                           complete arena;
 *   arenas.create           publishes (or revives) the arena, then raises narenas_total and clears the
 *                           reused index: redone here from the table, so a published arena is counted
 *                           and a revived one is not offered for reuse again;
 *   destroying an arena     marks it destroyed, then offers its index for reuse: a holder killed
 *                           between them leaves the index unused (never reused), which is consistent.
 * Synchronization: the caller holds the arenas lock; table entries are read with Atomics.load.
 */
import { arenaFieldsB, arenaRecordByInd, narenasTotal } from "../arena/arena.js";
import { ARENA_STATE_B, ARENA_STATE_DESTROYED } from "../arena/layout.js";
import type { HeapCtx } from "../ctx/ctx.js";
import { ARENAS_MAX, HDR_LAST_DESTROYED_B, HDR_NARENAS_TOTAL_B } from "../ctx/header.js";

/** Makes narenas_total and the reusable index agree with the arena table. Returns the fixes made. */
export function arenasLockRepair(ctx: HeapCtx): number {
  let fixed = 0;
  const total = narenasTotal(ctx);
  let top = total;
  for (let ind = total; ind < ARENAS_MAX; ind++) if (arenaRecordByInd(ctx, ind) !== 0) top = ind + 1;
  if (top !== total) {
    Atomics.store(ctx.i32, HDR_NARENAS_TOTAL_B >>> 2, top);
    fixed++;
  }
  const last = ctx.i32[HDR_LAST_DESTROYED_B >>> 2]!;
  if (last >= 0) {
    const a = last < ARENAS_MAX ? arenaRecordByInd(ctx, last) : 0;
    if (a === 0 || ctx.u32[(arenaFieldsB(ctx, a) + ARENA_STATE_B) >>> 2] !== ARENA_STATE_DESTROYED) {
      ctx.i32[HDR_LAST_DESTROYED_B >>> 2] = -1;
      fixed++;
    }
  }
  return fixed;
}
