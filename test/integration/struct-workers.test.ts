/**
 * Structs shared by workers: several workers build one linked structure in the same heap concurrently
 * (a lock-free stack pushed with compareExchange on an atomic field), meet at a barrier (atomic add, wait,
 * notify), and each walks and checks every node; the main thread then checks every node's contents and
 * visit count, frees everything (strings included) and checks the heap is consistent and empty.
 *
 * The heap comes from test/workers/struct-heap.ts (one place to switch to the real heap).
 * JEMALLOC_TS_LONG=1 runs more workers and nodes.
 */
import { describe, expect, it } from "vitest";
import { firstMessage, spawnTsWorker } from "../helpers/spawn.js";
import { allocatedBytes, checkHeap, createHeap } from "../workers/struct-heap.js";
import {
  ListHead,
  type ListWorkerData,
  type ListWorkerReply,
  Node,
  nodeLabel,
  nodeValue,
} from "../workers/struct-list.js";

const LONG = process.env.JEMALLOC_TS_LONG === "1";
const WORKER = new URL("../workers/struct-list-worker.ts", import.meta.url);

async function runList(workers: number, count: number): Promise<void> {
  const heap = createHeap();
  const startBytes = heap.buffer.byteLength;
  const head = ListHead.alloc(heap);
  expect(head).not.toBe(0);

  const replies = await Promise.all(
    Array.from({ length: workers }, (_, worker) => {
      const data: ListWorkerData = { buffer: heap.buffer, head, worker, workers, count };
      const w = spawnTsWorker(WORKER, { ...data });
      return firstMessage<ListWorkerReply>(w).finally(() => w.terminate());
    }),
  );

  for (const r of replies) {
    expect(r.errors).toEqual([]);
    expect(r.walked).toBe(workers * count);
  }
  expect(heap.buffer.byteLength).toBeGreaterThan(startBytes);

  // Every (worker, seq) exactly once, contents intact, visited by every worker.
  const seen = new Set<string>();
  const nodes: number[] = [];
  for (let p = ListHead.fields.top.load(heap, head); p !== 0; p = Node.fields.next.get(heap, p)) {
    const v = Node.at(heap, p);
    expect(v.visits).toBe(workers);
    expect(v.label).toBe(nodeLabel(v.worker, v.seq));
    expect(v.value).toBe(nodeValue(v.worker, v.seq));
    seen.add(`${v.worker}/${v.seq}`);
    nodes.push(p);
    if (nodes.length > workers * count) break;
  }
  expect(nodes.length).toBe(workers * count);
  expect(seen.size).toBe(workers * count);
  checkHeap(heap);

  for (const p of nodes) Node.free(heap, p);
  ListHead.free(heap, head);
  checkHeap(heap);
  expect(allocatedBytes(heap)).toBe(0);
}

describe("structs shared by workers", () => {
  it("builds and walks a shared linked structure from several workers", async () => {
    await runList(4, LONG ? 20_000 : 400);
  });

  it.runIf(LONG)("does it with more workers than cores", async () => {
    await runList(12, 5_000);
  });
});
