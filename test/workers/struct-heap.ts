/**
 * The heap the struct integration tests and their workers run on: swap these four functions for the real
 * heap (`Heap.create`, `Heap.attach(buffer)`, `heap.check()`, `heap.mallctl("stats.allocated")`, plus
 * detaching a worker's thread) when it lands. Nothing else in the struct tests names the fake.
 */
import type { StructHeap } from "../../src/struct/index.js";
import { FakeHeap } from "../helpers/fake-heap.js";

export type TestHeap = StructHeap & { readonly buffer: SharedArrayBuffer };

/** A new heap, small at first so that the tests grow it while workers use it. */
export function createHeap(): TestHeap {
  return FakeHeap.create({ initialBytes: 64 << 10, maxBytes: 256 << 20 });
}

/** The same heap in another worker. */
export function attachHeap(buffer: SharedArrayBuffer): TestHeap {
  return FakeHeap.attach(buffer);
}

/** Called by a worker when it is done with the heap (the real heap flushes and frees its thread slot). */
export function detachHeap(_heap: TestHeap): void {}

/** Throws if the heap's metadata is inconsistent. */
export function checkHeap(heap: TestHeap): void {
  (heap as FakeHeap).check();
}

/** Bytes still allocated (jemalloc's `stats.allocated`). */
export function allocatedBytes(heap: TestHeap): number {
  return (heap as FakeHeap).mallctl("stats.allocated");
}
