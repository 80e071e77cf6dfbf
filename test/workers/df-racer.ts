/**
 * Worker for test/integration/double-free.test.ts: two of these race to free the same block, round
 * after round. Worker 0 allocates the round's block and publishes it; a barrier; both free it; a barrier;
 * both malloc the same size and record what they got (and how many double frees they were told of);
 * a barrier; both free what they got. Misuse reports are counted, not thrown.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/heap.js";

const d = workerData as { buffer: SharedArrayBuffer; ctl: SharedArrayBuffer; me: number; rounds: number };
let reports = 0;
// ctl: [0] barrier counter, [1] the round's block, [2 + me] this worker's step (round * 8 + step, for
// the test's watchdog), then per round: got by worker 0, got by worker 1.
const ctl = new Int32Array(d.ctl);
const step = (r: number, s: number): void => {
  Atomics.store(ctl, 2 + d.me, r * 8 + s);
};
Atomics.store(ctl, 2 + d.me, -1); // running its own code: attaching
const heap = Heap.attach(d.buffer, { lockTimeoutMs: 5000 });
heap.setCorruptionHandler((r) => {
  if (r.kind !== "double-free") throw new Error(`unexpected report ${r.kind}: ${r.message}`);
  reports++;
});
let phase = 0;
function barrier(): void {
  phase++;
  Atomics.add(ctl, 0, 1);
  const until = Date.now() + 30_000;
  while (Atomics.load(ctl, 0) < phase * 2) {
    if (Date.now() > until)
      throw new Error(`worker ${d.me}: barrier ${phase} not reached by the other worker in 30 s`);
    Atomics.wait(ctl, 0, Atomics.load(ctl, 0), 1);
  }
  Atomics.notify(ctl, 0);
}
for (let r = 0; r < d.rounds; r++) {
  const size = r % 2 === 0 ? 64 : 20000;
  step(r, 1);
  if (d.me === 0) Atomics.store(ctl, 1, heap.malloc(size));
  step(r, 2);
  barrier();
  const a = Atomics.load(ctl, 1) >>> 0;
  step(r, 3);
  heap.free(a);
  step(r, 4);
  barrier();
  const got = heap.malloc(size);
  step(r, 5);
  Atomics.store(ctl, 4 + r * 2 + d.me, got | 0);
  barrier();
  heap.free(got);
  step(r, 6);
}
step(d.rounds, 7);
heap.detach();
parentPort?.postMessage({ reports });
