/**
 * Extent hooks answering badly (issue 11): an alloc hook's address is checked (a page-aligned range
 * inside the mapped heap, above the header, overlapping no extent and no metadata), a boolean hook's
 * answer counts as success only when it is exactly `false`, and a hook that throws has failed. Every
 * bad answer gets jemalloc's failure semantics: the allocation returns 0 with ENOMEM, live blocks keep
 * their contents, check() passes, and the heap works once the hook behaves.
 */
import { describe, expect, it } from "vitest";
import type { ExtentHooks } from "../../src/ctx/ctx.js";
import { HDR_BASE0_B, HDR_TOP_B } from "../../src/ctx/header.js";
import { ENOMEM } from "../../src/errors.js";
import { edataBase } from "../../src/extent/edata.js";
import { pagesMap } from "../../src/extent/pages.js";
import { lookupLive } from "../../src/heap/ops.js";
import type { Heap } from "../../src/heap.js";
import { smallHeap } from "../workers/bg-common.js";

const PAGE = 4096;
const BIG = 8 << 20;

interface Fixture {
  heap: Heap;
  live: { p: number; size: number; tag: number }[];
  /** Page-aligned start of a live large block, of a freed (cached) one, and of metadata. */
  liveLarge: number;
  cachedLarge: number;
  metadata: number;
}

function fixture(): Fixture {
  const heap = smallHeap("dirty_decay_ms:-1,muzzy_decay_ms:-1");
  const live: Fixture["live"] = [];
  for (const [i, size] of [100, 3000, 40000, 300000, 1 << 20].entries()) {
    const p = heap.malloc(size);
    heap.u8.fill(i + 1, p, p + size);
    live.push({ p, size, tag: i + 1 });
  }
  const gone = heap.malloc(200000);
  const guard = heap.malloc(20000);
  live.push({ p: guard, size: 20000, tag: 9 });
  heap.u8.fill(9, guard, guard + 20000);
  const cachedLarge = edataBase(heap.ctx.u32, lookupLive(heap.ctx, gone));
  heap.free(gone);
  const liveLarge = edataBase(heap.ctx.u32, lookupLive(heap.ctx, live[3]!.p));
  const metadata = Math.floor(heap.ctx.u32[HDR_BASE0_B >>> 2]! / PAGE) * PAGE;
  return { heap, live, liveLarge, cachedLarge, metadata };
}

function intact(f: Fixture): void {
  for (const b of f.live) {
    const u8 = f.heap.u8;
    expect(u8[b.p] === b.tag && u8[b.p + b.size - 1] === b.tag, `block ${b.p} overwritten`).toBe(true);
  }
}

function topOf(heap: Heap): number {
  return heap.ctx.f64[HDR_TOP_B >>> 3]!;
}

/** Answers a hook might give, each a function of the fixture and the request. */
const BAD_ALLOC: [string, (f: Fixture, size: number) => unknown][] = [
  ["NaN", () => Number.NaN],
  ["Infinity", () => Number.POSITIVE_INFINITY],
  ["a string", () => "4096"],
  ["a bigint", () => 4096n],
  ["an object", () => ({ addr: 4096 })],
  ["true", () => true],
  ["a non-integer", (f) => topOf(f.heap) + 0.5],
  ["a negative address", () => -PAGE],
  ["an unaligned address", (f) => f.cachedLarge + 8],
  ["an address inside the header", () => PAGE],
  ["an address past the buffer", () => 2 ** 40],
  ["an address past the mapped top", (f) => Math.ceil(topOf(f.heap) / PAGE) * PAGE],
  ["a live block's extent", (f) => f.liveLarge],
  ["the interior of a live extent", (f) => f.liveLarge + 2 * PAGE],
  ["a range reaching into a live extent from below", (f) => f.liveLarge - PAGE],
  ["a cached (freed) extent", (f) => f.cachedLarge],
  ["allocator metadata", (f) => f.metadata],
  ["a range ending past the mapped top", (f, size) => Math.floor((topOf(f.heap) - size / 2) / PAGE) * PAGE],
];

