/**
 * Lock statistics: jemalloc's mutex_prof_data, kept inside each lock record (layout.ts).
 *
 * Counting follows jemalloc 5.3 (malloc_mutex_lock / malloc_mutex_lock_slow):
 * - num_ops: every acquisition (acquire, successful try-acquire, takeover of a dead owner's lock);
 * - num_owner_switch: acquisitions by a different owner than the previous one (the first counts);
 * - num_spin_acq: contended acquisitions won while spinning, before blocking;
 * - num_wait, total_wait_time, max_wait_time: acquisitions that went on to wait, and how long (ns);
 * - max_num_thds: most threads seen in the waiting part at once (including the acquirer).
 *
 * Synchronization: the update functions run on the holder only (plain stores), except the WAITERS
 * word, which contenders change with Atomics. lockStatsRead may run anywhere; hold the lock for an
 * exact snapshot (as jemalloc's malloc_mutex_prof_read does), otherwise counters may be a few ops
 * stale. Counters are u64 as (lo, hi) i32 pairs, exact up to 2^53.
 */

import {
  LOCK_U64_HI,
  LOCK_W_MAX_WAIT_NS,
  LOCK_W_NUM_OPS,
  LOCK_W_NUM_OWNER_SWITCH,
  LOCK_W_NUM_SPIN_ACQ,
  LOCK_W_NUM_WAIT,
  LOCK_W_PREV_OWNER,
  LOCK_W_TOTAL_WAIT_NS,
  LOCK_W_X_WAITERS,
  LOCK_WAITERS_MAX_LIMIT,
  LOCK_WAITERS_MAX_SHIFT,
  LOCK_WAITERS_N_MASK,
  lockRecordCheck,
} from "./layout.js";

/** One lock's counters, named as jemalloc's stats.mutexes.<name>.* leaves. */
export interface LockStats {
  numOps: number;
  numWait: number;
  numSpinAcq: number;
  numOwnerSwitch: number;
  totalWaitTimeNs: number;
  maxWaitTimeNs: number;
  maxNumThds: number;
}

const TWO_32 = 2 ** 32;
const U64_COUNTERS = [
  LOCK_W_NUM_OPS,
  LOCK_W_NUM_WAIT,
  LOCK_W_NUM_SPIN_ACQ,
  LOCK_W_NUM_OWNER_SWITCH,
  LOCK_W_TOTAL_WAIT_NS,
  LOCK_W_MAX_WAIT_NS,
];
/** Bound on CAS retries when raising max_num_thds (losing only under heavy waiter churn). */
const MAX_THDS_CAS_TRIES = 16;

/** Reads a (lo, hi) u64 counter. */
export function u64Read(i32: Int32Array, w: number): number {
  return (i32[w + LOCK_U64_HI]! >>> 0) * TWO_32 + (i32[w]! >>> 0);
}

/** Writes a u64 counter from a non-negative integer ≤ 2^53. */
export function u64Write(i32: Int32Array, w: number, v: number): void {
  i32[w] = (v % TWO_32) | 0;
  i32[w + LOCK_U64_HI] = Math.floor(v / TWO_32) | 0;
}

/** Adds 1 to a u64 counter (two plain word ops, no allocation). */
export function u64Inc(i32: Int32Array, w: number): void {
  const lo = (i32[w]! + 1) | 0;
  i32[w] = lo;
  if (lo === 0) i32[w + LOCK_U64_HI] = (i32[w + LOCK_U64_HI]! + 1) | 0;
}

/** Holder, every acquisition: num_ops and num_owner_switch. */
export function lockStatsOwnerUpdate(i32: Int32Array, lockW: number, ownerTag: number): void {
  u64Inc(i32, lockW + LOCK_W_NUM_OPS);
  if (i32[lockW + LOCK_W_PREV_OWNER] !== ownerTag) {
    i32[lockW + LOCK_W_PREV_OWNER] = ownerTag;
    u64Inc(i32, lockW + LOCK_W_NUM_OWNER_SWITCH);
  }
}

/** Holder, after a contended acquisition won while spinning. */
export function lockStatsSpinAcq(i32: Int32Array, lockW: number): void {
  u64Inc(i32, lockW + LOCK_W_NUM_SPIN_ACQ);
}

/** Contender, entering the waiting part: returns how many threads are waiting, itself included. */
export function lockWaitersEnter(i32: Int32Array, lockW: number): number {
  return (Atomics.add(i32, lockW + LOCK_W_X_WAITERS, 1) & LOCK_WAITERS_N_MASK) + 1;
}

