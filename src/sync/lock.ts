/**
 * Lock: an owner-tagged, futex-style mutex in the heap buffer (jemalloc malloc_mutex_t over Atomics).
 *
 * State word (layout.ts): 0 free, else the holder's owner tag, with CONTENDED_BIT set once a waiter
 * may be asleep (Drepper, "Futexes Are Tricky", mutex #2, with the owner folded into the word).
 * Acquire: CAS 0→tag; else spin opt.mutex_max_spin times; else set the contended bit and
 * Atomics.wait in bounded slices. Release: CAS tag→0; if that fails because the contended bit is
 * set, store 0 and notify one waiter — so the uncontended pair is one CAS each way. Because taking
 * the lock and naming the owner is a single CAS, no termination can leave a held lock whose holder
 * is unknown (the old two-word protocol could: "owner word 0").
 *
 * Dead owners (RELIABILITY.md §5.3): a terminated worker never releases (its `finally` does not
 * run). Before every wait slice a waiter reads the state word; if the thread registry says the
 * holder's slot generation is gone, the waiter swaps its own tag in with a CAS on the state word (so
 * exactly one waiter wins), and gets LOCK_OWNER_DIED: it now holds the lock and must check or repair
 * what the lock protects (POSIX EOWNERDEAD). The dead tag is left in ctx.deadOwner for that repair.
 * A live owner that holds the lock longer than ctx.timeoutMs makes the waiter throw
 * LockTimeoutError. No wait is unbounded.
 *
 * Synchronization: the state word is seq-cst Atomics; statistics are written by the holder.
 * Error convention: TypeError/RangeError for a bad owner tag or lock word; Error for releasing a lock
 * the caller does not hold, a recursive acquire or a corrupt state word; LockTimeoutError;
 * LockOrderError (witness, debug). The acquire/release fast paths allocate nothing and do not
 * validate lockW (lockInit does).
 */

import { type LockContext, LockTimeoutError } from "./context.js";
import {
  LOCK_STATE_CONTENDED_BIT,
  LOCK_STATE_FREE,
  LOCK_STATE_OWNER_MASK,
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

/** lockWaitStep: the state changed under the step; retry without sleeping. */
export const LOCK_WAIT_RETRY = -1;

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
  if ((ownerTag | 0) !== ownerTag || ownerTag <= 0 || ownerTag > LOCK_STATE_OWNER_MASK)
    throw badTag("lockAcquire", ownerTag);
  const witness = ctx.witness;
  const rank = witness === null ? 0 : witness.check(lockW);
  let result = LOCK_OK;
  if (Atomics.compareExchange(i32, lockW + LOCK_W_X_STATE, LOCK_STATE_FREE, ownerTag) !== LOCK_STATE_FREE) {
    result = lockAcquireSlow(i32, lockW, ownerTag, ctx);
  }
  if (ctx.stats) lockStatsOwnerUpdate(i32, lockW, ownerTag);
  if (witness !== null) witness.push(lockW, rank);
  return result;
}

/** Acquires the lock only if it is free right now. Never waits and never takes over a dead owner. */
export function lockTryAcquire(i32: Int32Array, lockW: number, ownerTag: number, ctx?: LockContext): boolean {
  if ((ownerTag | 0) !== ownerTag || ownerTag <= 0 || ownerTag > LOCK_STATE_OWNER_MASK)
    throw badTag("lockTryAcquire", ownerTag);
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
  const stateW = lockW + LOCK_W_X_STATE;
  const seen = Atomics.compareExchange(i32, stateW, ownerTag, LOCK_STATE_FREE);
  if (seen !== ownerTag || ownerTag <= 0) {
    if ((seen & LOCK_STATE_OWNER_MASK) !== ownerTag || ownerTag <= 0)
      throw notOwner(i32, lockW, ownerTag, seen & LOCK_STATE_OWNER_MASK, ctx, "lockRelease");
    // Contended: only the holder changes a held word's owner bits, so a plain store is enough.
    Atomics.store(i32, stateW, LOCK_STATE_FREE);
    Atomics.notify(i32, stateW, 1);
  }
  if (ctx !== undefined && ctx.witness !== null) ctx.witness.pop(lockW);
}

export function lockIsHeld(i32: Int32Array, lockW: number): boolean {
  return Atomics.load(i32, lockW + LOCK_W_X_STATE) !== LOCK_STATE_FREE;
}

