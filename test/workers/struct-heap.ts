/**
 * The heap the struct integration tests and their workers run on: the real jemalloc-ts heap, created
 * small so the tests grow it while workers use it. Every worker detaches when done (thread exit:
 * its cache is flushed), so after freeing everything nothing but the creator's cache stacks remains.
 */
import { Heap } from "../../src/index.js";

export type TestHeap = Heap & { readonly buffer: SharedArrayBuffer };

/** A new heap, small at first so that the tests grow it while workers use it. */
export function createHeap(): TestHeap {
  return Heap.create({ initialBytes: 1 << 20, maxBytes: 256 << 20, envConf: null }) as TestHeap;
}

/** The same heap in another worker. */
export function attachHeap(buffer: SharedArrayBuffer): TestHeap {
  return Heap.attach(buffer) as TestHeap;
}

/** Called by a worker when it is done with the heap: flushes its cache and frees its thread slot. */
export function detachHeap(heap: TestHeap): void {
  heap.detach();
}

/** Throws if the heap's metadata is inconsistent. */
export function checkHeap(heap: TestHeap): void {
  heap.check();
}

/** Bytes still allocated (jemalloc's `stats.allocated`), the calling thread's cache flushed first. */
export function allocatedBytes(heap: TestHeap): number {
  heap.mallctl("thread.tcache.flush");
  heap.mallctl("epoch", 1n);
  const internal = Number(heap.mallctl("stats.arenas.0.internal") ?? 0);
  // The thread caches' own stacks are internal allocations (jemalloc counts them in allocated too).
  return Number(heap.mallctl("stats.allocated")) - internal;
}