export function lockWaitersLeave(i32: Int32Array, lockW: number): void {
  Atomics.sub(i32, lockW + LOCK_W_X_WAITERS, 1);
}

/** Holder, after a wait: num_wait, total/max wait time and max_num_thds. */
export function lockStatsWaited(i32: Int32Array, lockW: number, waitedMs: number, nThds: number): void {
  u64Inc(i32, lockW + LOCK_W_NUM_WAIT);
  const ns = waitedMs > 0 ? Math.round(waitedMs * 1e6) : 0;
  u64Write(i32, lockW + LOCK_W_TOTAL_WAIT_NS, u64Read(i32, lockW + LOCK_W_TOTAL_WAIT_NS) + ns);
  if (ns > u64Read(i32, lockW + LOCK_W_MAX_WAIT_NS)) u64Write(i32, lockW + LOCK_W_MAX_WAIT_NS, ns);
  maxThdsRaise(i32, lockW, Math.min(nThds, LOCK_WAITERS_MAX_LIMIT));
}

function maxThdsRaise(i32: Int32Array, lockW: number, nThds: number): void {
  const w = lockW + LOCK_W_X_WAITERS;
  for (let i = 0; i < MAX_THDS_CAS_TRIES; i++) {
    const old = Atomics.load(i32, w);
    if (old >>> LOCK_WAITERS_MAX_SHIFT >= nThds) return;
    const next = (nThds << LOCK_WAITERS_MAX_SHIFT) | (old & LOCK_WAITERS_N_MASK);
    if (Atomics.compareExchange(i32, w, old, next) === old) return;
  }
}

/** Snapshot of a lock's counters (slow path; allocates the result). */
export function lockStatsRead(i32: Int32Array, lockW: number): LockStats {
  lockRecordCheck(i32, lockW, "lockStatsRead");
  return {
    numOps: u64Read(i32, lockW + LOCK_W_NUM_OPS),
    numWait: u64Read(i32, lockW + LOCK_W_NUM_WAIT),
    numSpinAcq: u64Read(i32, lockW + LOCK_W_NUM_SPIN_ACQ),
    numOwnerSwitch: u64Read(i32, lockW + LOCK_W_NUM_OWNER_SWITCH),
    totalWaitTimeNs: u64Read(i32, lockW + LOCK_W_TOTAL_WAIT_NS),
    maxWaitTimeNs: u64Read(i32, lockW + LOCK_W_MAX_WAIT_NS),
    maxNumThds: Atomics.load(i32, lockW + LOCK_W_X_WAITERS) >>> LOCK_WAITERS_MAX_SHIFT,
  };
}

/**
 * Zeroes a lock's counters and forgets the previous owner (jemalloc malloc_mutex_prof_data_reset;
 * the caller should hold the lock). The live waiter count is kept: it is state, not a statistic.
 */
export function lockStatsReset(i32: Int32Array, lockW: number): void {
  lockRecordCheck(i32, lockW, "lockStatsReset");
  i32[lockW + LOCK_W_PREV_OWNER] = 0;
  for (const w of U64_COUNTERS) u64Write(i32, lockW + w, 0);
  const w = lockW + LOCK_W_X_WAITERS;
  for (let i = 0; i < MAX_THDS_CAS_TRIES; i++) {
    const old = Atomics.load(i32, w);
    if (Atomics.compareExchange(i32, w, old, old & LOCK_WAITERS_N_MASK) === old) return;
  }
}

/** An all-zero LockStats, to accumulate into. */
export function lockStatsZero(): LockStats {
  return {
    numOps: 0,
    numWait: 0,
    numSpinAcq: 0,
    numOwnerSwitch: 0,
    totalWaitTimeNs: 0,
    maxWaitTimeNs: 0,
    maxNumThds: 0,
  };
}

/** Adds `data` into `sum` as jemalloc's malloc_mutex_prof_merge does (sums; maxima for the max fields). */
export function lockStatsMerge(sum: LockStats, data: LockStats): LockStats {
  sum.numOps += data.numOps;
  sum.numWait += data.numWait;
  sum.numSpinAcq += data.numSpinAcq;
  sum.numOwnerSwitch += data.numOwnerSwitch;
  sum.totalWaitTimeNs += data.totalWaitTimeNs;
  if (data.maxWaitTimeNs > sum.maxWaitTimeNs) sum.maxWaitTimeNs = data.maxWaitTimeNs;
  if (data.maxNumThds > sum.maxNumThds) sum.maxNumThds = data.maxNumThds;
  return sum;
}
