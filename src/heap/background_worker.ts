/**
 * background_worker: the entry module of one background purge thread (a worker_threads Worker). It
 * attaches to the heap in workerData.buffer, runs background thread workerData.threadInd until its
 * record is stopped, leaves the heap (gives its thread slot back) and clears its `alive` word, which
 * is what a joiner waits for. Errors are reported on stderr; the joiner is released either way.
 */
import { workerData } from "node:worker_threads";
import { Heap } from "../heap.js";
import { HDR_BG_REGION_B } from "../ctx/header.js";
import { INFO_ALIVE_B, infoB } from "../background/layout.js";
import { type BgWorkerData, workerSpawner } from "../background/spawn.js";
import { backgroundWork } from "../background/work.js";

function run(data: BgWorkerData): void {
  const t = data.threadInd;
  const i32 = new Int32Array(data.buffer);
  const aliveW = (infoB(Atomics.load(i32, HDR_BG_REGION_B >>> 2) >>> 0, t) + INFO_ALIVE_B) >>> 2;
  let heap: Heap | null = null;
  try {
    heap = Heap.attach(data.buffer);
    heap.ctx.backgroundThreads = true;
    backgroundWork(heap.ctx, t, workerSpawner(data.buffer, data.script));
  } catch (err) {
    const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`<jemalloc>: background thread ${t} stopped on an error: ${msg}\n`);
  } finally {
    heap?.detach();
    Atomics.store(i32, aliveW, 0);
    Atomics.notify(i32, aliveW);
  }
}

run(workerData as BgWorkerData);
