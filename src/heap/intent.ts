/**
 * intent: a thread's record of work it has in flight between locks, so that its reclaim can finish or
 * undo it when the thread dies there (RELIABILITY.md §5.3: the "in-flight op record").
 *
 * One word in the thread's record (THREAD_INTENT_B), written with plain stores by its owner before the
 * work leaves a shared structure in a state only that thread knows how to complete, and cleared right
 * after. The owner's plain stores are visible to the reclaimer: it runs after the thread's exit (and
 * marks the slot dead with a seq-cst CAS that every lock taker reads).
 *
 *   bits 2..31   record offset (extent records are 8-byte aligned) or 0
 *   bits 0..1    INTENT_* kind
 *
 * Kinds:
 *   SLAB  an active slab outside its bin (a fresh slab not yet installed, or an emptied slab not yet
 *         given back): reclaim gives it back to its arena's page allocator.
 */
import { edataArena, edataIsRecord, edataSlab, edataState, EXTENT_STATE_ACTIVE } from "../extent/edata.js";
import type { HeapCtx } from "../ctx/ctx.js";
import { heapPoison, POISON_IN_FLIGHT } from "../extent/lock.js";
import { paDalloc } from "../extent/pac.js";
import { arenaRecordByInd } from "../arena/arena.js";
import { THREAD_INTENT_B } from "../ctx/header.js";

export const INTENT_NONE = 0;
export const INTENT_SLAB = 1;
const KIND_MASK = 3;

/** Records that the calling thread holds slab `slab` outside its bin. */
export function intentSlab(ctx: HeapCtx, slab: number): void {
  ctx.u32[(ctx.threadB + THREAD_INTENT_B) >>> 2] = slab | INTENT_SLAB;
}

export function intentClear(ctx: HeapCtx): void {
  ctx.u32[(ctx.threadB + THREAD_INTENT_B) >>> 2] = INTENT_NONE;
}

/** Finishes or undoes the dead thread's in-flight work (its locks are already recovered). */
export function recoverInFlight(ctx: HeapCtx, slot: number, threadB: number): void {
  const w = (threadB + THREAD_INTENT_B) >>> 2;
  const word = ctx.u32[w]!;
  ctx.u32[w] = INTENT_NONE;
  if (word === INTENT_NONE) return;
  const kind = word & KIND_MASK;
  const e = word & ~KIND_MASK;
  const u32 = ctx.u32;
  if (kind === INTENT_SLAB && e !== 0 && edataIsRecord(u32, e)) {
    if (edataState(u32, e) !== EXTENT_STATE_ACTIVE || !edataSlab(u32, e)) return; // already given back
    const arena = arenaRecordByInd(ctx, edataArena(u32, e));
    if (arena !== 0) {
      paDalloc(ctx, arena, e);
      return;
    }
  }
  heapPoison(ctx, POISON_IN_FLIGHT, 0, slot);
}
