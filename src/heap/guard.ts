/**
 * guard: what an operation does when allocator metadata turns out to be garbage (a user wrote over
 * the heap's records). Walks are bounded and records are checked where they are read; anything that
 * still goes wrong inside the allocator (a raw TypeError / RangeError from reading garbage) is turned
 * into a HeapCorruptionError naming the operation, and the heap is poisoned: every later call throws
 * HeapPoisonedError instead of working on records that may be inconsistent.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { HDR_POISON_B } from "../ctx/header.js";
import { HeapCorruptionError, HeapPoisonedError, MallctlError, MallocConfAbortError } from "../errors.js";
import { POISON_CORRUPTION } from "../extent/lock.js";
import { LockTimeoutError } from "../sync/index.js";
import { LockOrderError } from "../sync/witness.js";

/** Errors the heap raises on purpose (they pass through unchanged). */
function isHeapError(e: unknown): boolean {
  return (
    e instanceof HeapCorruptionError ||
    e instanceof HeapPoisonedError ||
    e instanceof MallctlError ||
    e instanceof MallocConfAbortError ||
    e instanceof LockTimeoutError ||
    e instanceof LockOrderError
  );
}

/** Poisons the heap (corruption found) unless it already is. */
export function heapPoison(ctx: HeapCtx): void {
  Atomics.store(ctx.i32, HDR_POISON_B >>> 2, POISON_CORRUPTION);
}

/** The error to throw for `e`, raised inside operation `fn`: ours as is, anything else as corruption. */
export function guardError(ctx: HeapCtx, fn: string, e: unknown): unknown {
  if (isHeapError(e)) {
    if (e instanceof HeapCorruptionError && (e as { metadata?: boolean }).metadata === true) heapPoison(ctx);
    return e;
  }
  heapPoison(ctx);
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const err = new HeapCorruptionError(
    `<jemalloc>: ${fn}: the allocator's metadata is corrupt (${what}); the heap is poisoned`,
    0,
  );
  (err as { cause?: unknown }).cause = e;
  return err;
}
