/**
 * Attaches to a heap, allocates and frees through a fresh thread cache, detaches (the cache is
 * destroyed), `cycles` times over, all threads at once: cache creation and destruction race on arena
 * 0's shared internal-bytes counter.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/heap.js";

const { buffer, cycles } = workerData as { buffer: SharedArrayBuffer; cycles: number };
for (let i = 0; i < cycles; i++) {
  const heap = Heap.attach(buffer);
  const p = heap.malloc(64);
  heap.free(p);
  heap.detach();
}
parentPort!.postMessage("done");
