/**
 * Spare promoted pages (src/prof/spare.ts): a thread keeps up to six freed promoted blocks for its
 * next samples, so a sample costs no arena allocation; a seventh goes to the tcache as before; a
 * spare freed again is a double free; detach gives the spares back to the arena.
 */
import { describe, expect, it } from "vitest";
import { Heap } from "../../src/heap.js";

const SPARES = 6;

function largeStat(heap: Heap, name: "nmalloc" | "ndalloc"): number {
  heap.mallctl("epoch", 1);
  return Number(heap.mallctl(`stats.arenas.0.large.${name}`));
}

function sampledHeap(): Heap {
  return Heap.create({ conf: "prof:true,lg_prof_sample:0", envConf: null });
}

describe("spare promoted pages", () => {
  it("freed sampled blocks serve the next samples without an arena allocation", () => {
    const heap = sampledHeap();
    const first = Array.from({ length: SPARES + 1 }, (_, i) => heap.malloc(16 + i * 8));
    const nmalloc = largeStat(heap, "nmalloc");
    expect(nmalloc).toBeGreaterThanOrEqual(SPARES + 1);
    for (const p of first) heap.free(p);
    // Six come back from the spares, the seventh from the tcache's large bin.
    const again = Array.from({ length: SPARES + 1 }, () => heap.malloc(40));
    expect([...again].sort((a, b) => a - b)).toEqual([...first].sort((a, b) => a - b));
    expect(largeStat(heap, "nmalloc")).toBe(nmalloc);
    for (const p of again) expect(heap.mallocUsableSize(p)).toBe(heap.nallocx(40));
    const text = heap.profile({ format: "jeprof" });
    expect(text).toContain(`t*: ${SPARES + 1}: ${(SPARES + 1) * heap.nallocx(40)} [`);
    for (const p of again) heap.free(p);
    heap.check();
    heap.detach();
  });

  it("without a thread cache a freed sampled block goes back to the arena at once, as in jemalloc", () => {
    const heap = Heap.create({ conf: "prof:true,lg_prof_sample:0,tcache:false", envConf: null });
    const p = heap.malloc(48);
    const ndalloc = largeStat(heap, "ndalloc");
    heap.free(p);
    expect(largeStat(heap, "ndalloc")).toBe(ndalloc + 1);
    const nmalloc = largeStat(heap, "nmalloc");
    heap.free(heap.malloc(48));
    expect(largeStat(heap, "nmalloc")).toBe(nmalloc + 1);
    heap.check();
    heap.detach();
  });

  it("a spare freed again is reported as a double free and is not handed out twice", () => {
    const heap = sampledHeap();
    const reports: string[] = [];
    heap.setCorruptionHandler((r) => reports.push(r.kind));
    const p = heap.malloc(24);
    heap.free(p);
    heap.free(p);
    expect(reports).toEqual(["double-free"]);
    const a = heap.malloc(24);
    const b = heap.malloc(24);
    expect(a).toBe(p);
    expect(b).not.toBe(a);
    heap.free(a);
    heap.free(b);
    heap.check();
    heap.detach();
  });

  it("detach gives the spares back to the arena", () => {
    const heap = sampledHeap();
    const other = Heap.attach(heap.buffer);
    // What a detach frees without spares (the thread's cache), measured on a third thread.
    const idle = Heap.attach(heap.buffer);
    idle.mallctl("thread.prof.active", false);
    idle.free(idle.malloc(8));
    let before = largeStat(other, "ndalloc");
    idle.detach();
    const cacheOnly = largeStat(other, "ndalloc") - before;
    const ps = [heap.malloc(8), heap.malloc(64), heap.malloc(200)];
    for (const p of ps) heap.free(p);
    before = largeStat(other, "ndalloc");
    heap.detach();
    expect(largeStat(other, "ndalloc") - before).toBe(cacheOnly + ps.length);
    other.check();
    other.detach();
  });

  it("reclaiming a departed thread's slot gives its spares back too", () => {
    const heap = sampledHeap();
    // Neither handle detaches: their slots are reclaimed as a terminated worker's would be. The
    // first samples nothing, to measure what reclaiming frees without spares (the thread's cache).
    const idle = Heap.attach(heap.buffer);
    idle.mallctl("thread.prof.active", false);
    idle.free(idle.malloc(8));
    let before = largeStat(heap, "ndalloc");
    expect(heap.reclaim(idle.threadId)).not.toBeNull();
    const cacheOnly = largeStat(heap, "ndalloc") - before;
    const gone = Heap.attach(heap.buffer);
    const ps = [gone.malloc(16), gone.malloc(96)];
    for (const p of ps) gone.free(p);
    before = largeStat(heap, "ndalloc");
    expect(heap.reclaim(gone.threadId)).not.toBeNull();
    expect(largeStat(heap, "ndalloc") - before).toBe(cacheOnly + ps.length);
    heap.check();
    heap.detach();
  });
});
