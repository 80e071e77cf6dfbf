/**
 * lock: how allocator code takes the heap's locks — one place that turns the sync layer's result codes
 * into heap policy. A lock whose holder died (LOCK_OWNER_DIED) may guard a structure the dead thread
 * left half-changed: the taker runs the registered recovery (src/heap/recover.ts) before using it,
 * which repairs the structure or poisons the heap. On a poisoned heap the taker releases the lock and
 * throws HeapPoisonedError, so nothing ever runs on a structure known to be inconsistent.
 *
 * Poison word (header HDR_POISON_B, set once with a CAS, never cleared):
 *   bits 0..7 cause (POISON_*), bits 8..15 lock class (LOCK_CLASS_* in recover.ts), bits 16..26 the
 *   dead thread's slot + 1 (0: no thread involved).
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { HDR_POISON_B } from "../ctx/header.js";
import { HeapPoisonedError } from "../errors.js";
import { LOCK_OWNER_DIED, lockAcquire, lockRelease } from "../sync/index.js";

/** Poison causes stored in the header. */
export const POISON_NONE = 0;
/** A thread died inside a critical section whose structure cannot be repaired. */
export const POISON_OWNER_DIED = 1;
export const POISON_CORRUPTION = 2;
export const POISON_ASSERTION = 3;
/** A thread died with work in flight between locks that recovery cannot finish or undo. */
export const POISON_IN_FLIGHT = 4;
/** The repair of a dead thread's structure failed. */
export const POISON_RECOVERY_FAILED = 5;

const CAUSES = [
  "none",
  "a thread died inside a critical section that cannot be repaired",
  "internal corruption was detected",
  "an internal assertion failed",
  "a thread died with work in flight between locks",
  "the repair after a dead thread failed",
];

/** Recovery run by the taker of a dead owner's lock (set by src/heap/recover.ts). */
export type LockRecovery = (ctx: HeapCtx, lockB: number, deadTag: number) => void;
let recovery: LockRecovery | null = null;
/** Describes a lock class code for poison messages (set with the recovery). */
let className: (cls: number) => string = (cls) => `lock class ${cls}`;

export function setLockRecovery(fn: LockRecovery, describeClass: (cls: number) => string): void {
  recovery = fn;
  className = describeClass;
}

/** Poisons the heap (first cause wins). Returns true if this call set it. */
export function heapPoison(ctx: HeapCtx, cause: number, lockClass: number, slot: number): boolean {
  const word = (cause & 0xff) | ((lockClass & 0xff) << 8) | ((slot + 1) << 16);
  return Atomics.compareExchange(ctx.i32, HDR_POISON_B >>> 2, 0, word) === 0;
}

/**
 * The repair of dead thread `slot`'s structures threw: poison the heap for that and say why on the
 * console (the poison word has room for a cause, not for the error), as jemalloc prints a fatal
 * condition before it aborts.
 */
export function recoveryFailed(ctx: HeapCtx, slot: number, err: unknown): void {
  if (!heapPoison(ctx, POISON_RECOVERY_FAILED, 0, slot)) return;
  const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  console.error(`<jemalloc-ts>: the repair after dead thread slot ${slot} failed, heap poisoned: ${why}`);
}

/** The poison word: 0 while the heap is usable. */
export function heapPoisonWord(ctx: HeapCtx): number {
  return Atomics.load(ctx.i32, HDR_POISON_B >>> 2);
}

/** "the heap is poisoned: <cause> (<lock class>, thread slot N)". */
export function poisonDescribe(word: number): string {
  const cause = word & 0xff;
  const cls = (word >>> 8) & 0xff;
  const slot = (word >>> 16) - 1;
  const parts: string[] = [];
  if (cls !== 0) parts.push(className(cls));
  if (slot >= 0) parts.push(`dead thread slot ${slot}`);
  return `the heap is poisoned: ${CAUSES[cause] ?? `cause ${cause}`}${parts.length > 0 ? ` (${parts.join(", ")})` : ""}`;
}

export function poisonedError(fn: string, word: number): HeapPoisonedError {
  return new HeapPoisonedError(`${fn}: ${poisonDescribe(word)}`);
}

export function heapLock(ctx: HeapCtx, lockB: number): void {
  if (lockAcquire(ctx.i32, lockB >>> 2, ctx.ownerTag, ctx.lockCtx) === LOCK_OWNER_DIED)
    lockTakenOver(ctx, lockB);
}

export function heapUnlock(ctx: HeapCtx, lockB: number): void {
  // Debug: the witness forgets the lock (try-acquired locks were never on its stack).
  const w = ctx.lockCtx.witness;
  if (w?.holds(lockB >>> 2)) w.pop(lockB >>> 2);
  lockRelease(ctx.i32, lockB >>> 2, ctx.ownerTag);
}

/** EOWNERDEAD: repair what the dead holder left, or poison; never use a known-broken structure. */
function lockTakenOver(ctx: HeapCtx, lockB: number): void {
  const dead = ctx.lockCtx.deadOwner;
  try {
    if (ctx.failpoint !== null) ctx.failpoint("lock.takeover");
    if (recovery === null) heapPoison(ctx, POISON_OWNER_DIED, 0, dead & 1023);
    else recovery(ctx, lockB, dead);
  } catch (err) {
    recoveryFailed(ctx, dead & 1023, err);
  }
  const word = heapPoisonWord(ctx);
  if (word !== 0) {
    heapUnlock(ctx, lockB);
    throw poisonedError("lock recovery", word);
  }
}
