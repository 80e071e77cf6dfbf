/**
 * Worker for test/integration/threads.test.ts: attaches, allocates blocks of several classes and frees
 * most of them (so its thread cache holds regions), stamps the ones it keeps, replies with its heap
 * thread id, slot and kept blocks, then parks until it is terminated (it never detaches).
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/heap.js";
import { stampBlock } from "../helpers/ledger-tc.js";

export interface HolderReply {
  threadId: number;
  slot: number;
  kept: number[];
}

const d = workerData as { buffer: SharedArrayBuffer; park: SharedArrayBuffer };
const heap = Heap.attach(d.buffer, { lockTimeoutMs: 3000 });
const kept: number[] = [];
let n = 0;
for (const size of [16, 64, 256, 1024, 3072, 20000]) {
  const blocks: number[] = [];
  for (let i = 0; i < 40; i++) blocks.push(heap.malloc(size));
  for (const [i, p] of blocks.entries()) {
    if (i % 10 === 0) {
      stampBlock(heap, p, size, (++n << 8) | 0xee);
      kept.push(p);
    } else heap.free(p);
  }
}
const reply: HolderReply = { threadId: heap.threadId, slot: heap.threadSlot, kept };
parentPort?.postMessage(reply);
const park = new Int32Array(d.park);
for (;;) Atomics.wait(park, 0, 0, 1000);
