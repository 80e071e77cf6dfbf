/**
 * Decay and the clock at heap level (RELIABILITY.md F9): with an injected clock that stands still,
 * jumps forward hours, or goes backwards, the heap purges exactly as jemalloc's decay does — nothing
 * on non-monotonic time, the limit following the smoothstep curve epoch by epoch, no negative
 * counter — and heap.check() passes. Also: the default clock is one clock for every worker.
 */
import { describe, expect, it } from "vitest";
import { decayEpochNs, decayIntervalNs, decayNpagesLimit, SMOOTHSTEP_H } from "../../src/decay/index.js";
import { esetNpages } from "../../src/extent/eset.js";
import type { Heap } from "../../src/heap.js";
import { firstMessage, spawnTsWorker } from "../helpers/spawn.js";
import { arenaStat, clockedHeap, smallHeap } from "../workers/bg-common.js";

const EXTENT_PAGES = 5; // a 16 KiB large block plus its cache-oblivious pad page

/** 64 freed 5-page extents kept apart by live neighbours (so decay can purge them one by one). */
function scatteredDirty(heap: Heap): { freed: number[]; keep: number[] } {
  const freed: number[] = [];
  const keep: number[] = [];
  for (let i = 0; i < 64; i++) {
    freed.push(heap.malloc(16384));
    keep.push(heap.malloc(16384));
  }
  for (const p of freed) heap.free(p);
  return { freed, keep };
}

function dirtyDecayB(heap: Heap): number {
  return heap.arenaRecord(0) + heap.ctx.arenaLayout.decayDirtyB;
}

/** npages_limit for N pages recorded k epochs ago: floor(N · h[199 − k] / 2^24), 0 from k = 200. */
function modelLimit(n: number, k: number): number {
  return k >= 200 ? 0 : Math.floor((n * SMOOTHSTEP_H[199 - k]!) / 2 ** 24);
}

const COUNTERS = [
  "pactive",
  "pdirty",
  "pmuzzy",
  "mapped",
  "retained",
  "resident",
  "base",
  "dirty_npurge",
  "dirty_nmadvise",
  "dirty_purged",
  "muzzy_npurge",
  "muzzy_nmadvise",
  "muzzy_purged",
];

function expectNoNegativeCounter(heap: Heap): void {
  for (const name of COUNTERS) {
    const v = arenaStat(heap, 0, name);
    expect(Number.isFinite(v) && v >= 0, `stats.arenas.0.${name} = ${v}`).toBe(true);
  }
}

/** Pages in arena 0's dirty cache, read straight from the buffer (what stats pdirty reports). */
function pdirtyNow(heap: Heap): number {
  return esetNpages(heap.ctx, heap.arenaRecord(0) + heap.ctx.arenaLayout.ecacheDirtyB);
}

/** Sets the clock, runs one unforced decay pass (arena.0.decay), returns pdirty. */
function decayAt(heap: Heap, clock: { ms: number }, ms: number): number {
  clock.ms = ms;
  heap.mallctl("arena.0.decay");
  return pdirtyNow(heap);
}

/** Small allocations and frees: the ticker's decay passes, at the current clock. */
function ticks(heap: Heap, n: number): void {
  for (let i = 0; i < n; i++) heap.free(heap.malloc(48));
}

