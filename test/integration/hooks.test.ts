/**
 * Extent hooks installed per arena (heap.ctx.hooks) and jemalloc's handling of their failures
 * (RELIABILITY.md F7, F8): a failing alloc hook makes malloc return 0 and leaves the heap intact;
 * split / merge hooks failing on every Nth call leave every live block intact, the heap consistent
 * and later allocations working; purge hooks see exactly the ranges decay gives back; by default a
 * forced purge leaves the data and marks the extent not zeroed (calloc clears it); with zeroOnPurge it
 * zero-fills, so calloc from a purged extent is served without clearing it again.
 */
import { describe, expect, it } from "vitest";
import type { ExtentHooks } from "../../src/ctx/ctx.js";
import { ENOMEM } from "../../src/errors.js";
import { pagesMap, pagesPurgeForced } from "../../src/extent/pages.js";
import type { Heap } from "../../src/heap.js";
import { arenaStat, clockedHeap, dirtyLarge, heapStat, smallHeap } from "../workers/bg-common.js";

const PAGE = 4096;

/** Deterministic PRNG (xorshift32) so every sweep replays the same workload. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const SIZES = [8, 100, 3000, 16384, 20000, 70000, 300000, 1 << 21];

interface Live {
  ptr: number;
  size: number;
  tag: number;
}

/** Fills a block with its tag (first, middle and last bytes are enough to catch overlaps). */
function stamp(heap: Heap, b: Live): void {
  heap.u8.fill(b.tag, b.ptr, b.ptr + b.size);
}

function intact(heap: Heap, b: Live): boolean {
  const u8 = heap.u8;
  return u8[b.ptr] === b.tag && u8[b.ptr + (b.size >>> 1)] === b.tag && u8[b.ptr + b.size - 1] === b.tag;
}

/**
 * A random workload of mallocs, frees and reallocs. Failures (0) are allowed; every live block keeps
 * its contents. Returns how many requests failed.
 */
function workload(heap: Heap, seed: number, steps: number, live: Live[]): number {
  const r = rng(seed);
  let failures = 0;
  let tag = 1;
  for (let i = 0; i < steps; i++) {
    const op = r();
    if (op < 0.55 || live.length === 0) {
      const size = SIZES[Math.floor(r() * SIZES.length)]!;
      const ptr = heap.malloc(size);
      if (ptr === 0) {
        expect(heap.lastError).toBe(ENOMEM);
        failures++;
        continue;
      }
      const b = { ptr, size, tag: (tag++ % 255) + 1 };
      stamp(heap, b);
      live.push(b);
    } else if (op < 0.85) {
      const j = Math.floor(r() * live.length);
      const b = live[j]!;
      expect(intact(heap, b)).toBe(true);
      heap.free(b.ptr);
      live.splice(j, 1);
    } else {
      const b = live[Math.floor(r() * live.length)]!;
      const size = SIZES[Math.floor(r() * SIZES.length)]!;
      const p = heap.realloc(b.ptr, size);
      if (p === 0) {
        failures++;
        expect(intact(heap, b)).toBe(true); // a failed realloc leaves the block as it was
        continue;
      }
      const keep = Math.min(size, b.size);
      expect(heap.u8[p]).toBe(b.tag);
      expect(heap.u8[p + keep - 1]).toBe(b.tag);
      b.ptr = p;
      b.size = size;
      stamp(heap, b);
    }
  }
  return failures;
}

function freeAll(heap: Heap, live: Live[]): void {
  for (const b of live) {
    expect(intact(heap, b)).toBe(true);
    heap.free(b.ptr);
  }
  live.length = 0;
}

/** Hooks whose `kind` call fails on calls N, 2N, 3N, …; the rest behave as the defaults. */
function failEveryNth(
  kind: "split" | "merge",
  n: number,
  counter: { calls: number; fails: number },
): ExtentHooks {
  const h = (): boolean => {
    counter.calls++;
    if (counter.calls % n === 0) {
      counter.fails++;
      return true;
    }
    return false;
  };
  return kind === "split" ? { split: h } : { merge: h };
}

