/**
 * heap.terminate and heap.watch for both kinds of worker: a Node Worker (identified by its threadId,
 * reclaimed after it stopped) and a browser-style Worker (only terminate(); the heap thread id it
 * reported is passed to watch). Bad arguments get clear errors.
 */
import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { Heap } from "../../src/heap.js";
import { slotsLiveCount } from "../../src/sync/index.js";
import { firstMessage, spawnTsWorker } from "../helpers/spawn.js";
import type { HolderReply } from "../workers/tc-holder.js";

const HOLDER = new URL("../workers/tc-holder.ts", import.meta.url);
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function newHeap(): Heap {
  return Heap.create({ maxBytes: 1 << 26, maxThreads: 8, envConf: null, conf: "narenas:2" });
}

function live(heap: Heap): number {
  return slotsLiveCount(heap.i32, heap.ctx.hdr.slotsB >>> 2);
}

describe("heap.terminate", () => {
  it("terminates a Node Worker and reclaims its slot; kept blocks stay valid", async () => {
    const heap = newHeap();
    const park = new SharedArrayBuffer(4);
    const w = spawnTsWorker(HOLDER, { buffer: heap.buffer, park });
    workers.push(w);
    const r = await firstMessage<HolderReply>(w);
    expect(live(heap)).toBe(2);
    const reports = await heap.terminate(w);
    expect(reports).toEqual([
      { slot: r.slot, threadId: r.threadId, badCacheEntries: 0, cacheRecordBad: false },
    ]);
    expect(live(heap)).toBe(1);
    for (const p of r.kept) heap.free(p);
    heap.check();
  });

  it("a browser-style Worker: watch(worker, threadId), then terminate reclaims that thread", async () => {
    const heap = newHeap();
    const park = new SharedArrayBuffer(4);
    const w = spawnTsWorker(HOLDER, { buffer: heap.buffer, park });
    workers.push(w);
    const r = await firstMessage<HolderReply>(w);
    // What the page sees of a Web Worker: terminate(), no threadId, no events the heap can use.
    let terminated = 0;
    const web = {
      terminate: () => {
        terminated++;
        void w.terminate();
      },
    };
    expect(() => heap.watch(web)).toThrow(/post its heap\.threadId.*heap\.watch\(worker, threadId\)/);
    await expect(heap.terminate({ terminate() {} })).rejects.toThrow(/not watched/);
    heap.watch(web, r.threadId);
    await new Promise((res) => w.once("exit", res).terminate());
    const reports = await heap.terminate(web);
    expect(terminated).toBe(1);
    expect(reports.map((x) => x.threadId)).toEqual([r.threadId]);
    expect(live(heap)).toBe(1);
    for (const p of r.kept) heap.free(p);
    heap.check();
  });

  it("a Node Worker that already exited: reclaimed if it was watched, a clear error if it was not", async () => {
    const heap = newHeap();
    const park = new SharedArrayBuffer(4);
    const watchedW = spawnTsWorker(HOLDER, { buffer: heap.buffer, park });
    workers.push(watchedW);
    await firstMessage<HolderReply>(watchedW);
    heap.watch(watchedW);
    await new Promise((res) => watchedW.once("exit", res).terminate());
    expect(watchedW.threadId).toBe(-1);
    // The exit event already reclaimed its slot; terminate finds nothing left and does not throw.
    expect(live(heap)).toBe(1);
    expect(await heap.terminate(watchedW)).toEqual([]);

    const unwatched = spawnTsWorker(HOLDER, { buffer: heap.buffer, park });
    workers.push(unwatched);
    const r = await firstMessage<HolderReply>(unwatched);
    await new Promise((res) => unwatched.once("exit", res).terminate());
    await expect(heap.terminate(unwatched)).rejects.toThrow(
      /already exited \(threadId -1\) and was not watched/,
    );
    expect(() => heap.watch(unwatched)).toThrow(/already exited/);
    expect(live(heap)).toBe(2);
    expect(heap.reclaim(r.threadId)?.slot).toBe(r.slot);
    expect(live(heap)).toBe(1);
    for (const p of r.kept) heap.free(p);
    heap.check();
  });

  it("rejects what is not a worker and bad thread ids", async () => {
    const heap = newHeap();
    expect(() => heap.watch(null as never)).toThrow(/expected a Worker, got null/);
    expect(() => heap.watch({ terminate() {} }, -1)).toThrow(/non-negative integer, got -1/);
    expect(() => heap.watch({ terminate() {} }, [1, 2.5])).toThrow(/got 2\.5/);
    await expect(heap.terminate(42 as never)).rejects.toThrow(/expected a Worker, got number/);
  });
});