describe("decay on the heap's clock (F9)", () => {
  it("follows the smoothstep curve epoch by epoch, purging whole extents down to the limit", () => {
    const { heap, clock } = clockedHeap("dirty_decay_ms:1000,muzzy_decay_ms:0");
    const { keep } = scatteredDirty(heap);
    const n = arenaStat(heap, 0, "pdirty");
    expect(n).toBe(64 * EXTENT_PAGES);
    const d = dirtyDecayB(heap);
    const interval = decayIntervalNs(heap.ctx, d);
    expect(interval).toBe(5_000_000);
    expect(decayAt(heap, clock, 20)).toBe(n); // the advance that records the pages: nothing due
    const epochRec = decayEpochNs(heap.ctx, d);
    let prev = n;
    let sawPartial = false;
    for (let ms = 27; ms <= 1300; ms += 7) {
      const pd = decayAt(heap, clock, ms);
      const k = (decayEpochNs(heap.ctx, d) - epochRec) / interval;
      expect(Number.isInteger(k)).toBe(true);
      const limit = modelLimit(n, k);
      expect(decayNpagesLimit(heap.ctx, d)).toBe(limit);
      expect(pd).toBeLessThanOrEqual(limit);
      expect(pd).toBeGreaterThan(limit - EXTENT_PAGES);
      expect(pd).toBeLessThanOrEqual(prev);
      if (pd > 0 && pd < n) sawPartial = true;
      prev = pd;
    }
    expect(sawPartial).toBe(true);
    expect(prev).toBe(0);
    expect(arenaStat(heap, 0, "dirty_purged")).toBe(n);
    expect(arenaStat(heap, 0, "dirty_nmadvise")).toBe(64);
    expectNoNegativeCounter(heap);
    for (const p of keep) heap.free(p);
    heap.check();
  });

  it("time standing still: no purge, however many decay passes and ticks", () => {
    const { heap, clock } = clockedHeap("dirty_decay_ms:1000,muzzy_decay_ms:0");
    scatteredDirty(heap);
    const n = arenaStat(heap, 0, "pdirty");
    decayAt(heap, clock, 20);
    const pd = decayAt(heap, clock, 500); // some purged: the frozen point is mid-curve
    expect(pd).toBeLessThan(n);
    const d = dirtyDecayB(heap);
    const epoch = decayEpochNs(heap.ctx, d);
    const limit = decayNpagesLimit(heap.ctx, d);
    const npurge = arenaStat(heap, 0, "dirty_npurge");
    for (let i = 0; i < 50; i++) expect(decayAt(heap, clock, 500)).toBe(pd);
    ticks(heap, 3000);
    expect(arenaStat(heap, 0, "pdirty")).toBe(pd);
    expect(decayEpochNs(heap.ctx, d)).toBe(epoch);
    expect(decayNpagesLimit(heap.ctx, d)).toBe(limit);
    expect(arenaStat(heap, 0, "dirty_npurge")).toBe(npurge);
    expectNoNegativeCounter(heap);
    heap.check();
  });

  it("a jump forward by hours purges everything in one pass, with whole epochs and exact counters", () => {
    const { heap, clock } = clockedHeap("dirty_decay_ms:1000,muzzy_decay_ms:0");
    scatteredDirty(heap);
    const n = arenaStat(heap, 0, "pdirty");
    decayAt(heap, clock, 20);
    const d = dirtyDecayB(heap);
    const epochRec = decayEpochNs(heap.ctx, d);
    const npurge0 = arenaStat(heap, 0, "dirty_npurge");
    expect(decayAt(heap, clock, 20 + 3 * 3600_000)).toBe(0);
    const interval = decayIntervalNs(heap.ctx, d);
    expect(Number.isInteger((decayEpochNs(heap.ctx, d) - epochRec) / interval)).toBe(true);
    expect(decayEpochNs(heap.ctx, d)).toBeGreaterThan(epochRec + 3 * 3600e9 - 2 * interval);
    expect(decayNpagesLimit(heap.ctx, d)).toBe(0);
    expect(arenaStat(heap, 0, "dirty_npurge")).toBe(npurge0 + 1);
    expect(arenaStat(heap, 0, "dirty_purged")).toBe(n);
    // Hours later still: the heap keeps working and ticking (only the ticks' own slab may be dirty).
    clock.ms += 5 * 3600_000;
    ticks(heap, 3000);
    expect(arenaStat(heap, 0, "pdirty")).toBeLessThan(EXTENT_PAGES);
    expect(arenaStat(heap, 0, "dirty_purged")).toBeGreaterThanOrEqual(n);
    expectNoNegativeCounter(heap);
    heap.check();
  });

  it("time going backwards purges nothing, re-bases the epoch, and the curve resumes from there", () => {
    const { heap, clock } = clockedHeap("dirty_decay_ms:1000,muzzy_decay_ms:0");
    scatteredDirty(heap);
    const n = arenaStat(heap, 0, "pdirty");
    decayAt(heap, clock, 20);
    const pd = decayAt(heap, clock, 400);
    expect(pd).toBeLessThan(n);
    expect(pd).toBeGreaterThan(0);
    const d = dirtyDecayB(heap);
    const npurge = arenaStat(heap, 0, "dirty_npurge");
    // 300 ms back: no purge, the epoch starts over at the new (earlier) time.
    expect(decayAt(heap, clock, 100)).toBe(pd);
    expect(decayEpochNs(heap.ctx, d)).toBe(heap.ctx.nowNs());
    ticks(heap, 3000);
    expect(arenaStat(heap, 0, "pdirty")).toBe(pd);
    // Before the heap's own origin: the clock reads 0, still no purge and no error.
    expect(decayAt(heap, clock, -60_000)).toBe(pd);
    expect(heap.ctx.nowNs()).toBe(0);
    expect(arenaStat(heap, 0, "dirty_npurge")).toBe(npurge);
    // Forward again: purging resumes and finishes within one decay time of the re-based epoch.
    let last = pd;
    for (let ms = 10; ms <= 1100; ms += 10) {
      const now = decayAt(heap, clock, ms);
      expect(now).toBeLessThanOrEqual(last);
      last = now;
    }
    expect(last).toBe(0);
    expect(arenaStat(heap, 0, "dirty_purged")).toBe(n);
    expectNoNegativeCounter(heap);
    heap.check();
  });
});

describe("one clock for every worker", () => {
  it("ctx.nowNs() in a worker agrees with the creating thread's within a few ms", async () => {
    const heap = smallHeap("");
    const rounds = 20;
    const sync = new SharedArrayBuffer(8);
    const out = new SharedArrayBuffer(8 * rounds);
    const raw = new SharedArrayBuffer(8 * rounds);
    const s = new Int32Array(sync);
    const o = new Float64Array(out);
    const r = new Float64Array(raw);
    const w = spawnTsWorker(new URL("../workers/bg-clock.ts", import.meta.url), {
      buffer: heap.buffer,
      sync,
      out,
      raw,
      rounds,
    });
    expect(await firstMessage<string>(w)).toBe("ready");
    const exited = new Promise<number>((res) => w.once("exit", res));
    for (let i = 0; i < rounds; i++) {
      const before = heap.ctx.nowNs();
      Atomics.store(s, 0, 2 * i + 1);
      Atomics.notify(s, 0);
      while (Atomics.load(s, 0) !== 2 * i + 2) Atomics.wait(s, 0, 2 * i + 1, 1000);
      const after = heap.ctx.nowNs();
      // Node gives workers the process's timeOrigin; the heap clock does not depend on that.
      expect(Math.abs(r[i]! - performance.now())).toBeLessThan(1000);
      expect(Number.isSafeInteger(o[i])).toBe(true);
      expect(o[i]!).toBeGreaterThanOrEqual(before - 3e6);
      expect(o[i]!).toBeLessThanOrEqual(after + 3e6);
    }
    expect(await exited).toBe(0);
    heap.check();
  });
});
