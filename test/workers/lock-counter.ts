/**
 * Worker: claims a slot, waits for GO, then `iters` times takes the lock, increments the shared
 * counter non-atomically (read, work, write), releases and works outside the lock. Replies with its tallies.
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
  COUNTER_W,
  GO_W,
  INSIDE_W,
  LOCK_W,
  NSLOTS,
  REG_W,
  spinWork,
  testLockName,
  VIOLATIONS_W,
} from "./lock-common.js";

const { sab, iters, work, outside, maxSpin } = workerData as {
  sab: SharedArrayBuffer;
  iters: number;
  /** Busy-work steps inside / outside the critical section. */
  work: number;
  outside?: number;
  maxSpin?: number;
};
const i32 = new Int32Array(sab);
const me = slotClaim(i32, REG_W, NSLOTS);
const ctx = createLockContext({
  regW: REG_W,
  lockName: testLockName,
  maxSpin: maxSpin ?? 600,
  timeoutMs: 30_000,
});

while (Atomics.load(i32, GO_W) === 0) Atomics.wait(i32, GO_W, 0, 50);

let died = 0;
for (let i = 0; i < iters; i++) {
  if (lockAcquire(i32, LOCK_W, me.ownerTag, ctx) === LOCK_OWNER_DIED) died++;
  if (Atomics.add(i32, INSIDE_W, 1) !== 0) Atomics.add(i32, VIOLATIONS_W, 1);
  const v = i32[COUNTER_W]!;
  spinWork(work);
  i32[COUNTER_W] = v + 1;
  Atomics.sub(i32, INSIDE_W, 1);
  lockRelease(i32, LOCK_W, me.ownerTag, ctx);
  spinWork(outside ?? 0);
}
slotRelease(i32, REG_W, me.slot, me.generation);
parentPort!.postMessage({ done: iters, died, slot: me.slot });