describe("alloc hook answers are validated", () => {
  for (const [what, answer] of BAD_ALLOC) {
    it(`${what}: malloc fails with ENOMEM, nothing is touched, the heap works afterwards`, () => {
      const f = fixture();
      const { heap } = f;
      let calls = 0;
      const hooks: ExtentHooks = {
        alloc: (size) => {
          calls++;
          return answer(f, size) as number;
        },
      };
      heap.ctx.hooks.set(0, hooks);
      heap.ctx.hooks.set(1, hooks);
      expect(heap.malloc(BIG)).toBe(0);
      expect(heap.lastError).toBe(ENOMEM);
      expect(calls).toBeGreaterThan(0);
      intact(f);
      heap.check();
      heap.ctx.hooks.clear();
      const p = heap.malloc(BIG);
      expect(p).not.toBe(0);
      heap.free(p);
      intact(f);
      heap.check();
    });
  }

  it("a hook that throws has failed: 0 with ENOMEM, heap intact", () => {
    const f = fixture();
    const boom: ExtentHooks = {
      alloc: () => {
        throw new Error("hook exploded");
      },
    };
    f.heap.ctx.hooks.set(0, boom);
    f.heap.ctx.hooks.set(1, boom);
    expect(f.heap.malloc(BIG)).toBe(0);
    expect(f.heap.lastError).toBe(ENOMEM);
    intact(f);
    f.heap.check();
  });

  it("good answers are accepted: fresh pages at the top, and pages from the hook's own reserve", () => {
    const f = fixture();
    const { heap } = f;
    const ctx = heap.ctx;
    // A reserve mapped before the allocation, so the answer lies below the top the heap sees.
    const reserve = pagesMap(ctx, 64 << 20);
    let next = reserve;
    let served = 0;
    const hooks: ExtentHooks = {
      alloc: (size, alignment) => {
        next = Math.ceil(next / Math.max(alignment, PAGE)) * Math.max(alignment, PAGE);
        if (next + size > reserve + (64 << 20)) return pagesMap(ctx, size) || null;
        const r = next;
        next += size;
        served++;
        return r;
      },
    };
    heap.ctx.hooks.set(0, hooks);
    heap.ctx.hooks.set(1, hooks);
    const p = heap.malloc(BIG);
    expect(p).not.toBe(0);
    expect(served).toBeGreaterThan(0);
    expect(p >= reserve && p < reserve + (64 << 20)).toBe(true);
    heap.u8.fill(7, p, p + BIG);
    intact(f);
    heap.check();
    heap.free(p);
    heap.check();
  });
});

describe("boolean hooks answering something else than a boolean", () => {
  for (const [what, answer] of [
    ["undefined", undefined],
    ["0", 0],
    ["a string", "false"],
  ] as const) {
    it(`a merge hook answering ${what} has refused: both neighbours stay separate in the cache`, () => {
      const heap = smallHeap("dirty_decay_ms:-1");
      const a = heap.malloc(16384);
      const b = heap.malloc(16384);
      const guard = heap.malloc(16384);
      let merges = 0;
      heap.ctx.hooks.set(0, {
        merge: () => {
          merges++;
          return answer as unknown as boolean;
        },
      });
      heap.free(a);
      heap.free(b);
      expect(merges).toBeGreaterThan(0);
      heap.mallctl("epoch", 1);
      expect(Number(heap.mallctl("stats.arenas.0.pdirty"))).toBe(10); // two 5-page extents
      heap.check();
      heap.free(guard);
    });
  }

  const odd: [string, () => unknown][] = [
    ["undefined", () => undefined],
    ["0", () => 0],
    ["1", () => 1],
    ["a string", () => "false"],
    ["null", () => null],
    [
      "a throw",
      () => {
        throw new Error("hook exploded");
      },
    ],
  ];
  for (const [what, answer] of odd) {
    it(`${what} from split, merge, purge, dalloc and commit counts as failure; blocks intact, check passes`, () => {
      const heap = smallHeap("dirty_decay_ms:0,muzzy_decay_ms:0");
      const calls = { n: 0 };
      const h = () => {
        calls.n++;
        return answer() as boolean;
      };
      heap.ctx.hooks.set(0, {
        split: h,
        merge: h,
        purgeForced: h,
        purgeLazy: h,
        dalloc: h,
        decommit: h,
        commit: h,
      });
      const live: { p: number; size: number; tag: number }[] = [];
      let tag = 1;
      for (let i = 0; i < 300; i++) {
        if (i % 3 === 2 && live.length > 0) {
          const b = live.splice((i * 7) % live.length, 1)[0]!;
          expect(heap.u8[b.p] === b.tag && heap.u8[b.p + b.size - 1] === b.tag).toBe(true);
          heap.free(b.p);
          continue;
        }
        const size = [64, 5000, 20000, 90000, 400000][i % 5]!;
        const p = heap.malloc(size);
        if (p === 0) {
          expect(heap.lastError).toBe(ENOMEM);
          continue;
        }
        tag = (tag % 250) + 1;
        heap.u8.fill(tag, p, p + size);
        live.push({ p, size, tag });
      }
      expect(calls.n).toBeGreaterThan(0);
      for (const b of live) expect(heap.u8[b.p] === b.tag && heap.u8[b.p + b.size - 1] === b.tag).toBe(true);
      heap.check();
      heap.ctx.hooks.clear();
      for (const b of live) heap.free(b.p);
      heap.check();
      const p = heap.calloc(1, 400000);
      expect(p).not.toBe(0);
      expect(heap.u8[p + 399999]).toBe(0);
    });
  }
});
