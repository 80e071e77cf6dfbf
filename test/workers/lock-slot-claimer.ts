/**
 * Worker: after GO, `rounds` times claims a slot, checks that no other thread holds the same slot
 * (an occupancy flag it sets with CAS), and releases it. Replies with violations and thread ids.
 */
import { parentPort, workerData } from "node:worker_threads";
import { SlotsFullError, slotClaim, slotRelease } from "../../src/sync/index.js";
import { GO_W, NSLOTS, OCC_W, REG_W, spinWork } from "./lock-common.js";

const { sab, rounds } = workerData as { sab: SharedArrayBuffer; rounds: number };
const i32 = new Int32Array(sab);
while (Atomics.load(i32, GO_W) === 0) Atomics.wait(i32, GO_W, 0, 50);

let violations = 0;
let full = 0;
let lastId = 0;
let idsIncreasing = true;
for (let r = 0; r < rounds; r++) {
  let c: ReturnType<typeof slotClaim>;
  try {
    c = slotClaim(i32, REG_W, NSLOTS);
  } catch (e) {
    if (!(e instanceof SlotsFullError)) throw e;
    full++;
    continue;
  }
  if (Atomics.compareExchange(i32, OCC_W + c.slot, 0, 1) !== 0) violations++;
  if (c.threadId <= lastId) idsIncreasing = false;
  lastId = c.threadId;
  spinWork(50);
  Atomics.store(i32, OCC_W + c.slot, 0);
  slotRelease(i32, REG_W, c.slot, c.generation);
}
parentPort!.postMessage({ violations, full, idsIncreasing });
