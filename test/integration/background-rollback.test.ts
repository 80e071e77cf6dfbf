/**
 * Background threads that cannot start: the mallctl fails with EFAULT naming the reason, and the flag,
 * the thread count and every thread record are rolled back, so the heap is as if nothing happened.
 */
import { afterEach, describe, expect, it } from "vitest";
import { backgroundThreadSet, backgroundWorkerScriptSet } from "../../src/background/index.js";
import { bgNthreads, bgRegion } from "../../src/background/wake.js";
import { HDR_BG_THREADS_B } from "../../src/ctx/header.js";
import { MallctlError } from "../../src/errors.js";
import { MALLOCX_ARENA } from "../../src/flags.js";
import { Heap } from "../../src/heap.js";

afterEach(() => backgroundWorkerScriptSet(null));

describe("background_thread: rollback when the worker cannot start", () => {
  it("a worker that cannot be created leaves the flag off, no thread counted", () => {
    const heap = Heap.create({
      maxBytes: 1 << 26,
      envConf: null,
      conf: "narenas:4,max_background_threads:4",
    });
    // Node refuses a worker script that is not a file: URL, synchronously.
    backgroundWorkerScriptSet({ url: "http://127.0.0.1:9/nowhere.js" });
    let err: unknown;
    try {
      heap.mallctl("background_thread", true);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MallctlError);
    expect((err as Error).message).toMatch(/EFAULT/);
    expect((err as Error).message).toMatch(/could not start background thread 0: .*(scheme|URL|url)/);
    expect(heap.mallctl("background_thread")).toBe(false);
    expect(Atomics.load(heap.ctx.i32, HDR_BG_THREADS_B >>> 2)).toBe(0);
    expect(bgRegion(heap.ctx)).not.toBe(0);
    expect(bgNthreads(heap.ctx)).toBe(0);
    expect(heap.mallctl("stats.background_thread.num_threads")).toBe(0);
    // The heap still works, and a second attempt fails the same way (records were reset).
    const p = heap.malloc(100);
    heap.free(p);
    expect(() => backgroundThreadSet(heap, true)).toThrow(/could not start background thread 0/);
    expect(bgNthreads(heap.ctx)).toBe(0);
    expect(heap.check().arenas).toBeGreaterThan(0);
  });

  it("a worker whose script fails to load later: the start is undone when its error arrives", async () => {
    const heap = Heap.create({
      maxBytes: 1 << 26,
      envConf: null,
      conf: "narenas:2,max_background_threads:2",
    });
    heap.free(heap.mallocx(64, MALLOCX_ARENA(1)));
    // A file: URL that does not exist: Node creates the Worker, which then fails to load its module.
    backgroundWorkerScriptSet({ url: new URL("./no-such-background-worker.mjs", import.meta.url) });
    const errors: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => errors.push(String(s)) > 0) as typeof process.stderr.write;
    try {
      heap.mallctl("background_thread", true);
      expect(bgNthreads(heap.ctx)).toBe(2);
      const t0 = Date.now();
      while (heap.mallctl("background_thread") === true && Date.now() - t0 < 20_000)
        await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.stderr.write = write;
    }
    expect(heap.mallctl("background_thread")).toBe(false);
    expect(bgNthreads(heap.ctx)).toBe(0);
    expect(errors.join("")).toMatch(
      /background thread 0 could not start \(.*no-such-background-worker.*\); background_thread is off again/,
    );
    heap.check();
  });

  it("a missing worker script is reported, with the flag rolled back", () => {
    const heap = Heap.create({ maxBytes: 1 << 26, envConf: null });
    // From the TypeScript sources there is no background_worker.js next to spawn.ts.
    expect(() => heap.mallctl("background_thread", true)).toThrow(
      /no worker script at .*background_worker\.js/,
    );
    expect(heap.mallctl("background_thread")).toBe(false);
    expect(bgNthreads(heap.ctx)).toBe(0);
  });
});
