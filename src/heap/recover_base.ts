/**
 * recover_base: after taking over a base's lock from a dead holder (recover.ts). A base is a bump
 * allocator whose blocks are mapped above everything mapped before, so each store of its critical
 * section leaves it usable: a block mapped but not yet listed or not yet current is leaked metadata;
 * a current position stored before the block's end moves past that end, which the next allocation
 * reads as "block full" and maps a fresh one; the statistics (allocated, resident, mapped) may miss
 * the dead holder's last step. Nothing is ever handed out twice, because the position is stored before
 * the allocation is returned. The repair only clamps the position to the block's end.
 * Synchronization: the caller holds the base's lock.
 */
import type { HeapCtx } from "../ctx/ctx.js";
import { BASE_CUR_B, BASE_END_B } from "../extent/base.js";

/** Makes base `baseB` usable after a dead holder. Returns the number of words fixed. */
export function baseLockRepair(ctx: HeapCtx, baseB: number): number {
  const f64 = ctx.f64;
  const cur = f64[(baseB + BASE_CUR_B) >>> 3]!;
  const end = f64[(baseB + BASE_END_B) >>> 3]!;
  if (Number.isFinite(cur) && cur <= end) return 0;
  f64[(baseB + BASE_CUR_B) >>> 3] = end;
  return 1;
}