/** The holder's owner tag, or 0 when free. A held lock always names its holder. */
export function lockOwner(i32: Int32Array, lockW: number): number {
  return Atomics.load(i32, lockW + LOCK_W_X_STATE) & LOCK_STATE_OWNER_MASK;
}

/** Throws unless `ownerTag` holds the lock ("caller holds bin.lock" assertions). */
export function lockAssertOwner(i32: Int32Array, lockW: number, ownerTag: number, ctx?: LockContext): void {
  const owner = Atomics.load(i32, lockW + LOCK_W_X_STATE) & LOCK_STATE_OWNER_MASK;
  if (owner !== ownerTag || ownerTag <= 0)
    throw notOwner(i32, lockW, ownerTag, owner, ctx, "lockAssertOwner");
}

/** One CAS 0→tag: acquires and names the owner in the same step. */
export function lockTryFinal(i32: Int32Array, lockW: number, ownerTag: number): boolean {
  return Atomics.compareExchange(i32, lockW + LOCK_W_X_STATE, LOCK_STATE_FREE, ownerTag) === LOCK_STATE_FREE;
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
  if ((Atomics.load(i32, lockW + LOCK_W_X_STATE) & LOCK_STATE_OWNER_MASK) === ownerTag) {
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

/**
 * One step of the contended wait, shared with lock_async.ts. Returns LOCK_OK or LOCK_OWNER_DIED when
 * the caller now holds the lock, or the state value to sleep on (contended bit set) otherwise.
 * Throws LockTimeoutError once a live holder has kept the lock past ctx.timeoutMs.
 */
export function lockWaitStep(
  i32: Int32Array,
  lockW: number,
  ownerTag: number,
  ctx: LockContext,
  t0: number,
): number {
  const stateW = lockW + LOCK_W_X_STATE;
  let seen = Atomics.load(i32, stateW);
  if (seen === LOCK_STATE_FREE) {
    // Acquire with the contended bit: others may be asleep, so our release must notify.
    seen = Atomics.compareExchange(i32, stateW, LOCK_STATE_FREE, ownerTag | LOCK_STATE_CONTENDED_BIT);
    if (seen === LOCK_STATE_FREE) return LOCK_OK;
  }
  if ((seen & LOCK_STATE_CONTENDED_BIT) === 0) {
    const before = Atomics.compareExchange(i32, stateW, seen, seen | LOCK_STATE_CONTENDED_BIT);
    if (before !== seen) return LOCK_WAIT_RETRY;
    seen |= LOCK_STATE_CONTENDED_BIT;
  }
  if (lockOwnerCheck(i32, lockW, seen, ownerTag, ctx, t0)) return LOCK_OWNER_DIED;
  return seen;
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
  for (;;) {
    const step = lockWaitStep(i32, lockW, ownerTag, ctx, t0);
    if (step === LOCK_OK || step === LOCK_OWNER_DIED) return step;
    if (step !== LOCK_WAIT_RETRY) Atomics.wait(i32, stateW, step, ctx.waitSliceMs);
  }
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
    const seen = Atomics.load(i32, lockW + LOCK_W_X_STATE);
    if (seen !== LOCK_STATE_FREE && lockOwnerCheck(i32, lockW, seen, ownerTag, ctx, t0))
      return LOCK_OWNER_DIED;
  }
}

/**
 * Between waits, with `seen` the (non-free) state word just read: if it names a dead thread, take
 * the lock over (a CAS on the state word arbitrates between waiters), record the dead tag in
 * ctx.deadOwner and return true; if the wait has exceeded ctx.timeoutMs, throw.
 */
export function lockOwnerCheck(
  i32: Int32Array,
  lockW: number,
  seen: number,
  ownerTag: number,
  ctx: LockContext,
  t0: number,
): boolean {
  const owner = seen & LOCK_STATE_OWNER_MASK;
  if (!ownerTagIsValid(owner)) {
    throw new Error(`lock ${ctx.lockName(lockW)} (word ${lockW}) has a corrupt state word ${seen}`);
  }
  if (!ownerIsAlive(i32, ctx.regW, owner)) {
    const stateW = lockW + LOCK_W_X_STATE;
    // Keep the contended bit so our release wakes the other waiters.
    if (Atomics.compareExchange(i32, stateW, seen, ownerTag | LOCK_STATE_CONTENDED_BIT) !== seen)
      return false;
    ctx.deadOwner = owner;
    return true;
  }
  if (ctx.abortWait !== null) ctx.abortWait();
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
