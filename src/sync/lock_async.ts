/**
 * Asynchronous lock acquisition for agents that must not block (a browser's main thread, F10):
 * the same lock and protocol as lock.ts, but the waits are `Atomics.waitAsync` slices (or short
 * timers where waitAsync is missing), so the event loop keeps running while the lock is contended.
 *
 * Synchronization: identical to lockAcquire (see lock.ts); release with the ordinary lockRelease.
 * Caveat: the thread's other tasks keep running between slices; they must not use the same owner tag
 * to take the same lock (that is a recursive acquire and throws) and, with a witness, must not take
 * locks out of order while this acquire is pending.
 * Error convention: as lockAcquire, delivered as a rejected promise.
 */

import type { LockContext } from "./context.js";
import { LOCK_STATE_OWNER_MASK, LOCK_W_X_STATE } from "./layout.js";
import {
  LOCK_OK,
  LOCK_OWNER_DIED,
  LOCK_WAIT_RETRY,
  lockRecursiveCheck,
  lockSpin,
  lockTryFinal,
  lockWaitStep,
} from "./lock.js";
import {
  lockStatsOwnerUpdate,
  lockStatsSpinAcq,
  lockStatsWaited,
  lockWaitersEnter,
  lockWaitersLeave,
} from "./lock_stats.js";

/** Longest timer step when Atomics.waitAsync is unavailable. */
const POLL_MS_MAX = 4;

/** Like lockAcquire, but waits without blocking the agent. Resolves to LOCK_OK or LOCK_OWNER_DIED. */
export async function lockAcquireAsync(
  i32: Int32Array,
  lockW: number,
  ownerTag: number,
  ctx: LockContext,
): Promise<number> {
  if ((ownerTag | 0) !== ownerTag || ownerTag <= 0 || ownerTag > LOCK_STATE_OWNER_MASK) {
    throw new RangeError(`lockAcquireAsync: owner tag ${String(ownerTag)} is not a positive 32-bit integer`);
  }
  const witness = ctx.witness;
  const rank = witness === null ? 0 : witness.check(lockW);
  const result = lockTryFinal(i32, lockW, ownerTag)
    ? LOCK_OK
    : await acquireAsyncSlow(i32, lockW, ownerTag, ctx);
  if (ctx.stats) lockStatsOwnerUpdate(i32, lockW, ownerTag);
  if (witness !== null) witness.push(lockW, rank);
  return result;
}

async function acquireAsyncSlow(
  i32: Int32Array,
  lockW: number,
  ownerTag: number,
  ctx: LockContext,
): Promise<number> {
  lockRecursiveCheck(i32, lockW, ownerTag, ctx);
  if (lockSpin(i32, lockW, ownerTag, Math.max(ctx.maxSpin, 0))) {
    if (ctx.stats) lockStatsSpinAcq(i32, lockW);
    return LOCK_OK;
  }
  const t0 = ctx.now();
  const nThds = lockWaitersEnter(i32, lockW);
  const stateW = lockW + LOCK_W_X_STATE;
  let result = LOCK_OK;
  try {
    for (;;) {
      const step = lockWaitStep(i32, lockW, ownerTag, ctx, t0);
      if (step === LOCK_OK || step === LOCK_OWNER_DIED) {
        result = step;
        break;
      }
      if (step !== LOCK_WAIT_RETRY) await waitSlice(i32, stateW, step, ctx.waitSliceMs);
    }
  } finally {
    lockWaitersLeave(i32, lockW);
  }
  if (ctx.stats) lockStatsWaited(i32, lockW, ctx.now() - t0, nThds);
  return result;
}

/** Resolves when the state word may have changed from `seen`, or after `ms`. */
function waitSlice(i32: Int32Array, stateW: number, seen: number, ms: number): Promise<unknown> | undefined {
  if (typeof Atomics.waitAsync === "function") {
    const r = Atomics.waitAsync(i32, stateW, seen, ms);
    return r.async ? r.value : undefined;
  }
  return new Promise((resolve) => setTimeout(resolve, Math.min(ms, POLL_MS_MAX)));
}
