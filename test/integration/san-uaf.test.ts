/**
 * opt.lg_san_uaf_align (issue 13; jemalloc 5.3's sampled use-after-free detection): a small block
 * freed into the thread cache whose address is a multiple of 2^n is junked and stashed, not reused;
 * when the stash is flushed its junk is verified, and a write after free is reported as
 * "use-after-free" naming the pointer and size. Unaligned blocks are unaffected; off by default.
 */
import { describe, expect, it } from "vitest";
import type { CorruptionReport } from "../../src/errors.js";
import { Heap } from "../../src/heap.js";
import { replay } from "../../src/replay/replay.js";
import { diffReplay, expectedPath, loadTrace, readJson, SETTINGS } from "../helpers/replay.js";

const PAGE = 4096;

function heapWith(conf: string, options: { debug?: boolean } = {}): { h: Heap; reports: CorruptionReport[] } {
  const h = Heap.create({ conf, envConf: null, maxBytes: 64 << 20, ...options });
  const reports: CorruptionReport[] = [];
  h.setCorruptionHandler((r) => reports.push(r));
  return { h, reports };
}

/** Mallocs `size` until a page-aligned block comes back; returns it and the others (still live). */
function alignedBlock(h: Heap, size: number): { p: number; others: number[] } {
  const others: number[] = [];
  for (let i = 0; i < 4096; i++) {
    const p = h.malloc(size);
    if (p % PAGE === 0) return { p, others };
    others.push(p);
  }
  throw new Error("no page-aligned block");
}

/** The bin index of size class `size`. */
function binOf(h: Heap, size: number): number {
  const n = Number(h.mallctl("arenas.nbins"));
  for (let i = 0; i < n; i++) if (Number(h.mallctl(`arenas.bin.${i}.size`)) === size) return i;
  throw new Error(`no bin of ${size} B`);
}

function curregs(h: Heap, arena: number, size: number): number {
  h.mallctl("epoch", 1);
  return Number(h.mallctl(`stats.arenas.${arena}.bins.${binOf(h, size)}.curregs`));
}

function stashedBytes(h: Heap): number {
  h.mallctl("epoch", 1);
  return Number(h.mallctl("stats.arenas.0.tcache_stashed_bytes"));
}

