/**
 * Shared buffer layout for the lock tests and their workers (tests only): a thread registry at word
 * 0, two lock records, a counter and a few control words.
 */
import { LOCK_WORDS, lockInit, slotsInit, slotsRegionWords } from "../../src/sync/index.js";

export const REG_W = 0;
export const NSLOTS = 8;
export const LOCK_W = slotsRegionWords(NSLOTS); // 52: even, so the record is 8-byte aligned
export const LOCK2_W = LOCK_W + LOCK_WORDS;
/** The value the workers increment under the lock. */
export const COUNTER_W = LOCK2_W + LOCK_WORDS;
/** Threads currently inside the critical section (must never exceed 1). */
export const INSIDE_W = COUNTER_W + 1;
/** Mutual-exclusion violations seen by workers. */
export const VIOLATIONS_W = COUNTER_W + 2;
/** Start barrier: workers wait until it becomes non-zero. */
export const GO_W = COUNTER_W + 3;
/** Holder control: 1 = release now. */
export const CTL_W = COUNTER_W + 4;
/** Set by a holder's `finally` (to show it never runs after terminate()). */
export const FINALLY_W = COUNTER_W + 5;
/** Per-slot occupancy flags for the slot-claim race (NSLOTS words). */
export const OCC_W = COUNTER_W + 8;
/** Kill-churn record: STOP, DIED (takeovers), VIOLATIONS, OPS, then the X/Y pair. */
export const CHURN_W = OCC_W + NSLOTS;
export const CHURN_STOP = 0;
export const CHURN_DIED = 1;
export const CHURN_VIOLATIONS = 2;
export const CHURN_OPS = 3;
export const CHURN_X = 4;
export const CHURN_Y = 5;
export const TEST_WORDS = CHURN_W + 8;

export function makeTestHeap(growable = false): { sab: SharedArrayBuffer; i32: Int32Array } {
  const bytes = TEST_WORDS * 4;
  const sab = growable
    ? new SharedArrayBuffer(bytes, { maxByteLength: bytes * 4 })
    : new SharedArrayBuffer(bytes);
  const i32 = new Int32Array(sab);
  slotsInit(i32, REG_W, NSLOTS);
  lockInit(i32, LOCK_W);
  lockInit(i32, LOCK2_W);
  return { sab, i32 };
}

/** Names for error messages. */
export function testLockName(lockW: number): string {
  if (lockW === LOCK_W) return "test.lock";
  if (lockW === LOCK2_W) return "test.lock2";
  return `lock@${lockW}`;
}

/** Busy work of `n` steps, to make critical sections long enough to collide. */
export function spinWork(n: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x * 31 + i) | 0;
  return x;
}
