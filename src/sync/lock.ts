/**
 * Lock: an owner-tagged, futex-style mutex in the heap buffer (jemalloc malloc_mutex_t over Atomics).
 *
 * State word (Drepper, "Futexes Are Tricky", mutex #2): 0 free, 1 locked, 2 locked with possible
 * waiters. Acquire: CAS 0→1; else spin opt.mutex_max_spin times; else set 2 and Atomics.wait in
 * bounded slices. Release: clear the owner, subtract 1; if the old state was not 1, store 0 and
 * notify one waiter — so the uncontended pair is one CAS + one store, one store + one sub.
 *
 * Dead owners (RELIABILITY.md §5.3): a terminated worker never releases (its `finally` does not
 * run). Before every wait slice a waiter reads the owner tag; if the thread registry says that slot
 * generation is gone, the waiter swaps itself in as owner with a CAS on the owner word (so exactly one
 * waiter wins), keeps the state locked, and gets LOCK_OWNER_DIED: it now holds the lock and must check
 * or repair what the lock protects (POSIX EOWNERDEAD). A live owner that holds the lock longer than
 * ctx.timeoutMs makes the waiter throw LockTimeoutError. No wait is unbounded.
 *
 * Invariants: see layout.ts (owner ≠ 0 ⇒ locked; owner is 0 when free).
 * Synchronization: state and owner words are seq-cst Atomics; statistics are written by the holder.
 * Error convention: TypeError/RangeError for a bad owner tag or lock word; Error for releasing a lock
 * the caller does not hold or a recursive acquire; LockTimeoutError; LockOrderError (witness, debug).
 * The acquire/release fast paths allocate nothing and do not validate lockW (lockInit does).
 */

import { type LockContext, LockTimeoutError } from "./context.js";
import {
  LOCK_STATE_CONTENDED,
  LOCK_STATE_FREE,
  LOCK_STATE_LOCKED,
  LOCK_W_X_OWNER,
  LOCK_W_X_STATE,
  LOCK_WORDS,
  lockRecordCheck,
} from "./layout.js";
import {
  lockStatsOwnerUpdate,
  lockStatsSpinAcq,
  lockStatsWaited,
  lockWaitersEnter,
  lockWaitersLeave,
} from "./lock_stats.js";
import { ownerTagDescribe, ownerTagIsValid } from "./owner.js";
import { ownerIsAlive } from "./slots.js";

/** lockAcquire result: acquired normally. */
export const LOCK_OK = 0;
/** lockAcquire result: acquired from a dead owner; the protected structure may be inconsistent. */
export const LOCK_OWNER_DIED = 1;

/** CAS attempts between liveness/timeout checks when the agent may not block. */
const SPIN_ONLY_BATCH = 1024;

/** Formats a free lock with zeroed statistics at `lockW`. */
export function lockInit(i32: Int32Array, lockW: number): void {
  lockRecordCheck(i32, lockW, "lockInit");
  i32.fill(0, lockW, lockW + LOCK_WORDS);
}

/**
 * Acquires the lock for `ownerTag`, waiting (bounded) if needed. Returns LOCK_OK, or LOCK_OWNER_DIED
 * when the lock was taken over from a dead holder. Throws LockTimeoutError when a live owner keeps
 * it past ctx.timeoutMs, and (debug) LockOrderError when the witness sees a rank violation.
 */
export function lockAcquire(i32: Int32Array, lockW: number, ownerTag: number, ctx: LockContext): number {
  if ((ownerTag | 0) !== ownerTag || ownerTag <= 0) throw badTag("lockAcquire", ownerTag);
  const witness = ctx.witness;
  const rank = witness === null ? 0 : witness.check(lockW);
  let result = LOCK_OK;
  if (
    Atomics.compareExchange(i32, lockW + LOCK_W_X_STATE, LOCK_STATE_FREE, LOCK_STATE_LOCKED) ===
    LOCK_STATE_FREE
  ) {
    Atomics.store(i32, lockW + LOCK_W_X_OWNER, ownerTag);
  } else {
    result = lockAcquireSlow(i32, lockW, ownerTag, ctx);
  }
  if (ctx.stats) lockStatsOwnerUpdate(i32, lockW, ownerTag);
  if (witness !== null) witness.push(lockW, rank);
  return result;
}

