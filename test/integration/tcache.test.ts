/**
 * The thread cache seen from one thread (issue 4): fills, flushes and GC visible in the bin statistics,
 * thread.tcache.{enabled,flush}, explicit caches (tcache.create / flush / destroy, MALLOCX_TCACHE),
 * MALLOCX_TCACHE_NONE, and double frees of blocks still in the cache (RELIABILITY.md §6.2 B2).
 * Every case ends with heap.check() and the C5 cache audit (test/helpers/ledger-tc.ts).
 */
import { describe, expect, it } from "vitest";
import { HeapCorruptionError, MallctlError } from "../../src/errors.js";
import { MALLOCX_TCACHE, MALLOCX_TCACHE_NONE } from "../../src/flags.js";
import { Heap } from "../../src/heap.js";
import { tcacheGeom } from "../../src/tcache/index.js";
import { auditCaches, cacheBlockBytes, expectedAllocated, statNum } from "../helpers/ledger-tc.js";

function newHeap(conf = "narenas:1"): Heap {
  return Heap.create({ envConf: null, conf, maxBytes: 64 << 20, lockTimeoutMs: 3000 });
}

/** A bin statistic of arena 0 after an epoch refresh. */
function bin(heap: Heap, size: number, leaf: string): number {
  heap.mallctl("epoch", 1);
  return statNum(heap, `stats.arenas.0.bins.${heap.ctx.sc.size2index(size)}.${leaf}`);
}

function allocated(heap: Heap): number {
  heap.mallctl("epoch", 1);
  return statNum(heap, "stats.allocated");
}

/** heap.check(), the C5 audit and the allocated identity, with `live` the blocks the test holds. */
function checkAll(heap: Heap, live: number[]): void {
  heap.check();
  const audit = auditCaches(heap, new Set(live));
  expect(audit.problems).toEqual([]);
  let bytes = 0;
  for (const p of live) bytes += heap.mallocUsableSize(p);
  expect(allocated(heap)).toBe(expectedAllocated(heap, audit, bytes));
}

describe("fill, flush and GC", () => {
  it("a miss fills half the bin's capacity; the flush returns everything but the live blocks", () => {
    const heap = newHeap();
    const ind = heap.ctx.sc.size2index(64);
    const cap = tcacheGeom(heap.ctx).cap[ind]!;
    const live = [heap.malloc(64)];
    expect(bin(heap, 64, "nfills")).toBe(1);
    expect(bin(heap, 64, "curregs")).toBe(cap >>> 1); // regions in the cache count as allocated
    expect(bin(heap, 64, "nmalloc")).toBe(cap >>> 1);
    checkAll(heap, live);
    // Drain the cache: the next miss fills again.
    for (let i = 1; i < (cap >>> 1) + 1; i++) live.push(heap.malloc(64));
    expect(new Set(live).size).toBe(live.length);
    expect(bin(heap, 64, "nfills")).toBe(2);
    checkAll(heap, live);
    heap.mallctl("thread.tcache.flush");
    expect(bin(heap, 64, "curregs")).toBe(live.length);
    expect(bin(heap, 64, "nflushes")).toBeGreaterThanOrEqual(1);
    heap.mallctl("epoch", 1);
    expect(statNum(heap, "stats.arenas.0.tcache_bytes")).toBe(0);
    checkAll(heap, live);
    for (const p of live.splice(0)) heap.free(p);
    heap.mallctl("thread.tcache.flush");
    expect(bin(heap, 64, "curregs")).toBe(0);
    expect(bin(heap, 64, "nmalloc")).toBe(bin(heap, 64, "ndalloc"));
    checkAll(heap, []);
    expect(allocated(heap)).toBe(cacheBlockBytes(heap)); // only the cache's own stack block
    heap.mallctl("thread.tcache.enabled", false);
    expect(allocated(heap)).toBe(0);
    heap.check();
  });

  it("freeing into a full bin flushes the oldest items to the arena", () => {
    const heap = newHeap();
    const ind = heap.ctx.sc.size2index(128);
    const cap = tcacheGeom(heap.ctx).cap[ind]!;
    const blocks: number[] = [];
    for (let i = 0; i < 2 * cap; i++) blocks.push(heap.malloc(128));
    const flushes0 = bin(heap, 128, "nflushes");
    const ndalloc0 = bin(heap, 128, "ndalloc");
    for (const p of blocks.splice(0)) heap.free(p);
    expect(bin(heap, 128, "nflushes")).toBeGreaterThan(flushes0);
    expect(bin(heap, 128, "ndalloc")).toBeGreaterThan(ndalloc0);
    // The bin never holds more than its capacity.
    heap.mallctl("epoch", 1);
    expect(statNum(heap, "stats.arenas.0.tcache_bytes")).toBeLessThanOrEqual(cap * 128);
    checkAll(heap, []);
  });

  it("the incremental GC flushes a bin that went unused while other classes churned", () => {
    const heap = newHeap();
    const g = tcacheGeom(heap.ctx);
    const p = heap.malloc(64);
    heap.free(p);
    const cached = bin(heap, 64, "curregs");
    expect(cached).toBeGreaterThan(0);
    // One GC event per tcache_gc_incr_bytes allocated (and freed); each visits one bin. Enough churn
    // for every bin to be visited several times.
    const rounds = Math.ceil((4 * g.nhbins * g.gcIncrBytes) / 4096);
    for (let i = 0; i < rounds; i++) heap.free(heap.malloc(4096));
    expect(bin(heap, 64, "curregs")).toBeLessThan(cached);
    expect(bin(heap, 64, "nflushes")).toBeGreaterThan(0);
    checkAll(heap, []);
  });
});

