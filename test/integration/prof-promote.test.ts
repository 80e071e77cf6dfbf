/**
 * Promoted pages of sampled small blocks (issue 16's cost work): a freed one is kept (the thread's
 * spares, then the tcache's large bin) and the next sample takes it back, page-aligned, with the small
 * usable size;
 * an explicit arena still gets its own extent; calloc still returns zeroed bytes.
 */
import { describe, expect, it } from "vitest";
import { Heap } from "../../src/heap.js";

describe("promoted pages come back from the tcache", () => {
  it("a freed promoted page serves the next sample, page-aligned, with the small usable size", () => {
    const heap = Heap.create({ conf: "prof:true,lg_prof_sample:0", envConf: null });
    const page = heap.mallctl("arenas.page") as number;
    const p1 = heap.malloc(24);
    expect(p1 % page).toBe(0);
    heap.free(p1);
    const p2 = heap.malloc(100);
    expect(p2).toBe(p1);
    expect(heap.mallocUsableSize(p2)).toBe(heap.nallocx(100));
    heap.u8.fill(0xee, p2, p2 + 100);
    heap.free(p2);
    const p3 = heap.calloc(10, 10);
    expect(p3).toBe(p1);
    expect(heap.u8.subarray(p3, p3 + 100).every((b) => b === 0)).toBe(true);
    heap.free(p3);
    heap.check();
    heap.detach();
  });

  it("a sample in an explicit arena does not take the thread's cached page", () => {
    const heap = Heap.create({ conf: "prof:true,lg_prof_sample:0", envConf: null });
    const p1 = heap.malloc(24);
    heap.free(p1);
    const arena = heap.mallctl("arenas.create") as number;
    const p2 = heap.mallocx(24, (arena + 1) << 20);
    expect(p2).not.toBe(p1);
    expect(heap.mallctl(`arena.${arena}.reset`)).toBeUndefined();
    heap.check();
    heap.detach();
  });
});