describe("alloc hook failure (F7)", () => {
  it("malloc returns 0 with ENOMEM, live blocks stay intact, and the heap works once the hook does", () => {
    const heap = smallHeap("dirty_decay_ms:-1");
    const live: Live[] = [];
    workload(heap, 7, 200, live);
    let calls = 0;
    const failing: ExtentHooks = {
      alloc: () => {
        calls++;
        return null;
      },
    };
    // Arena 0 and the huge arena (index 1 here), which serves requests ≥ oversize_threshold.
    heap.ctx.hooks.set(0, failing);
    heap.ctx.hooks.set(1, failing);
    // More than all the caches hold together: only new address space can serve it.
    const cached =
      heapStat(heap, "retained") + (arenaStat(heap, 0, "pdirty") + arenaStat(heap, 0, "pmuzzy")) * PAGE;
    const want = cached + (4 << 20);
    const big = heap.malloc(want);
    expect(big).toBe(0);
    expect(heap.lastError).toBe(ENOMEM);
    expect(calls).toBeGreaterThan(0);
    for (const b of live) expect(intact(heap, b)).toBe(true);
    heap.check();
    // Requests the caches can serve still succeed under the failing hook.
    const small = heap.malloc(100);
    expect(small).not.toBe(0);
    heap.free(small);
    heap.ctx.hooks.clear();
    const again = heap.malloc(want);
    expect(again).not.toBe(0);
    heap.free(again);
    freeAll(heap, live);
    heap.check();
  });

  it("fail-every-Nth alloc hook: every failed growth returns 0 and earlier regions remain usable", () => {
    for (let n = 1; n <= 4; n++) {
      const heap = smallHeap("dirty_decay_ms:0,retain:true");
      const ctx = heap.ctx;
      let calls = 0;
      let failed = 0;
      heap.ctx.hooks.set(0, {
        alloc: (size) => {
          calls++;
          if (calls % n === 0) {
            failed++;
            return null;
          }
          return pagesMap(ctx, size) || null;
        },
      });
      const live: Live[] = [];
      const failures = workload(heap, 100 + n, 300, live);
      expect(calls).toBeGreaterThan(0);
      if (n === 1) expect(failures).toBeGreaterThan(0);
      expect(failures).toBeLessThanOrEqual(failed * 2 + 300);
      heap.check();
      heap.ctx.hooks.delete(0);
      for (const size of SIZES) {
        const p = heap.malloc(size);
        expect(p, `malloc(${size}) after the hook was removed (n = ${n})`).not.toBe(0);
        heap.free(p);
      }
      freeAll(heap, live);
      heap.check();
    }
  });
});

describe("split and merge hook failures (F8)", () => {
  for (const kind of ["split", "merge"] as const) {
    it(`${kind} failing on every Nth call: blocks intact, heap consistent, allocation works afterwards`, () => {
      for (const n of [1, 2, 3, 5, 8]) {
        const heap = smallHeap("dirty_decay_ms:0,muzzy_decay_ms:0");
        const counter = { calls: 0, fails: 0 };
        heap.ctx.hooks.set(0, failEveryNth(kind, n, counter));
        const live: Live[] = [];
        workload(heap, 31 * n + (kind === "merge" ? 1 : 0), 400, live);
        expect(counter.calls, `${kind} hook never called (n = ${n})`).toBeGreaterThan(0);
        expect(counter.fails).toBeGreaterThan(0);
        for (const b of live) expect(intact(heap, b)).toBe(true);
        heap.check();
        heap.ctx.hooks.delete(0);
        workload(heap, 999, 200, live);
        freeAll(heap, live);
        heap.check();
        for (const size of SIZES) {
          const p = heap.calloc(1, size);
          expect(p).not.toBe(0);
          expect(heap.u8[p + size - 1]).toBe(0);
          heap.free(p);
        }
        heap.check();
      }
    });
  }

  it("a failed merge leaves both neighbours in the cache, each reusable on its own", () => {
    const heap = smallHeap("dirty_decay_ms:-1");
    const a = heap.malloc(16384);
    const b = heap.malloc(16384);
    const guard = heap.malloc(16384); // keeps b's upper neighbour busy
    let merges = 0;
    heap.ctx.hooks.set(0, {
      merge: () => {
        merges++;
        return true;
      },
    });
    heap.free(a);
    heap.free(b);
    expect(merges).toBeGreaterThan(0);
    expect(arenaStat(heap, 0, "pdirty")).toBe(10); // two 5-page extents, not merged
    heap.check();
    const got = [heap.malloc(16384), heap.malloc(16384)]
      .map((p) => Math.floor(p / PAGE) * PAGE)
      .sort((x, y) => x - y);
    expect(got).toEqual([a, b].map((p) => Math.floor(p / PAGE) * PAGE).sort((x, y) => x - y));
    expect(arenaStat(heap, 0, "pdirty")).toBe(0);
    heap.free(guard);
    heap.check();
  });
});