describe("thread.tcache.enabled", () => {
  it("false destroys the cache and sends frees to the arena at once; true brings a fresh cache", () => {
    const heap = newHeap();
    expect(heap.mallctl("thread.tcache.enabled")).toBe(true);
    const keep = heap.malloc(256);
    heap.free(heap.malloc(256));
    expect(heap.mallctl("thread.tcache.enabled", false)).toBe(true);
    expect(heap.mallctl("thread.tcache.enabled")).toBe(false);
    expect(auditCaches(heap).caches).toBe(0);
    expect(bin(heap, 256, "curregs")).toBe(1); // the cache's regions went back
    expect(allocated(heap)).toBe(256);
    const fills = bin(heap, 256, "nfills");
    const ndalloc = bin(heap, 256, "ndalloc");
    const q = heap.malloc(256);
    expect(bin(heap, 256, "curregs")).toBe(2);
    heap.free(q);
    expect(bin(heap, 256, "ndalloc")).toBe(ndalloc + 1);
    expect(bin(heap, 256, "nfills")).toBe(fills);
    expect(() => heap.mallctl("thread.tcache.flush")).toThrow(MallctlError);
    checkAll(heap, [keep]);

    heap.mallctl("thread.tcache.enabled", true);
    const r = heap.malloc(256);
    expect(bin(heap, 256, "nfills")).toBe(fills + 1);
    expect(auditCaches(heap).caches).toBe(1);
    checkAll(heap, [keep, r]);
    heap.free(r);
    heap.free(keep);
    heap.mallctl("thread.tcache.enabled", false);
    expect(allocated(heap)).toBe(0);
    heap.check();
  });
});

describe("MALLOCX_TCACHE_NONE", () => {
  it("bypasses the cache both ways", () => {
    const heap = newHeap();
    heap.free(heap.malloc(96)); // the thread's cache now holds 96-byte regions
    const fills = bin(heap, 96, "nfills");
    const curregs = bin(heap, 96, "curregs");
    const nmalloc = bin(heap, 96, "nmalloc");
    const p = heap.mallocx(96, MALLOCX_TCACHE_NONE);
    expect(bin(heap, 96, "nmalloc")).toBe(nmalloc + 1);
    expect(bin(heap, 96, "curregs")).toBe(curregs + 1);
    expect(bin(heap, 96, "nfills")).toBe(fills);
    const audit = auditCaches(heap, new Set([p]));
    expect(audit.problems).toEqual([]);
    heap.dallocx(p, MALLOCX_TCACHE_NONE);
    expect(bin(heap, 96, "curregs")).toBe(curregs);
    // A block from the arena may be freed into the cache and the other way round.
    const q = heap.mallocx(96, MALLOCX_TCACHE_NONE);
    heap.free(q);
    const r = heap.malloc(96);
    expect(r).toBe(q); // LIFO: the last freed region is the next one served
    heap.dallocx(r, MALLOCX_TCACHE_NONE);
    checkAll(heap, []);
  });
});

