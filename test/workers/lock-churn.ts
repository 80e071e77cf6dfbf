/**
 * Worker for the kill-churn stress test: claims a slot, replies "ready", then until STOP takes the
 * lock and advances a two-word record (X++, work, Y++) that is consistent (X === Y) whenever the lock
 * is free. On LOCK_OWNER_DIED it repairs the record (Y := X, roll forward) and counts the takeover in
 * DIED_W; finding X !== Y after a normal acquire is a violation. Replies with its tallies on STOP.
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  createLockContext,
  LOCK_OWNER_DIED,
  lockAcquire,
  lockRelease,
  slotClaim,
  slotRelease,
} from "../../src/sync/index.js";
import {
  CHURN_DIED,
  CHURN_OPS,
  CHURN_STOP,
  CHURN_VIOLATIONS,
  CHURN_W,
  CHURN_X,
  CHURN_Y,
  LOCK_W,
  NSLOTS,
  REG_W,
  spinWork,
  testLockName,
} from "./lock-common.js";

const { sab, inside, outside } = workerData as { sab: SharedArrayBuffer; inside: number; outside: number };
const X = CHURN_W + CHURN_X;
const Y = CHURN_W + CHURN_Y;
const i32 = new Int32Array(sab);
const me = slotClaim(i32, REG_W, NSLOTS);
const ctx = createLockContext({ regW: REG_W, lockName: testLockName, timeoutMs: 20_000 });
parentPort?.postMessage({ ready: true, slot: me.slot, generation: me.generation, ownerTag: me.ownerTag });

let ops = 0;
while (Atomics.load(i32, CHURN_W + CHURN_STOP) === 0) {
  if (lockAcquire(i32, LOCK_W, me.ownerTag, ctx) === LOCK_OWNER_DIED) {
    i32[Y] = i32[X]!; // repair: roll the dead holder's half-done step forward
    Atomics.add(i32, CHURN_W + CHURN_DIED, 1);
  } else if (i32[X] !== i32[Y]) {
    Atomics.add(i32, CHURN_W + CHURN_VIOLATIONS, 1);
  }
  i32[X] = i32[X]! + 1;
  spinWork(inside);
  i32[Y] = i32[Y]! + 1;
  lockRelease(i32, LOCK_W, me.ownerTag, ctx);
  Atomics.add(i32, CHURN_W + CHURN_OPS, 1);
  ops++;
  spinWork(outside);
}
slotRelease(i32, REG_W, me.slot, me.generation);
parentPort?.postMessage({ done: true, ops });
