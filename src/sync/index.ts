/**
 * src/sync: locks over Atomics in the heap buffer, the thread-slot registry, and lock-order checking.
 * Higher layers import only this barrel. See README.md in this folder for the dead-owner protocol.
 */

export {
  createLockContext,
  detectCanBlock,
  LOCK_MAX_SPIN_DEFAULT,
  LOCK_TIMEOUT_MS_DEFAULT,
  LOCK_WAIT_SLICE_MS_DEFAULT,
  LockContext,
  type LockContextOptions,
  LockTimeoutError,
} from "./context.js";
export * from "./layout.js";
export {
  LOCK_OK,
  LOCK_OWNER_DIED,
  lockAcquire,
  lockAssertOwner,
  lockInit,
  lockIsHeld,
  lockOwner,
  lockRelease,
  lockTryAcquire,
} from "./lock.js";
export { lockAcquireAsync } from "./lock_async.js";
export {
  type LockStats,
  lockStatsMerge,
  lockStatsRead,
  lockStatsReset,
  lockStatsZero,
} from "./lock_stats.js";
export * from "./owner.js";
export * from "./slots.js";
export * from "./witness.js";