describe("explicit caches", () => {
  it("create, use through MALLOCX_TCACHE, flush, destroy; a destroyed index is reused", () => {
    const heap = newHeap();
    const tc = heap.mallctl("tcache.create") as number;
    expect(Number.isInteger(tc)).toBe(true);
    const flags = MALLOCX_TCACHE(tc);
    const auto = heap.malloc(48); // the thread's own cache, for contrast
    const p = heap.mallocx(48, flags);
    expect(p).not.toBe(auto);
    const withExplicit = auditCaches(heap, new Set([p, auto]));
    expect(withExplicit.caches).toBe(2);
    expect(withExplicit.problems).toEqual([]);
    heap.dallocx(p, flags);
    expect(heap.mallocx(48, flags)).toBe(p); // served again by the explicit cache
    const fromAuto = heap.malloc(48);
    expect(fromAuto).not.toBe(p);
    checkAll(heap, [p, auto, fromAuto]);

    // tcache.flush empties it (it is recreated on next use).
    heap.dallocx(p, flags);
    const before = auditCaches(heap).entries;
    heap.mallctl("tcache.flush", tc);
    const after = auditCaches(heap);
    expect(after.entries).toBeLessThan(before);
    expect(after.caches).toBe(1);
    const p2 = heap.mallocx(48, flags);
    expect(auditCaches(heap).caches).toBe(2);
    checkAll(heap, [auto, fromAuto, p2]);

    // tcache.destroy; the index is free again and the next create reuses it.
    heap.dallocx(p2, flags);
    heap.mallctl("tcache.destroy", tc);
    expect(auditCaches(heap).caches).toBe(1);
    expect(() => heap.mallocx(48, flags)).toThrow(RangeError);
    expect(() => heap.mallctl("tcache.destroy", tc)).toThrow(MallctlError);
    const tc2 = heap.mallctl("tcache.create") as number;
    expect(tc2).toBe(tc);
    const q = heap.mallocx(48, MALLOCX_TCACHE(tc2));
    expect(q).not.toBe(0);
    heap.sdallocx(q, 48, MALLOCX_TCACHE(tc2));
    heap.mallctl("tcache.destroy", tc2);
    heap.free(auto);
    heap.free(fromAuto);
    checkAll(heap, []);
    heap.mallctl("thread.tcache.enabled", false);
    expect(allocated(heap)).toBe(0);
  });

  it("an index that names no cache is an error, not a silent fallback", () => {
    const heap = newHeap();
    expect(() => heap.mallocx(64, MALLOCX_TCACHE(7))).toThrow(RangeError);
    expect(() => heap.dallocx(heap.malloc(64), MALLOCX_TCACHE(7))).toThrow(RangeError);
    for (const op of ["tcache.flush", "tcache.destroy"]) {
      try {
        heap.mallctl(op, 7);
        expect.unreachable(`${op} of an unknown id succeeded`);
      } catch (e) {
        expect(e).toBeInstanceOf(MallctlError);
        expect((e as MallctlError).code).toBe("EFAULT");
      }
    }
    heap.check();
  });
});

describe("double free of a block still in the cache (B2)", () => {
  it("free(p); free(p) is reported at once and never yields one block twice", () => {
    const heap = newHeap();
    const p = heap.malloc(64);
    heap.free(p);
    expect(() => heap.free(p)).toThrow(HeapCorruptionError);
    const a = heap.malloc(64);
    const b = heap.malloc(64);
    expect(a).not.toBe(b);
    checkAll(heap, [a, b]);
    heap.free(a);
    heap.free(b);
    checkAll(heap, []);
  });

  it("the same through sdallocx and dallocx", () => {
    const heap = newHeap();
    const p = heap.malloc(200);
    heap.sdallocx(p, 200);
    expect(() => heap.dallocx(p)).toThrow(HeapCorruptionError);
    expect(() => heap.sdallocx(p, 200)).toThrow(HeapCorruptionError);
    const a = heap.malloc(200);
    const b = heap.malloc(200);
    expect(a).not.toBe(b);
    heap.free(a);
    heap.free(b);
    checkAll(heap, []);
  });

  it("a double free that reaches a flush through a full bin is reported by that free", () => {
    const heap = newHeap();
    const ind = heap.ctx.sc.size2index(64);
    const cap = tcacheGeom(heap.ctx).cap[ind]!;
    const p = heap.malloc(64);
    const x = heap.malloc(64);
    const more: number[] = [];
    for (let i = 0; i < cap; i++) more.push(heap.malloc(64));
    heap.free(p);
    heap.free(x);
    heap.free(p); // not on top of the stack: not seen yet
    let reported: unknown = null;
    for (const q of more) {
      try {
        heap.free(q);
      } catch (e) {
        reported = e;
      }
    }
    expect(reported).toBeInstanceOf(HeapCorruptionError);
    expect((reported as HeapCorruptionError).ptr).toBe(p);
    // Both copies went out in the same flush, so no cache still holds p while the slab has it free.
    heap.mallctl("thread.tcache.flush");
    checkAll(heap, []);
    const got = new Set<number>();
    for (let i = 0; i < cap; i++) got.add(heap.malloc(64));
    expect(got.size).toBe(cap);
  });

  it("a double free found when the thread detaches is reported by detach", () => {
    const heap = newHeap();
    const other = Heap.attach(heap.buffer, { lockTimeoutMs: 3000 });
    const p = other.malloc(32);
    const x = other.malloc(32);
    other.free(p);
    other.free(x);
    other.free(p);
    expect(() => other.detach()).toThrow(HeapCorruptionError);
    heap.check();
    expect(auditCaches(heap).problems).toEqual([]);
    expect(allocated(heap)).toBe(0);
  });

  // A flush run through mallctl (thread.tcache.flush, tcache.*) reports what it found at once, and
  // nothing stale is left for an unrelated later call.
  it("a double free found by thread.tcache.flush is reported by that flush", () => {
    const heap = newHeap();
    const p = heap.malloc(64);
    const x = heap.malloc(64);
    heap.free(p);
    heap.free(x);
    heap.free(p);
    expect(() => heap.mallctl("thread.tcache.flush")).toThrow(HeapCorruptionError);
    const big = heap.malloc(100_000);
    expect(() => heap.free(big)).not.toThrow();
  });
});
