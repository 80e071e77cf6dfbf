/**
 * Worker for test/integration/prof.test.ts: attaches to a heap created with prof:true and allocates
 * `count` blocks of `size` bytes through the named function workerProfAlloc, then names itself
 * (thread.prof.name), replies with the pointers and exits without freeing them.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/heap.js";

const d = workerData as { buffer: SharedArrayBuffer; size: number; count: number };
const heap = Heap.attach(d.buffer);

function workerProfAlloc(size: number): number {
  return heap.malloc(size);
}

const ptrs: number[] = [];
for (let i = 0; i < d.count; i++) ptrs.push(workerProfAlloc(d.size));
heap.mallctl("thread.prof.name", "prof-worker");
parentPort!.postMessage({ ptrs, threadId: heap.threadId });
