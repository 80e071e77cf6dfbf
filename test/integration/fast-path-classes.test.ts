/**
 * The fast paths cover every cached class: the small classes above the 4 KiB lookup table and the large
 * classes up to tcache_max, on malloc and on free (issue 15: on the mixed workload a third of the
 * mallocs and a sixth of the frees took the slow path while their cache bin could serve them).
 *
 * Method: one call sequence on a default heap (fast paths on) and on a heap with junk:true (the fast
 * paths off, everything else alike): the same addresses, the same statistics. The fast paths are seen
 * taken by counting the slow paths' entry (`_enter`, which the fast paths skip).
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/bench/rng.js";
import {
  HDR_POISON_B,
  THREAD_ALLOCATED_B,
  THREAD_DEALLOCATED_B,
  THREAD_GC_ALLOC_NEXT_B,
  THREAD_GC_DALLOC_NEXT_B,
} from "../../src/ctx/header.js";
import { HeapCorruptionError, HeapPoisonedError } from "../../src/errors.js";
import { Heap } from "../../src/heap.js";
import { SC_DEFAULTS } from "../../src/sizeclass/config.js";
import { SizeClasses } from "../../src/sizeclass/index.js";
import { statsPrint } from "../../src/stats/stats_print.js";

/** A deterministic mixed sequence: sizes 1 B..40 KiB, log-uniform, about 300 live, random frees. */
function run(h: Heap, ops: number): number[] {
  const got: number[] = [];
  const live: number[] = [];
  const rng = new Rng(0x2545f491);
  for (let i = 0; i < ops; i++) {
    if (live.length > 300 || (live.length > 0 && rng.unit() < 0.5)) {
      const k = rng.below(live.length);
      h.free(live[k]!);
      live[k] = live[live.length - 1]!;
      live.pop();
    } else {
      const p = h.malloc(rng.logUniform(1, 40 * 1024));
      got.push(p);
      live.push(p);
    }
  }
  for (const p of live) h.free(p);
  return got;
}

/** The statistics of `h` as JSON, without what differs by configuration or by clock. */
function stats(h: Heap): unknown {
  h.mallctl("epoch", 1);
  const j = JSON.parse(statsPrint(h, "J")).jemalloc;
  return JSON.parse(JSON.stringify({ stats: j.stats, arenas: j["stats.arenas"] }), (k, v) =>
    /time|uptime|mutex/.test(k) ? undefined : v,
  );
}

