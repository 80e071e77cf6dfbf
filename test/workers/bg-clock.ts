/**
 * Worker for the shared-clock test: attaches to the heap, then answers `rounds` requests through a
 * small SharedArrayBuffer. Request i: the parent sets sync[0] = 2i+1; the worker stores its
 * ctx.nowNs() (and its raw performance.now()) in out[i] / raw[i] and sets sync[0] = 2i+2.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/heap.js";

const { buffer, sync, out, raw, rounds } = workerData as {
  buffer: SharedArrayBuffer;
  sync: SharedArrayBuffer;
  out: SharedArrayBuffer;
  raw: SharedArrayBuffer;
  rounds: number;
};
const heap = Heap.attach(buffer);
const s = new Int32Array(sync);
const o = new Float64Array(out);
const r = new Float64Array(raw);
parentPort!.postMessage("ready");
for (let i = 0; i < rounds; i++) {
  while (Atomics.load(s, 0) !== 2 * i + 1) Atomics.wait(s, 0, 2 * i, 1000);
  o[i] = heap.ctx.nowNs();
  r[i] = performance.now();
  Atomics.store(s, 0, 2 * i + 2);
  Atomics.notify(s, 0);
}
heap.detach();
