/**
 * Worker: claims a slot, replies "waiting", then blocks in lockAcquire (bounded by `timeoutMs`) and
 * replies with the outcome: the result code or the error's name and fields, plus Date.now() (a clock
 * shared across agents) at the moment it got the lock or gave up.
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  createLockContext,
  LockTimeoutError,
  lockAcquire,
  lockRelease,
  slotClaim,
  slotRelease,
} from "../../src/sync/index.js";
import { LOCK_W, NSLOTS, REG_W, testLockName } from "./lock-common.js";

const { sab, timeoutMs, canBlock } = workerData as {
  sab: SharedArrayBuffer;
  timeoutMs: number;
  canBlock?: boolean;
};
const i32 = new Int32Array(sab);
const me = slotClaim(i32, REG_W, NSLOTS);
const ctx = createLockContext({ regW: REG_W, lockName: testLockName, timeoutMs, canBlock: canBlock ?? true });

parentPort!.postMessage({ waiting: true, ...me });
const t0 = performance.now();
try {
  const result = lockAcquire(i32, LOCK_W, me.ownerTag, ctx);
  const at = Date.now();
  const waitedMs = performance.now() - t0;
  lockRelease(i32, LOCK_W, me.ownerTag, ctx);
  slotRelease(i32, REG_W, me.slot, me.generation);
  parentPort!.postMessage({ result, at, waitedMs });
} catch (e) {
  const err = e as Error;
  const timeout = e instanceof LockTimeoutError ? { ownerTag: e.ownerTag, ownerSlot: e.ownerSlot } : {};
  parentPort!.postMessage({
    error: err.name,
    message: err.message,
    at: Date.now(),
    waitedMs: performance.now() - t0,
    ...timeout,
  });
}
