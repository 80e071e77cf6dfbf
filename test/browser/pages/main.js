// The browser tests' page: each scenario runs on the page's main thread with module Web Workers and
// returns a plain result object that the vitest side (test/browser/chromium.test.ts) asserts on.

import { backgroundWorkerScriptSet } from "/dist/background/index.js";
import { bgNthreads } from "/dist/background/wake.js";
import { Heap, heapMapSvg, MALLOCX_ARENA } from "/dist/index.js";
import { slotsLiveCount } from "/dist/sync/index.js";
import { Cell, Item } from "./shared.js";

function startWorker() {
  const w = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "test worker" });
  let next = 1;
  const pending = new Map();
  const ready = new Promise((resolve, reject) => {
    w.addEventListener("error", (e) => reject(new Error(`worker failed: ${e.message}`)));
    w.addEventListener("message", (ev) => {
      if (ev.data.ready) return resolve();
      const p = pending.get(ev.data.id);
      if (p === undefined) return;
      pending.delete(ev.data.id);
      if (ev.data.ok) p.resolve(ev.data.value);
      else p.reject(new Error(ev.data.error));
    });
  });
  const call = (cmd, args) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      w.postMessage({ id, cmd, args });
    });
  return { worker: w, ready, call };
}

/** stats.allocated once the page's own thread cache exists (its record counts as allocated). */
function allocatedBaseline(heap) {
  heap.free(heap.malloc(8));
  heap.mallctl("thread.tcache.flush");
  heap.mallctl("epoch", 1);
  return heap.mallctl("stats.allocated");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const liveSlots = (heap) => slotsLiveCount(heap.i32, heap.ctx.hdr.slotsB >>> 2);

async function until(what, fn, timeoutMs = 20_000) {
  const t0 = performance.now();
  while (!fn()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const scenarios = {
  /** The page and two workers share one heap: structs written in one thread, read and freed in another. */
  async shared() {
    const heap = Heap.create({ maxBytes: 64 << 20, conf: "narenas:2" });
    const base = allocatedBaseline(heap);
    const a = startWorker();
    const b = startWorker();
    await Promise.all([a.ready, b.ready]);
    const [ta, tb] = await Promise.all([
      a.call("attach", { buffer: heap.buffer }),
      b.call("attach", { buffer: heap.buffer }),
    ]);
    const fromA = await a.call("alloc", { n: 400, base: 1000 });
    const fromB = await b.call("alloc", { n: 300, base: 5000 });
    // The page reads what A wrote.
    let pageBad = 0;
    for (let i = 0; i < fromA.ptrs.length; i++) {
      if (Item.fields.id.get(heap, fromA.ptrs[i]) !== 1000 + i) pageBad++;
    }
    const half = fromA.ptrs.length / 2;
    // Cross-thread frees: B frees half of A's records, A frees B's, the page frees the rest of A's.
    const r1 = await b.call("verifyFree", { ptrs: fromA.ptrs.slice(0, half), base: 1000 });
    const r2 = await a.call("verifyFree", { ptrs: fromB.ptrs, base: 5000 });
    for (const p of fromA.ptrs.slice(half)) Item.free(heap, p);
    const pageOwn = Array.from({ length: 200 }, (_, i) =>
      Item.alloc(heap, { id: i, value: i, label: "page" }),
    );
    const checkLive = heap.check();
    for (const p of pageOwn) Item.free(heap, p);
    await Promise.all([a.call("detach"), b.call("detach")]);
    const checkEnd = heap.check();
    heap.mallctl("thread.tcache.flush");
    heap.mallctl("epoch", 1);
    const allocated = heap.mallctl("stats.allocated") - base;
    a.worker.terminate();
    b.worker.terminate();
    return {
      threadIds: [ta.threadId, tb.threadId, heap.threadId],
      pageBad,
      badA: r2.bad,
      badB: r1.bad,
      checkLiveExtents: checkLive.extents,
      checkEndExtents: checkEnd.extents,
      allocated,
      liveSlots: liveSlots(heap),
      canBlock: heap.ctx.lockCtx.canBlock,
      crossOriginIsolated: self.crossOriginIsolated,
    };
  },

  /** Background purge threads started from the page: module workers purge, the page stops them. */
  async background() {
    const heap = Heap.create({
      maxBytes: 64 << 20,
      conf: "narenas:2,max_background_threads:2,dirty_decay_ms:100,muzzy_decay_ms:0",
    });
    for (const arena of [0, 1]) {
      const ps = Array.from({ length: 8 }, () => heap.mallocx(64 << 10, MALLOCX_ARENA(arena)));
      for (const p of ps) heap.free(p);
    }
    const pdirty = () => {
      heap.mallctl("epoch", 1);
      return heap.mallctl("stats.arenas.0.pdirty") + heap.mallctl("stats.arenas.1.pdirty");
    };
    const dirtyBefore = pdirty();
    heap.mallctl("background_thread", true);
    const flagOn = heap.mallctl("background_thread");
    // Worker 0 starts; it asks the page to start worker 1 (arena 1's thread): page + 2 = 3 slots.
    await until("both background threads attached", () => liveSlots(heap) === 3);
    await until("background purge of the dirty pages", () => pdirty() === 0);
    const stats = {
      numThreads: Number(heap.mallctl("stats.background_thread.num_threads")),
      numRuns: Number(heap.mallctl("stats.background_thread.num_runs")),
    };
    const t0 = performance.now();
    heap.mallctl("background_thread", false); // joins without Atomics.wait on the page
    const stopMs = performance.now() - t0;
    const slotsAfterStop = liveSlots(heap);
    // Again, to see that records were reset.
    heap.mallctl("background_thread", true);
    await until("restart", () => liveSlots(heap) >= 2);
    heap.mallctl("background_thread", false);
    heap.check();
    return {
      dirtyBefore,
      flagOn,
      stats,
      stopMs,
      slotsAfterStop,
      slotsEnd: liveSlots(heap),
      flagEnd: heap.mallctl("background_thread"),
    };
  },

  /** An atomic field: wait refuses on the page (naming waitAsync); waitAsync resolves when a worker notifies. */
  async waitAsync() {
    const heap = Heap.create({ maxBytes: 16 << 20 });
    const w = startWorker();
    await w.ready;
    await w.call("attach", { buffer: heap.buffer });
    const p = Cell.alloc(heap);
    let waitError = "";
    try {
      Cell.fields.flag.wait(heap, p, 0, 10);
    } catch (e) {
      waitError = String(e.message);
    }
    const pending = Cell.fields.flag.waitAsync(heap, p, 0, 15_000);
    await w.call("notifyLater", { ptr: p, value: 7 });
    const notified = await pending;
    const value = Cell.fields.flag.load(heap, p);
    const notEqual = await Cell.fields.flag.waitAsync(heap, p, 0);
    const timedOut = await Cell.fields.flag.waitAsync(heap, p, 7, 10);
    // The worker can block: it sees the page's store.
    const blocking = w.call("waitBlocking", { ptr: p, expected: 7, timeoutMs: 15_000 });
    await sleep(20);
    Cell.fields.flag.store(heap, p, 8);
    Cell.fields.flag.notify(heap, p);
    const workerWait = (await blocking).result;
    Cell.free(heap, p);
    await w.call("detach");
    w.worker.terminate();
    return { waitError, notified, value, notEqual, timedOut, workerWait };
  },

  /** A worker that is terminated without detaching: the page reclaims its slot and cache. */
  async reclaim() {
    const heap = Heap.create({ maxBytes: 32 << 20, conf: "narenas:1" });
    const base = allocatedBaseline(heap);
    const w = startWorker();
    await w.ready;
    const { threadId } = await w.call("attach", { buffer: heap.buffer });
    let watchError = "";
    try {
      heap.watch(w.worker);
    } catch (e) {
      watchError = String(e.message);
    }
    heap.watch(w.worker, threadId);
    const { kept } = await w.call("churn", { n: 200 });
    const slotsBefore = liveSlots(heap);
    const reports = await heap.terminate(w.worker);
    const slotsAfter = liveSlots(heap);
    const check = heap.check();
    for (const p of kept) heap.free(p);
    heap.check();
    heap.mallctl("thread.tcache.flush");
    heap.mallctl("epoch", 1);
    return {
      threadId,
      watchError,
      slotsBefore,
      slotsAfter,
      reports,
      keptCount: kept.length,
      checkExtents: check.extents,
      allocated: heap.mallctl("stats.allocated") - base,
    };
  },

  /** Worker 0's script is missing (404): the start is undone when the load error arrives. */
  async backgroundFails() {
    const heap = Heap.create({ maxBytes: 16 << 20, conf: "narenas:1" });
    heap.free(heap.malloc(64));
    backgroundWorkerScriptSet({ url: new URL("/no-such/background_worker.js", location.href) });
    try {
      heap.mallctl("background_thread", true);
      const flagOn = heap.mallctl("background_thread");
      const threadsOn = bgNthreads(heap.ctx);
      await until("the rollback", () => heap.mallctl("background_thread") === false);
      return {
        flagOn,
        threadsOn,
        flagEnd: heap.mallctl("background_thread"),
        threadsEnd: bgNthreads(heap.ctx),
        slots: liveSlots(heap),
      };
    } finally {
      backgroundWorkerScriptSet(null);
    }
  },

  /** A lock a worker holds: the page spins (no Atomics.wait), then fails within lockTimeoutMs. */
  async pageLocks() {
    const heap = Heap.create({ maxBytes: 16 << 20, lockTimeoutMs: 300 });
    const w = startWorker();
    await w.ready;
    await w.call("attach", { buffer: heap.buffer });
    await w.call("holdCtl");
    let error = "";
    let name = "";
    try {
      heap.mallctl("epoch", 1);
    } catch (e) {
      error = String(e.message);
      name = e.name;
    }
    await w.call("releaseCtl");
    heap.mallctl("epoch", 1); // free again: succeeds
    await w.call("detach");
    w.worker.terminate();
    return { error, name, canBlock: heap.ctx.lockCtx.canBlock };
  },

  /** The heap map, drawn on the page. */
  async map() {
    const heap = Heap.create({ maxBytes: 32 << 20, conf: "narenas:2" });
    const ps = [];
    for (let i = 0; i < 500; i++) ps.push(heap.mallocx(16 + (i % 50) * 40, MALLOCX_ARENA(i % 2)));
    for (let i = 0; i < ps.length; i += 2) heap.free(ps[i]);
    const m = heap.map();
    const svg = heapMapSvg(m);
    const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
    return {
      parseError: doc.querySelector("parsererror") !== null,
      bands: [...doc.querySelectorAll("g.band")].map((g) => g.getAttribute("data-arena")),
      rects: doc.querySelectorAll("rect.extent").length,
      extentsDrawn: [...doc.querySelectorAll("rect.extent")].reduce(
        (n, r) => n + Number(r.getAttribute("data-count")),
        0,
      ),
      extents: m.extents.length,
    };
  },
};

window.scenarios = scenarios;
window.runScenario = async (name) => {
  try {
    return { ok: true, value: await scenarios[name]() };
  } catch (e) {
    return { ok: false, error: String(e?.stack ?? e) };
  }
};
document.getElementById("status").textContent = "ready";
window.pageReady = true;