describe("purge hooks", () => {
  it("decay calls purge_forced on exactly the freed extents (decay 0), and the pages read zero", () => {
    const heap = smallHeap("dirty_decay_ms:0,muzzy_decay_ms:0", { zeroOnPurge: true });
    const ctx = heap.ctx;
    const calls: [number, number, number, number][] = [];
    heap.ctx.hooks.set(0, {
      purgeForced: (addr, size, offset, length) => {
        calls.push([addr, size, offset, length]);
        return pagesPurgeForced(ctx, addr + offset, length);
      },
    });
    const guards: number[] = [];
    const blocks: number[] = [];
    for (let i = 0; i < 6; i++) {
      blocks.push(heap.malloc(20000 + i * PAGE));
      guards.push(heap.malloc(16384)); // keeps the freed blocks apart
    }
    for (const p of blocks) heap.u8.fill(0xee, p, p + 20000);
    const purged0 = arenaStat(heap, 0, "dirty_purged");
    for (const p of blocks) heap.free(p);
    expect(calls.length).toBe(blocks.length);
    for (const [i, p] of blocks.entries()) {
      const [addr, size, offset, length] = calls[i]!;
      expect(addr % PAGE).toBe(0);
      expect(offset).toBe(0);
      expect(length).toBe(size);
      // The whole extent: the block (with its cache-oblivious pad) lies inside it.
      expect(p).toBeGreaterThanOrEqual(addr);
      expect(p + 20000 + i * PAGE).toBeLessThanOrEqual(addr + size);
      expect(size).toBe(heap.ctx.sc.s2u(20000 + i * PAGE) + PAGE);
      expect(heap.u8[p]).toBe(0);
    }
    const pages = calls.reduce((s, c) => s + c[1] / PAGE, 0);
    expect(arenaStat(heap, 0, "dirty_purged") - purged0).toBe(pages);
    expect(arenaStat(heap, 0, "pdirty")).toBe(0);
    for (const g of guards) heap.free(g);
    heap.check();
  });

  it("with muzzy decay on, decay sends dirty pages through purge_lazy, then muzzy ones through purge_forced", () => {
    const { heap, clock } = clockedHeap("dirty_decay_ms:100,muzzy_decay_ms:100", { zeroOnPurge: true });
    const ctx = heap.ctx;
    const lazy: [number, number][] = [];
    const forced: [number, number][] = [];
    heap.ctx.hooks.set(0, {
      purgeLazy: (addr, size) => {
        lazy.push([addr, size]);
        return false;
      },
      purgeForced: (addr, size) => {
        forced.push([addr, size]);
        return pagesPurgeForced(ctx, addr, size);
      },
    });
    const ptrs = dirtyLarge(heap, 4, 64 << 10);
    const pdirty = arenaStat(heap, 0, "pdirty");
    expect(pdirty).toBeGreaterThan(0);
    const step = (ms: number): void => {
      clock.ms = ms;
      heap.mallctl("arena.0.decay");
    };
    step(1000); // the epoch advance that records the freed pages: nothing is due yet
    expect(lazy.length).toBe(0);
    step(2000); // a whole decay time later: all dirty pages go to muzzy, lazily
    expect(lazy.reduce((s, c) => s + c[1], 0)).toBe(pdirty * PAGE);
    expect(forced.length).toBe(0);
    expect(arenaStat(heap, 0, "pdirty")).toBe(0);
    expect(arenaStat(heap, 0, "pmuzzy")).toBe(pdirty);
    expect(heap.u8[ptrs[0]!]).toBe(0xa5); // MADV_FREE: the data may stay
    step(3000);
    step(4000);
    expect(forced.reduce((s, c) => s + c[1], 0)).toBe(pdirty * PAGE);
    expect(arenaStat(heap, 0, "pmuzzy")).toBe(0);
    expect(arenaStat(heap, 0, "muzzy_purged")).toBe(pdirty);
    expect(heap.u8[ptrs[0]!]).toBe(0);
    heap.check();
  });

  it("arena.<i>.purge sends dirty pages straight to retained through purge_forced (no lazy step)", () => {
    const heap = smallHeap("dirty_decay_ms:10000,muzzy_decay_ms:10000");
    const ctx = heap.ctx;
    let lazy = 0;
    let forcedBytes = 0;
    heap.ctx.hooks.set(0, {
      purgeLazy: () => {
        lazy++;
        return false;
      },
      purgeForced: (addr, size) => {
        forcedBytes += size;
        pagesPurgeForced(ctx, addr, size);
        return false;
      },
    });
    dirtyLarge(heap, 4, 64 << 10);
    const pdirty = arenaStat(heap, 0, "pdirty");
    const retained0 = heapStat(heap, "retained");
    heap.mallctl("arena.0.purge");
    expect(lazy).toBe(0);
    expect(forcedBytes).toBe(pdirty * PAGE);
    expect(arenaStat(heap, 0, "pdirty")).toBe(0);
    expect(heapStat(heap, "retained") - retained0).toBe(pdirty * PAGE);
    heap.check();
  });

  it("by default a forced purge keeps the data and marks the extent not zeroed: calloc clears it", () => {
    const heap = smallHeap("dirty_decay_ms:0,muzzy_decay_ms:0");
    const p = heap.malloc(1 << 20);
    heap.u8.fill(0x5a, p, p + (1 << 20));
    const retained0 = heapStat(heap, "retained");
    heap.free(p);
    // Purged to retained with the usual accounting, but not zero-filled (a SharedArrayBuffer keeps it).
    expect(heapStat(heap, "retained")).toBeGreaterThan(retained0);
    expect(arenaStat(heap, 0, "pdirty")).toBe(0);
    expect(heap.u8[p]).toBe(0x5a);
    const q = heap.calloc(1, 1 << 20);
    expect(Math.floor(q / PAGE)).toBeLessThanOrEqual(Math.floor(p / PAGE) + 1);
    expect(heap.u8.subarray(q, q + (1 << 20)).every((x) => x === 0)).toBe(true);
    heap.free(q);
    // MALLOCX_ZERO through mallocx clears as well.
    const r = heap.malloc(1 << 20);
    heap.u8.fill(0x77, r, r + (1 << 20));
    heap.free(r);
    const s = heap.mallocx(1 << 20, 0x40);
    expect(heap.u8.subarray(s, s + (1 << 20)).every((x) => x === 0)).toBe(true);
    heap.free(s);
    heap.check();
  });

  it("zeroOnPurge: a forced purge zero-fills, so calloc from a purged extent needs no clearing (shown by a hook that lies)", () => {
    const heap = smallHeap("dirty_decay_ms:0,muzzy_decay_ms:0", { zeroOnPurge: true });
    const p = heap.malloc(1 << 20);
    heap.u8.fill(0x5a, p, p + (1 << 20));
    heap.free(p);
    expect(heap.u8[p]).toBe(0);
    expect(heap.u8[p + (1 << 20) - 1]).toBe(0);
    const q = heap.calloc(1, 1 << 20);
    expect(q).not.toBe(0);
    expect(heap.u8.subarray(q, q + (1 << 20)).every((x) => x === 0)).toBe(true);
    heap.free(q);
    heap.check();

    // A purge_forced hook that reports success without zeroing: calloc trusts the purge and does
    // not clear the extent again, so the stale bytes show through.
    const liar = smallHeap("dirty_decay_ms:0,muzzy_decay_ms:0");
    liar.ctx.hooks.set(0, { purgeForced: () => false });
    const r = liar.malloc(1 << 20);
    liar.u8.fill(0x5a, r, r + (1 << 20));
    liar.free(r);
    expect(liar.u8[r]).toBe(0x5a);
    const s = liar.calloc(1, 1 << 20);
    expect(s).not.toBe(0);
    expect(Math.floor(s / PAGE)).toBeLessThanOrEqual(Math.floor(r / PAGE) + 1);
    expect(liar.u8[s + 4096]).toBe(0x5a);
    // A purge hook that fails makes the extent non-zeroed: calloc clears it.
    const honest = smallHeap("dirty_decay_ms:0,muzzy_decay_ms:0");
    honest.ctx.hooks.set(0, { purgeForced: () => true, purgeLazy: () => true });
    const u = honest.malloc(1 << 20);
    honest.u8.fill(0x5a, u, u + (1 << 20));
    honest.free(u);
    expect(honest.u8[u]).toBe(0x5a);
    const v = honest.calloc(1, 1 << 20);
    expect(honest.u8.subarray(v, v + (1 << 20)).every((x) => x === 0)).toBe(true);
    honest.check();
    expect(heapStat(honest, "retained")).toBeGreaterThanOrEqual(0);
  });
});
