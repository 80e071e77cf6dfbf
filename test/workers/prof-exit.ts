/**
 * Child process for test/integration/prof.test.ts: a heap with profiling and prof_final (conf from
 * argv[2]), some blocks allocated through leakyAlloc and never freed; the leak summary and the final
 * dump happen at exit.
 */
import { Heap } from "../../src/heap.js";

const heap = Heap.create({ conf: process.argv[2] ?? "", envConf: null });

function leakyAlloc(size: number): number {
  return heap.malloc(size);
}

for (let i = 0; i < 10; i++) leakyAlloc(1000);
heap.free(leakyAlloc(64));
