/**
 * Worker for test/integration/double-free.test.ts: two of these race to free the same block, round
 * after round. Worker 0 allocates the round's block and publishes it; a barrier; both free it; a barrier;
 * both malloc the same size and record what they got (and how many double frees they were told of);
 * a barrier; both free what they got. Misuse reports are counted, not thrown.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/heap.js";

const d = workerData as { buffer: SharedArrayBuffer; ctl: SharedArrayBuffer; me: number; rounds: number };
const heap = Heap.attach(d.buffer, { lockTimeoutMs: 5000 });
let reports = 0;
heap.setCorruptionHandler((r) => {
  if (r.kind !== "double-free") throw new Error(`unexpected report ${r.kind}: ${r.message}`);
  reports++;
});
// ctl: [0] barrier counter, [1] the round's block, then per round: got by worker 0, got by worker 1.
const ctl = new Int32Array(d.ctl);
let phase = 0;
function barrier(): void {
  phase++;
  Atomics.add(ctl, 0, 1);
  while (Atomics.load(ctl, 0) < phase * 2) Atomics.wait(ctl, 0, Atomics.load(ctl, 0), 1);
  Atomics.notify(ctl, 0);
}
for (let r = 0; r < d.rounds; r++) {
  const size = r % 2 === 0 ? 64 : 20000;
  if (d.me === 0) Atomics.store(ctl, 1, heap.malloc(size));
  barrier();
  const a = Atomics.load(ctl, 1) >>> 0;
  heap.free(a);
  barrier();
  const got = heap.malloc(size);
  Atomics.store(ctl, 2 + r * 2 + d.me, got | 0);
  barrier();
  heap.free(got);
}
heap.detach();
parentPort?.postMessage({ reports });