describe("opt.lg_san_uaf_align", () => {
  it("reads -1 (off) by default and the clipped value when set", () => {
    expect(Heap.create({ envConf: null }).mallctl("opt.lg_san_uaf_align")).toBe(-1);
    expect(heapWith("lg_san_uaf_align:3").h.mallctl("opt.lg_san_uaf_align")).toBe(12);
  });

  it("off: an aligned block is reused at once, nothing is stashed", () => {
    const { h } = heapWith("");
    const { p } = alignedBlock(h, 64);
    h.free(p);
    expect(stashedBytes(h)).toBe(0);
    expect(h.malloc(64)).toBe(p);
  });

  for (const debug of [false, true]) {
    it(`${debug ? "debug mode" : "default mode"}: a write after free into an aligned block is reported at the flush`, () => {
      const { h, reports } = heapWith("lg_san_uaf_align:12", { debug });
      const { p, others } = alignedBlock(h, 64);
      h.free(p);
      expect(stashedBytes(h)).toBe(64);
      // Stashed, not reused: the next malloc of the class gives another block.
      const q = h.malloc(64);
      expect(q).not.toBe(p);
      h.u8[p + 33] = 0x11; // the middle word: checked in both modes
      expect(reports).toEqual([]);
      h.mallctl("thread.tcache.flush");
      expect(reports.length).toBe(1);
      expect(reports[0]!.kind).toBe("use-after-free");
      expect(reports[0]!.ptr).toBe(p);
      expect(reports[0]!.message).toContain(`deallocated pointer ${p} (size 64)`);
      expect(reports[0]!.message).toContain("offset 33");
      expect(stashedBytes(h)).toBe(0);
      // The written block is kept out of circulation; everything else is consistent.
      h.free(q);
      for (const o of others) h.free(o);
      expect(() => h.check()).not.toThrow();
    });
  }

  it("an intact stashed block goes back to its slab at the flush, with no report", () => {
    const { h, reports } = heapWith("lg_san_uaf_align:12");
    const { p, others } = alignedBlock(h, 128);
    const arena = h.arenaOf(p);
    h.free(p);
    h.mallctl("thread.tcache.flush");
    expect(reports).toEqual([]);
    // The cache is empty now: only the live blocks count, the stashed one went back to its slab.
    expect(curregs(h, arena, 128)).toBe(others.length);
    for (const o of others) h.free(o);
    expect(() => h.check()).not.toThrow();
  });

  it("unaligned blocks are unaffected: reused at once, a write into a freed one's middle is not checked", () => {
    const { h, reports } = heapWith("lg_san_uaf_align:12");
    let p = h.malloc(64);
    while (p % PAGE === 0) p = h.malloc(64);
    h.free(p);
    expect(stashedBytes(h)).toBe(0);
    h.u8[p + 40] = 0x22;
    expect(h.malloc(64)).toBe(p);
    h.free(p);
    h.mallctl("thread.tcache.flush");
    expect(reports).toEqual([]);
  });

  it("a second free of a stashed block is reported as a double free by the free itself", () => {
    const { h, reports } = heapWith("lg_san_uaf_align:12");
    const { p } = alignedBlock(h, 32);
    h.free(p);
    h.free(p);
    expect(reports.map((r) => r.kind)).toEqual(["double-free"]);
    h.mallctl("thread.tcache.flush");
    expect(reports.length).toBe(1);
    expect(() => h.check()).not.toThrow();
  });

  it("a full bin flushes its stash (verified) and takes the block as jemalloc does", () => {
    const { h, reports } = heapWith("lg_san_uaf_align:12");
    // Many aligned frees of one class: the stash fills the bin, then a flush empties it.
    const aligned: number[] = [];
    const rest: number[] = [];
    while (aligned.length < 300) {
      const p = h.malloc(16);
      (p % PAGE === 0 ? aligned : rest).push(p);
    }
    for (const p of aligned) h.free(p);
    for (const p of rest) h.free(p);
    expect(reports).toEqual([]);
    h.mallctl("thread.tcache.flush");
    expect(reports).toEqual([]);
    expect(stashedBytes(h)).toBe(0);
    expect(() => h.check()).not.toThrow();
  });

  it("a thread that leaves without detaching: its stash is verified and freed by the reclaim, once", () => {
    const { h } = heapWith("lg_san_uaf_align:12");
    const b = Heap.attach(h.buffer as SharedArrayBuffer);
    const { p, others } = alignedBlock(b, 256);
    for (const o of others) b.free(o);
    const arena = b.arenaOf(p);
    b.free(p);
    expect(stashedBytes(h)).toBe(256);
    const report = h.reclaim(b.threadId);
    expect(report?.badCacheEntries).toBe(0);
    expect(stashedBytes(h)).toBe(0);
    // Nothing of class 256 is left allocated by the departed thread: the stash was freed, once.
    expect(curregs(h, arena, 256)).toBe(0);
    expect(() => h.check()).not.toThrow();
  });
});

describe("replays with lg_san_uaf_align on", () => {
  // Without a thread cache nothing is stashed (jemalloc stashes in tcache_dalloc_small only): every
  // placement and statistic stays the real jemalloc's. With the cache on, the stash changes flush
  // timing in jemalloc too, so those replays are not compared.
  it("small-churn-s1 (base) is identical to the real jemalloc", () => {
    const expected = readJson(expectedPath("small-churn-s1", "base"));
    const trace = loadTrace("small-churn-s1");
    const ours = replay(trace, { conf: `${SETTINGS.base},lg_san_uaf_align:12`, perOp: true });
    const d = diffReplay(expected, ours);
    expect(d.compared).toBeGreaterThan(trace.n);
    expect(d.first, `${d.count} differences`).toEqual([]);
  }, 120_000);
});
