/**
 * A WebAssembly module whose memory and allocator are the heap (src/wasm): the module (WebAssembly text
 * compiled by `wabt` here) builds a linked list with malloc, JS walks it through the heap's views, a
 * worker instantiated on the same shared memory frees half of it while this thread builds more (the heap
 * grows the memory past its initial size meanwhile), and afterwards the heap checks clean and
 * stats.allocated is back at its baseline.
 */
import { describe, expect, it } from "vitest";
import { Heap } from "../../src/index.js";
import { firstMessage, spawnTsWorker } from "../helpers/spawn.js";
import { instantiateList, listModuleBytes } from "../helpers/wasm.js";

const WORKER = new URL("../workers/wasm-free-half.ts", import.meta.url);

function allocated(heap: Heap): number {
  heap.mallctl("thread.tcache.flush");
  heap.mallctl("epoch", 1n);
  return heap.mallctl("stats.allocated") as number;
}

/** The list's values and payload words, read through the heap's views. */
function walk(heap: Heap, head: number): { values: number[]; payloadOk: boolean } {
  const values: number[] = [];
  let payloadOk = true;
  for (let node = head; node !== 0; node = heap.u32[node >>> 2]!) {
    const v = heap.u32[(node + 4) >>> 2]!;
    values.push(v);
    const p = heap.u32[(node + 8) >>> 2]!;
    if (heap.u32[p >>> 2] !== v * 3) payloadOk = false;
  }
  return { values, payloadOk };
}

describe("a heap inside a shared WebAssembly.Memory", () => {
  it("serves a module's malloc/free with a worker freeing half while the memory grows", async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4096, shared: true });
    const heap = Heap.create({ memory });
    expect((heap as unknown as { base: number }).base).toBe(65536);
    const bytes = await listModuleBytes();
    const m = instantiateList(bytes, memory, heap.wasmImports());
    // The baseline after this thread's cache exists (jemalloc allocates it from the arena: counted).
    m.c_free(m.c_malloc(8));
    const baseline = allocated(heap);
    const memCreated = memory.buffer.byteLength;

    const n = 4000;
    const head = m.build(n, 1000);
    expect(head).toBeGreaterThan(65536);
    // JS reads what the module wrote, with the module's pointers, through the heap's views.
    const first = walk(heap, head);
    expect(first.values).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(first.payloadOk).toBe(true);
    expect(m.sum(head)).toBe((n * (n - 1)) / 2);
    expect(memory.buffer.byteLength).toBeGreaterThan(memCreated);

    // A worker frees every second node while this thread builds a second list, growing the memory.
    const w = spawnTsWorker(WORKER, { memory, bytes, head });
    const exited = new Promise((r) => w.once("exit", r));
    const reply = firstMessage<{ freed: number; memoryBytes: number }>(w);
    const memBefore2 = memory.buffer.byteLength;
    const head2 = m.build(3000, 3000);
    expect(head2).not.toBe(0);
    const { freed } = await reply;
    await exited;
    expect(freed).toBe(n / 2);
    expect(memory.buffer.byteLength).toBeGreaterThan(memBefore2);

    const after = walk(heap, head);
    expect(after.values).toEqual(Array.from({ length: n / 2 }, (_, i) => 2 * i));
    expect(after.payloadOk).toBe(true);
    const second = walk(heap, head2);
    expect(second.values.length).toBe(3000);
    expect(second.payloadOk).toBe(true);

    m.free_all(head);
    m.free_all(head2);
    heap.check();
    expect(allocated(heap)).toBe(baseline);
  }, 60_000);
});