describe("the fast paths for the cached classes above 4 KiB", () => {
  it("hand out the same blocks and keep the same statistics as the slow paths", () => {
    // A clock that stands still: decay purges by the clock, and the junk fills make the slow heap take
    // longer, so on the wall clock the two would purge (and reuse addresses) at different calls.
    const clock = () => 0;
    const fast = Heap.create({ envConf: null, clock });
    const slow = Heap.create({ envConf: null, conf: "junk:true", clock });
    expect(run(fast, 20_000)).toEqual(run(slow, 20_000));
    const a = stats(fast);
    expect(a).toEqual(stats(slow));
    // The comparison covered the classes in question: arena 0's bins and large classes.
    const arena0 = (a as { arenas: { "0": { bins: unknown[]; lextents: unknown[] } } }).arenas["0"];
    expect(arena0.bins.length).toBeGreaterThan(30);
    expect(arena0.lextents.length).toBeGreaterThan(3);
    fast.detach();
    slow.detach();
  });

  it("are taken for a small class above 4 KiB and a cached large class, on malloc and free", () => {
    for (const size of [6000, 14336, 20000, 32768]) {
      const h = Heap.create({ envConf: null });
      const ps = Array.from({ length: 8 }, () => h.malloc(size));
      for (const p of ps) h.free(p);
      let entered = 0;
      const enter = (h as unknown as { _enter: (fn: string) => void })._enter.bind(h);
      (h as unknown as { _enter: (fn: string) => void })._enter = (fn: string) => {
        entered++;
        enter(fn);
      };
      // A call with no thread event due (the 64 KiB GC step) stays on the fast path: one pop or push.
      const f64 = h.ctx.f64;
      const at = (b: number) => f64[(h.ctx.threadB + b) >>> 3]!;
      const usize = h.ctx.sc.s2u(size);
      let fastCalls = 0;
      for (let i = 0; i < 40; i++) {
        const mallocDue = at(THREAD_ALLOCATED_B) + usize >= at(THREAD_GC_ALLOC_NEXT_B);
        let before = entered;
        const p = h.malloc(size);
        if (!mallocDue) {
          expect(entered, `malloc(${size})`).toBe(before);
          fastCalls++;
        }
        const freeDue = at(THREAD_DEALLOCATED_B) + usize >= at(THREAD_GC_DALLOC_NEXT_B);
        before = entered;
        h.free(p);
        if (!freeDue) {
          expect(entered, `free of ${size} B`).toBe(before);
          fastCalls++;
        }
      }
      expect(fastCalls).toBeGreaterThanOrEqual(20);
      // Past tcache_max, in the uncached range, malloc takes the slow path.
      h.free(h.malloc(size + 1 + 32768));
      expect(entered, `${size} B`).toBeGreaterThan(0);
      h.detach();
    }
  });

  it("report a double free of a cached large block made on the fast path", () => {
    const h = Heap.create({ envConf: null });
    const a = h.malloc(20000);
    const b = h.malloc(20000);
    h.free(a);
    h.free(b);
    h.free(a); // on the fast path: a second entry, the first one's mark moved
    expect(() => {
      for (let i = 0; i < 4; i++) h.malloc(20000);
    }).toThrow(HeapCorruptionError);
    h.detach();
  });

  it("send an uncached large block's free straight to the arena, with its statistics", () => {
    for (const size of [32769, 65536, 1 << 20, (4 << 20) + 123]) {
      const h = Heap.create({ envConf: null });
      const keep = h.malloc(size); // a neighbour, so the freed extent stays a dirty extent of its own
      const p = h.malloc(size);
      const usize = h.mallocUsableSize(p);
      let entered = 0;
      const enter = (h as unknown as { _enter: (fn: string) => void })._enter.bind(h);
      (h as unknown as { _enter: (fn: string) => void })._enter = (fn: string) => {
        entered++;
        enter(fn);
      };
      const read = (name: string) => {
        h.mallctl("epoch", 1);
        return Number(h.mallctl(name));
      };
      const small = h.malloc(8);
      const ndalloc = read("stats.arenas.0.large.ndalloc");
      const allocated = read("stats.allocated");
      // A mallctl turns the fast paths off until the next slow call re-derives them: this free (into
      // the cache, so no statistic changes) is that call.
      h.free(small);
      const deallocatedD = (h.ctx.threadB + THREAD_DEALLOCATED_B) >>> 3;
      const deallocated = h.ctx.f64[deallocatedD]!;
      const before = entered;
      h.free(p);
      expect(entered, `free of ${size} B entered the slow path`).toBe(before);
      expect(h.ctx.f64[deallocatedD]).toBe(deallocated + usize);
      expect(read("stats.arenas.0.large.ndalloc")).toBe(ndalloc + 1);
      expect(read("stats.allocated")).toBe(allocated - usize);
      expect(read("stats.arenas.0.pdirty")).toBeGreaterThan(0);
      // A second free of it, and a free of a pointer inside a live one, are reported; nothing changes.
      expect(() => h.free(p)).toThrow(/double free/);
      expect(() => h.free(keep + 8)).toThrow(/interior pointer/);
      expect(read("stats.arenas.0.large.ndalloc")).toBe(ndalloc + 1);
      expect(() => h.check()).not.toThrow();
      h.free(keep);
      h.detach();
    }
  });

  it("refuse an uncached large free on a poisoned heap, changing nothing", () => {
    const h = Heap.create({ envConf: null });
    const p = h.malloc(100_000);
    const word = HDR_POISON_B >>> 2;
    Atomics.store(h.ctx.i32, word, 1);
    expect(() => h.free(p)).toThrow(HeapPoisonedError);
    Atomics.store(h.ctx.i32, word, 0);
    expect(h.mallocUsableSize(p)).toBeGreaterThanOrEqual(100_000);
    h.free(p);
    expect(() => h.check()).not.toThrow();
    h.detach();
  });

  it("stop pushing to the thread's cache once thread.tcache.enabled:false destroyed it", () => {
    for (const size of [16, 6000, 20000]) {
      const h = Heap.create({ envConf: null });
      h.free(h.malloc(size)); // the cache exists and the fast paths are on
      const a = h.malloc(size);
      const b = h.malloc(size);
      const usize = h.mallocUsableSize(a);
      h.mallctl("thread.tcache.enabled", false);
      h.mallctl("epoch", 1);
      const allocated = Number(h.mallctl("stats.allocated"));
      h.free(a); // to the arena: no cache is left to hold it
      h.mallctl("epoch", 1);
      expect(Number(h.mallctl("stats.allocated")), `${size} B`).toBe(allocated - usize);
      expect(() => h.free(a)).toThrow(HeapCorruptionError);
      h.free(b);
      h.mallctl("thread.tcache.enabled", true);
      const c = h.malloc(size);
      h.free(c);
      expect(() => h.check()).not.toThrow();
      h.detach();
    }
  });

  it("leave a sampled large block to the slow path, which drops its sample", () => {
    const h = Heap.create({ envConf: null, conf: "prof:true,lg_prof_sample:0" });
    const ps = Array.from({ length: 5 }, () => h.malloc(20000));
    for (const p of ps) h.free(p);
    const text = h.profile();
    // Heap profile header: "heap_v2/<rate>" then the totals "t*: <live objects>: <live bytes> [...]".
    expect(text).toMatch(/^\s*t\*: 0: 0 \[/m);
    h.detach();
  });
});

describe("SizeClasses.coarseLookup", () => {
  for (const [lgQ, lgP] of [
    [4, 12],
    [3, 12],
    [4, 16],
    [3, 14],
  ] as const) {
    it(`lg_quantum ${lgQ}, lg_page ${lgP}: size2index for every size above 4 KiB up to the limit`, () => {
      const sc = new SizeClasses({ ...SC_DEFAULTS, lgQuantum: lgQ, lgPage: lgP });
      for (const max of [32768, 8 * 2 ** 20, 5000, 4096]) {
        const { tab, lgGrain, limit } = sc.coarseLookup(max);
        expect(limit).toBeLessThanOrEqual(Math.max(max, 0));
        for (let size = 4097; size <= limit; size += size < 65536 ? 1 : 97)
          expect(tab[(size - 1) >>> lgGrain], `size ${size}`).toBe(sc.size2index(size));
        if (max >= 32768) expect(limit).toBe(sc.index2size(sc.size2index(max + 1) - 1));
      }
    });
  }
});
