/**
 * lock: how allocator code takes the heap's locks — one place that turns the sync layer's result codes
 * into heap policy. A lock whose holder died (LOCK_OWNER_DIED) leaves the structure it protects in an
 * unknown state: the heap is marked poisoned-pending-check, and `heap.check()` / reclaim decide.
 */
import { HDR_POISON_B } from "../layout/header.js";
import { LOCK_OWNER_DIED, lockAcquire, lockRelease } from "../sync/index.js";
import type { HeapCtx } from "./ctx.js";

/** Poison codes stored in the header. */
export const POISON_NONE = 0;
export const POISON_OWNER_DIED = 1;
export const POISON_CORRUPTION = 2;
export const POISON_ASSERTION = 3;

export function heapLock(ctx: HeapCtx, lockB: number): void {
  const r = lockAcquire(ctx.i32, lockB >>> 2, ctx.ownerTag, ctx.lockCtx);
  if (r === LOCK_OWNER_DIED) {
    Atomics.compareExchange(ctx.i32, HDR_POISON_B >>> 2, POISON_NONE, POISON_OWNER_DIED);
  }
}

export function heapUnlock(ctx: HeapCtx, lockB: number): void {
  // Debug: the witness forgets the lock (try-acquired locks were never on its stack).
  const w = ctx.lockCtx.witness;
  if (w?.holds(lockB >>> 2)) w.pop(lockB >>> 2);
  lockRelease(ctx.i32, lockB >>> 2, ctx.ownerTag);
}
