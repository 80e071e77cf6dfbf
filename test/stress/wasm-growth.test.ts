/**
 * WebAssembly growth under concurrency: several workers run the list module on one shared memory, each
 * building ever larger lists with the heap's malloc, so the memory grows while the others allocate and
 * free (every thread must catch up with a new buffer object). Afterwards nothing is inconsistent, the
 * heap checks clean and stats.allocated is back at its baseline. Quick by default; JEMALLOC_TS_LONG=1
 * runs more rounds and workers.
 */
import { describe, expect, it } from "vitest";
import { Heap } from "../../src/index.js";
import { firstMessage, spawnTsWorker } from "../helpers/spawn.js";
import { instantiateList, listModuleBytes } from "../helpers/wasm.js";

const LONG = process.env.JEMALLOC_TS_LONG === "1";
const WORKERS = LONG ? 4 : 3;
const ROUNDS = LONG ? 200 : 30;
const WORKER = new URL("../workers/wasm-churn.ts", import.meta.url);

describe("a heap inside a shared WebAssembly.Memory, grown while workers allocate", () => {
  it(`${WORKERS} workers × ${ROUNDS} rounds: consistent lists, clean check, allocated back to baseline`, async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4096, shared: true });
    const heap = Heap.create({ memory });
    const bytes = await listModuleBytes();
    const m = instantiateList(bytes, memory, heap.wasmImports());
    m.c_free(m.c_malloc(8));
    heap.mallctl("thread.tcache.flush");
    heap.mallctl("epoch", 1n);
    const baseline = heap.mallctl("stats.allocated");
    const start = memory.buffer.byteLength;
    const ws = Array.from({ length: WORKERS }, (_, seed) =>
      spawnTsWorker(WORKER, { memory, bytes, rounds: ROUNDS, seed }),
    );
    const exits = ws.map((w) => new Promise((r) => w.once("exit", r)));
    const replies = await Promise.all(
      ws.map((w) => firstMessage<{ bad: number; why: string; maxMemory: number }>(w)),
    );
    await Promise.all(exits);
    expect(replies.map((r) => `${r.bad} ${r.why}`)).toEqual(ws.map(() => "0 "));
    expect(memory.buffer.byteLength).toBeGreaterThan(start);
    heap.check();
    heap.mallctl("thread.tcache.flush");
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl("stats.allocated")).toBe(baseline);
  }, 120_000);
});