/** Acquires the lock only if it is free right now. Never waits and never takes over a dead owner. */
export function lockTryAcquire(i32: Int32Array, lockW: number, ownerTag: number, ctx?: LockContext): boolean {
  if ((ownerTag | 0) !== ownerTag || ownerTag <= 0) throw badTag("lockTryAcquire", ownerTag);
  const witness = ctx === undefined ? null : ctx.witness;
  const rank = witness === null ? 0 : witness.check(lockW);
  if (!lockTryFinal(i32, lockW, ownerTag)) return false;
  if (ctx === undefined || ctx.stats) lockStatsOwnerUpdate(i32, lockW, ownerTag);
  if (witness !== null) witness.push(lockW, rank);
  return true;
}

/**
 * Releases the lock. Throws (changing nothing) unless `ownerTag` holds it. Pass the same ctx as
 * to the acquire when a witness is in use, so its held-lock stack stays right.
 */
export function lockRelease(i32: Int32Array, lockW: number, ownerTag: number, ctx?: LockContext): void {
  const owner = Atomics.load(i32, lockW + LOCK_W_X_OWNER);
  if (owner !== ownerTag || ownerTag <= 0) throw notOwner(i32, lockW, ownerTag, owner, ctx, "lockRelease");
  if (ctx !== undefined && ctx.witness !== null) ctx.witness.pop(lockW);
  Atomics.store(i32, lockW + LOCK_W_X_OWNER, 0);
  if (Atomics.sub(i32, lockW + LOCK_W_X_STATE, 1) !== LOCK_STATE_LOCKED) {
    Atomics.store(i32, lockW + LOCK_W_X_STATE, LOCK_STATE_FREE);
    Atomics.notify(i32, lockW + LOCK_W_X_STATE, 1);
  }
}

export function lockIsHeld(i32: Int32Array, lockW: number): boolean {
  return Atomics.load(i32, lockW + LOCK_W_X_STATE) !== LOCK_STATE_FREE;
}

/** The holder's owner tag, or 0 when free (or in the instant between acquire and publishing). */
export function lockOwner(i32: Int32Array, lockW: number): number {
  return Atomics.load(i32, lockW + LOCK_W_X_OWNER);
}

/** Throws unless `ownerTag` holds the lock ("caller holds bin.lock" assertions). */
export function lockAssertOwner(i32: Int32Array, lockW: number, ownerTag: number, ctx?: LockContext): void {
  const owner = Atomics.load(i32, lockW + LOCK_W_X_OWNER);
  if (owner !== ownerTag || ownerTag <= 0)
    throw notOwner(i32, lockW, ownerTag, owner, ctx, "lockAssertOwner");
}

/** One CAS 0→1; on success publishes the owner. */
export function lockTryFinal(i32: Int32Array, lockW: number, ownerTag: number): boolean {
  if (
    Atomics.compareExchange(i32, lockW + LOCK_W_X_STATE, LOCK_STATE_FREE, LOCK_STATE_LOCKED) !==
    LOCK_STATE_FREE
  ) {
    return false;
  }
  Atomics.store(i32, lockW + LOCK_W_X_OWNER, ownerTag);
  return true;
}

/** Test-and-test-and-set spin, `maxSpin` attempts (jemalloc's spin before blocking). */
export function lockSpin(i32: Int32Array, lockW: number, ownerTag: number, maxSpin: number): boolean {
  const stateW = lockW + LOCK_W_X_STATE;
  for (let i = 0; i < maxSpin; i++) {
    if (Atomics.load(i32, stateW) === LOCK_STATE_FREE && lockTryFinal(i32, lockW, ownerTag)) return true;
  }
  return false;
}

/** Throws if the caller already holds the lock (waiting would deadlock until the timeout). */
export function lockRecursiveCheck(i32: Int32Array, lockW: number, ownerTag: number, ctx: LockContext): void {
  if (Atomics.load(i32, lockW + LOCK_W_X_OWNER) === ownerTag) {
    throw new Error(
      `lock ${ctx.lockName(lockW)} (word ${lockW}) is already held by the caller (${ownerTagDescribe(ownerTag)})`,
    );
  }
}

