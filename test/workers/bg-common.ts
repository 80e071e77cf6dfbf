/**
 * Helpers shared by the background-thread, decay and hook tests: background workers run from the
 * TypeScript sources through the tsx bootstrap, heaps full of dirty pages, stats reads, polling.
 */
import { backgroundThreadMaxSet, backgroundWorkerScriptSet } from "../../src/background/index.js";
import {
  BG_INDEFINITE,
  INFO_STARTED,
  INFO_STATE_B,
  INFO_WAKE_SEQ_B,
  infoB,
} from "../../src/background/layout.js";
import { bgRegion, infoWakeupTimeSet } from "../../src/background/wake.js";
import { HDR_BG_THREADS_B } from "../../src/ctx/header.js";
import { Heap, type HeapCreateOptions } from "../../src/heap.js";

/** Background workers run src/heap/background_worker.ts through test/helpers/ts-worker.mjs. */
export function useTsBackgroundWorkers(): void {
  backgroundWorkerScriptSet({
    url: new URL("../helpers/ts-worker.mjs", import.meta.url),
    data: { __entry: new URL("../../src/heap/background_worker.ts", import.meta.url).href },
  });
}

/** stats.arenas.<i>.<name> after an epoch refresh. */
export function arenaStat(heap: Heap, arena: number, name: string): number {
  heap.mallctl("epoch", 1);
  return Number(heap.mallctl(`stats.arenas.${arena}.${name}`));
}

/** A global stat (stats.<name>) after an epoch refresh. */
export function heapStat(heap: Heap, name: string): number {
  heap.mallctl("epoch", 1);
  return Number(heap.mallctl(`stats.${name}`));
}

/** Allocates `n` large blocks of `size` bytes, writes to them, frees them; returns their addresses. */
export function dirtyLarge(heap: Heap, n: number, size: number): number[] {
  const ptrs: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = heap.malloc(size);
    if (p === 0) throw new Error(`dirtyLarge: malloc(${size}) failed at ${i}`);
    heap.u8.fill(0xa5, p, p + size);
    ptrs.push(p);
  }
  for (const p of ptrs) heap.free(p);
  return ptrs;
}

/** A one-arena heap without thread cache (every free reaches the page allocator). */
export function smallHeap(conf: string, options: HeapCreateOptions = {}): Heap {
  const full = conf === "" ? "tcache:false,narenas:1" : `tcache:false,narenas:1,${conf}`;
  return Heap.create({ maxBytes: 256 << 20, envConf: null, ...options, conf: full });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `pred` every `everyMs` until it holds; returns the ms it took, or -1 after `timeoutMs`. */
export async function waitFor(pred: () => boolean, timeoutMs: number, everyMs = 20): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (pred()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) return -1;
    await sleep(everyMs);
  }
}

// ---- probes for core wiring (see the background-thread report: src/heap/boot.ts, src/heap.ts,
// src/arena/arena.ts and src/extent/pac.ts call into src/background/wake.ts) ----------------------

/** Heap.create with the default (shared wall) clock works: the clock yields integer nanoseconds. */
export function defaultClockWorks(): boolean {
  try {
    Heap.create({ maxBytes: 16 << 20, envConf: null, conf: "tcache:false,narenas:1" }).detach();
    return true;
  } catch (err) {
    if (err instanceof RangeError && /integer number of ns/.test(err.message)) return false;
    throw err;
  }
}

/**
 * Frees reach backgroundInactivityCheck: with the flag on and a (pretend) worker 0 sleeping
 * indefinitely, freeing a large block must bump worker 0's wake word.
 */
export function wakeWired(): boolean {
  const heap = Heap.createVirtual(
    { maxBytes: 16 << 20, envConf: null, conf: "tcache:false,narenas:1" },
    () => 0,
  );
  try {
    backgroundThreadMaxSet(heap, 4); // carves the region without starting anything
    const ctx = heap.ctx;
    const info0 = infoB(bgRegion(ctx), 0);
    Atomics.store(ctx.i32, (info0 + INFO_STATE_B) >>> 2, INFO_STARTED);
    infoWakeupTimeSet(ctx, info0, BG_INDEFINITE);
    Atomics.store(ctx.i32, HDR_BG_THREADS_B >>> 2, 1);
    heap.free(heap.malloc(1 << 16));
    const woke = Atomics.load(ctx.i32, (info0 + INFO_WAKE_SEQ_B) >>> 2) !== 0;
    Atomics.store(ctx.i32, HDR_BG_THREADS_B >>> 2, 0);
    Atomics.store(ctx.i32, (info0 + INFO_STATE_B) >>> 2, 0);
    return woke;
  } finally {
    heap.detach();
  }
}

/** A heap whose clock the test moves: `clock.ms` is the time since creation, in ms. */
export function clockedHeap(
  conf: string,
  options: HeapCreateOptions = {},
): { heap: Heap; clock: { ms: number } } {
  const clock = { ms: 0 };
  const base = performance.timeOrigin + performance.now();
  const heap = smallHeap(conf, { ...options, clock: () => base + clock.ms });
  return { heap, clock };
}
