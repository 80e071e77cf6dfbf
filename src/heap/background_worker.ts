/**
 * background_worker: the entry module of one background purge thread (a worker_threads Worker under
 * Node, a module Web Worker in browsers). It attaches to the heap in its start data's buffer, runs
 * background thread threadInd until its record is stopped, leaves the heap (gives its thread slot back)
 * and clears its `alive` word, which is what a joiner waits for. Errors are reported on stderr (the
 * console in browsers); the joiner is released either way.
 */

import { ALIVE_REQUESTED, ALIVE_RUNNING, INFO_ALIVE_B, infoB } from "../background/layout.js";
import { type BgWorkerData, parentSpawner, workerSpawner } from "../background/spawn.js";
import { backgroundWork } from "../background/work.js";
import { HDR_BG_REGION_B } from "../ctx/header.js";
import { Heap } from "../heap.js";
import { hostWriteError, IS_NODE } from "../platform/index.js";
import { workerStartData } from "../platform/worker.js";

function run(data: BgWorkerData): void {
  const t = data.threadInd;
  const i32 = new Int32Array(data.buffer);
  const aliveW = (infoB(Atomics.load(i32, HDR_BG_REGION_B >>> 2) >>> 0, t) + INFO_ALIVE_B) >>> 2;
  // A joiner cancelled this start before the worker ran (work.ts bgJoin): leave at once.
  if (Atomics.compareExchange(i32, aliveW, ALIVE_REQUESTED, ALIVE_RUNNING) !== ALIVE_REQUESTED) {
    if (!IS_NODE) (globalThis as { close?: () => void }).close?.();
    return;
  }
  let heap: Heap | null = null;
  try {
    heap = Heap.attach(data.buffer);
    heap.ctx.backgroundThreads = true;
    // Browsers: a blocked worker cannot start nested workers; its parent does (spawn.ts).
    backgroundWork(heap.ctx, t, IS_NODE ? workerSpawner(data.buffer, data.script) : parentSpawner());
  } catch (err) {
    const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
    hostWriteError(`<jemalloc>: background thread ${t} stopped on an error: ${msg}\n`);
  } finally {
    heap?.detach();
    Atomics.store(i32, aliveW, 0);
    Atomics.notify(i32, aliveW);
  }
  // Browsers: a Web Worker does not end when its module returns.
  if (!IS_NODE) (globalThis as { close?: () => void }).close?.();
}

void workerStartData().then((data) => run(data as BgWorkerData));
