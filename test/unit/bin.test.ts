/**
 * bins (jemalloc's arena bins, thread cache off): regions go out lowest-free-first; the current slab
 * is always the oldest/lowest non-full one (a free into an older slab makes it current again); a slab
 * that becomes empty goes back to the extent cache at once; the bin statistics follow.
 */
import { describe, expect, it } from "vitest";
import { Heap } from "../../src/heap.js";

function newHeap(): Heap {
  return Heap.create({ envConf: null, conf: "tcache:false,narenas:1", clock: () => 0 });
}

function binStat(h: Heap, j: number, leaf: string): number {
  h.mallctl("epoch", 1);
  return Number(h.mallctl(`stats.arenas.0.bins.${j}.${leaf}`));
}

function binOf(h: Heap, size: number): { j: number; size: number; nregs: number } {
  const n = h.mallctl("arenas.nbins") as number;
  for (let j = 0; j < n; j++) {
    const s = h.mallctl(`arenas.bin.${j}.size`) as number;
    if (s >= size) return { j, size: s, nregs: h.mallctl(`arenas.bin.${j}.nregs`) as number };
  }
  throw new Error(`no bin for ${size}`);
}

describe("bins", () => {
  it.each([8, 48, 96, 448, 3072, 14336])(
    "size %d: a fresh slab hands out regions in ascending order",
    (size) => {
      const h = newHeap();
      const { nregs, size: reg } = binOf(h, size);
      const ps = Array.from({ length: nregs }, () => h.malloc(size));
      for (let i = 1; i < nregs; i++) expect(ps[i]! - ps[i - 1]!).toBe(reg);
      h.check();
    },
  );

  it("the lowest free region is reused first", () => {
    const h = newHeap();
    const ps = Array.from({ length: 20 }, () => h.malloc(64));
    h.free(ps[11]!);
    h.free(ps[4]!);
    h.free(ps[7]!);
    expect(h.malloc(64)).toBe(ps[4]);
    expect(h.malloc(64)).toBe(ps[7]);
    expect(h.malloc(64)).toBe(ps[11]);
    expect(h.malloc(64)).toBe(ps[19]! + 64);
    h.check();
  });

  it("a free into an older slab makes it the current slab again", () => {
    const h = newHeap();
    const { j, nregs } = binOf(h, 256);
    const first = Array.from({ length: nregs }, () => h.malloc(256)); // fills slab 1
    const second = h.malloc(256); // opens slab 2
    expect(binStat(h, j, "curslabs")).toBe(2);
    h.free(first[5]!);
    expect(h.malloc(256)).toBe(first[5]); // slab 1 is current again: its region, not slab 2's next
    expect(h.malloc(256)).toBe(second + 256);
    expect(binStat(h, j, "nonfull_slabs")).toBe(0);
    h.check();
  });

  it("non-full slabs are used oldest/lowest first", () => {
    const h = newHeap();
    const { nregs } = binOf(h, 1024);
    const slabs = [0, 1, 2].map(() => Array.from({ length: nregs }, () => h.malloc(1024)));
    // Free one region in slab 2, then one in slab 1, then one in slab 0 (the current slab is now full).
    h.free(slabs[2]![3]!);
    h.free(slabs[1]![2]!);
    h.free(slabs[0]![1]!);
    expect(h.malloc(1024)).toBe(slabs[0]![1]);
    expect(h.malloc(1024)).toBe(slabs[1]![2]);
    expect(h.malloc(1024)).toBe(slabs[2]![3]);
    h.check();
  });

  it("an empty slab goes back to the extent cache at once; statistics follow", () => {
    const h = newHeap();
    const { j, nregs } = binOf(h, 512);
    const slab1 = Array.from({ length: nregs }, () => h.malloc(512));
    const slab2 = Array.from({ length: 3 }, () => h.malloc(512));
    h.mallctl("epoch", 1);
    const pactive = h.mallctl("stats.arenas.0.pactive") as number;
    expect(binStat(h, j, "curslabs")).toBe(2);
    expect(binStat(h, j, "curregs")).toBe(nregs + 3);
    for (const p of slab2) h.free(p);
    expect(binStat(h, j, "curslabs")).toBe(1);
    expect(binStat(h, j, "curregs")).toBe(nregs);
    h.mallctl("epoch", 1);
    expect(h.mallctl("stats.arenas.0.pactive") as number).toBeLessThan(pactive);
    expect(h.mallctl("stats.arenas.0.pdirty") as number).toBeGreaterThan(0);
    for (const p of slab1) h.free(p);
    expect(binStat(h, j, "curslabs")).toBe(0);
    expect(binStat(h, j, "curregs")).toBe(0);
    expect(binStat(h, j, "nmalloc")).toBe(nregs + 3);
    expect(binStat(h, j, "ndalloc")).toBe(nregs + 3);
    expect(binStat(h, j, "nslabs")).toBe(2);
    h.check();
  });
});