function lockAcquireSlow(i32: Int32Array, lockW: number, ownerTag: number, ctx: LockContext): number {
  lockRecursiveCheck(i32, lockW, ownerTag, ctx);
  if (lockSpin(i32, lockW, ownerTag, ctx.maxSpin)) {
    if (ctx.stats) lockStatsSpinAcq(i32, lockW);
    return LOCK_OK;
  }
  const t0 = ctx.now();
  const nThds = lockWaitersEnter(i32, lockW);
  let result: number;
  try {
    // One last try: entering the waiting part took a while (jemalloc does the same).
    if (lockTryFinal(i32, lockW, ownerTag)) {
      if (ctx.stats) lockStatsSpinAcq(i32, lockW);
      return LOCK_OK;
    }
    result = ctx.spinOnly
      ? lockWaitSpinning(i32, lockW, ownerTag, ctx, t0)
      : lockWaitBlocking(i32, lockW, ownerTag, ctx, t0);
  } finally {
    lockWaitersLeave(i32, lockW);
  }
  if (ctx.stats) lockStatsWaited(i32, lockW, ctx.now() - t0, nThds);
  return result;
}

/** Drepper's wait loop with bounded Atomics.wait slices and an owner check before each. */
function lockWaitBlocking(
  i32: Int32Array,
  lockW: number,
  ownerTag: number,
  ctx: LockContext,
  t0: number,
): number {
  const stateW = lockW + LOCK_W_X_STATE;
  // Exchanging in 2 both announces a waiter and, if it returns 0, acquires.
  while (Atomics.exchange(i32, stateW, LOCK_STATE_CONTENDED) !== LOCK_STATE_FREE) {
    if (lockOwnerCheck(i32, lockW, ownerTag, ctx, t0)) return LOCK_OWNER_DIED;
    Atomics.wait(i32, stateW, LOCK_STATE_CONTENDED, ctx.waitSliceMs);
  }
  Atomics.store(i32, lockW + LOCK_W_X_OWNER, ownerTag);
  return LOCK_OK;
}

/** For agents that may not block (browser main thread): CAS in batches, checking between them. */
function lockWaitSpinning(
  i32: Int32Array,
  lockW: number,
  ownerTag: number,
  ctx: LockContext,
  t0: number,
): number {
  for (;;) {
    if (lockSpin(i32, lockW, ownerTag, SPIN_ONLY_BATCH)) return LOCK_OK;
    if (lockOwnerCheck(i32, lockW, ownerTag, ctx, t0)) return LOCK_OWNER_DIED;
  }
}

/**
 * Between waits: if the owner tag names a dead thread, take the lock over (CAS on the owner word
 * arbitrates between waiters) and return true; if the wait has exceeded ctx.timeoutMs, throw.
 */
export function lockOwnerCheck(
  i32: Int32Array,
  lockW: number,
  ownerTag: number,
  ctx: LockContext,
  t0: number,
): boolean {
  const ownerW = lockW + LOCK_W_X_OWNER;
  const owner = Atomics.load(i32, ownerW);
  if (owner !== 0) {
    if (!ownerTagIsValid(owner)) {
      throw new Error(`lock ${ctx.lockName(lockW)} (word ${lockW}) has a corrupt owner word ${owner}`);
    }
    if (!ownerIsAlive(i32, ctx.regW, owner)) {
      if (Atomics.compareExchange(i32, ownerW, owner, ownerTag) !== owner) return false;
      // owner ≠ 0 meant locked, and the dead holder cannot release: we hold it. Keep 2 so our
      // release wakes the other waiters.
      Atomics.store(i32, lockW + LOCK_W_X_STATE, LOCK_STATE_CONTENDED);
      return true;
    }
  }
  const waited = ctx.now() - t0;
  if (waited > ctx.timeoutMs) throw new LockTimeoutError(lockW, ctx.lockName(lockW), owner, waited);
  return false;
}

function badTag(what: string, ownerTag: number): RangeError {
  return new RangeError(`${what}: owner tag ${String(ownerTag)} is not a positive 32-bit integer`);
}

function notOwner(
  i32: Int32Array,
  lockW: number,
  ownerTag: number,
  owner: number,
  ctx: LockContext | undefined,
  what: string,
): Error {
  const name = ctx === undefined ? `lock@${lockW}` : ctx.lockName(lockW);
  const held = lockIsHeld(i32, lockW) ? `held by ${ownerTagDescribe(owner)}` : "not held";
  return new Error(
    `${what}: lock ${name} (word ${lockW}) is ${held}, not by the caller (${ownerTagDescribe(ownerTag)})`,
  );
}
