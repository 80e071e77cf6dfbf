/**
 * Worker: claims a slot, takes the lock (word `lockW`, default LOCK_W) and replies with its identity.
 * Then it keeps the lock until CTL_W becomes 1 (releasing in `finally`), or for `holdMs` ms when
 * given. A test may terminate() it while it holds the lock: the `finally` then never runs.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createLockContext, lockAcquire, lockRelease, slotClaim, slotRelease } from "../../src/sync/index.js";
import { CTL_W, FINALLY_W, LOCK_W, NSLOTS, REG_W, testLockName } from "./lock-common.js";

const { sab, holdMs, lockW } = workerData as { sab: SharedArrayBuffer; holdMs?: number; lockW?: number };
const i32 = new Int32Array(sab);
const w = lockW ?? LOCK_W;
const me = slotClaim(i32, REG_W, NSLOTS);
const ctx = createLockContext({ regW: REG_W, lockName: testLockName });

const result = lockAcquire(i32, w, me.ownerTag, ctx);
parentPort!.postMessage({ ...me, result });
const t0 = performance.now();
try {
  // Bounded slices, so termination lands at a loop edge as in real code.
  while (Atomics.load(i32, CTL_W) === 0) {
    if (holdMs !== undefined && performance.now() - t0 >= holdMs) break;
    Atomics.wait(i32, CTL_W, 0, 5);
  }
} finally {
  lockRelease(i32, w, me.ownerTag, ctx);
  Atomics.store(i32, FINALLY_W, 1);
}
slotRelease(i32, REG_W, me.slot, me.generation);
parentPort!.postMessage({ released: true });
