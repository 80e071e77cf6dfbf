/**
 * Worker for test/integration/double-free.test.ts: frees a block the main thread already freed (it sits
 * in the main thread's cache), then allocates its size: the worker's own entry wins; it replies with
 * what it got, then detaches.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/heap.js";

const d = workerData as { buffer: SharedArrayBuffer; ptr: number; size: number };
const heap = Heap.attach(d.buffer, { lockTimeoutMs: 5000 });
heap.free(d.ptr);
const got = heap.malloc(d.size);
parentPort?.postMessage({ got });
// Keep the block (it is this worker's now); detach flushes the cache only.
heap.detach();
