/**
 * A heap whose top has reached maxBytes (src/extent/pages.ts gapTake, src/extent/pac_last_resort.ts):
 * mappings — extents and metadata blocks — are cut from the placement gaps below the top; before an
 * arena refuses a request it lifts jemalloc's rules that prefer fresh space (any-size dirty fit,
 * coalescing, merging across mappings, purging to retained). In every case the checker passes (it
 * proves no byte has two owners among extents, base blocks and gaps), stats.mapped + stats.retained
 * is exactly the address space carved below the top, and what cannot be served fails with ENOMEM
 * and changes nothing.
 */
import { describe, expect, it } from "vitest";
import { HDR_BASE0_B } from "../../src/ctx/header.js";
import { ENOMEM } from "../../src/errors.js";
import { baseAlloc, baseBlocks, baseStats } from "../../src/extent/base.js";
import { hookAllocProblem } from "../../src/extent/hook_result.js";
import { pagesGapBytes, pagesGaps, pagesMapExtent } from "../../src/extent/pages.js";
import { MALLOCX_ARENA, MALLOCX_LG_ALIGN } from "../../src/flags.js";
import type { Heap } from "../../src/heap.js";
import { carvedBytes, fillAndFree, fullHeap, heapTop, MiB, stat } from "../helpers/full-heap.js";

function accounted(heap: Heap): void {
  heap.check();
  expect(stat(heap, "stats.mapped") + stat(heap, "stats.retained"), "mapped + retained").toBe(
    carvedBytes(heap),
  );
}

function inGaps(gaps: [number, number][], start: number, end: number): boolean {
  return gaps.some(([s, e]) => s <= start && end <= e);
}

/** malloc(100) on a heap at its maximum succeeds, and everything stays accounted. */
function servesSmall(heap: Heap): void {
  accounted(heap);
  const p = heap.malloc(100);
  expect(p, `malloc(100) failed (lastError ${heap.lastError})`).not.toBe(0);
  expect(stat(heap, "stats.allocated")).toBe(heap.mallocUsableSize(p));
  accounted(heap);
  heap.free(p);
  expect(stat(heap, "stats.allocated")).toBe(0);
  accounted(heap);
}

describe("a heap at its maximum", () => {
  it("the heap-model counterexample: malloc(100) succeeds after freeing everything (513 dirty pages)", () => {
    const heap = fullHeap();
    fillAndFree(heap);
    expect(heapTop(heap)).toBe(6 * MiB);
    expect(stat(heap, "stats.arenas.0.pdirty")).toBe(513);
    const gapsBefore = pagesGaps(heap.ctx);
    expect(pagesGapBytes(heap.ctx)).toBeGreaterThan(MiB);
    const p = heap.malloc(100);
    expect(p).not.toBe(0);
    // Fresh space first, as jemalloc prefers: the slab was cut from the gap, the dirty extent is whole.
    expect(inGaps(gapsBefore, p, p + 4096)).toBe(true);
    expect(stat(heap, "stats.arenas.0.pdirty")).toBe(513);
    expect(heapTop(heap)).toBe(6 * MiB);
    expect(stat(heap, "stats.allocated")).toBe(112);
    accounted(heap);
    heap.free(p);
    servesSmall(heap);
  });

  it("an aligned mapping is cut from a gap as high as its alignment allows; the rest above stays a gap", () => {
    const heap = fullHeap();
    fillAndFree(heap);
    const ctx = heap.ctx;
    const before = pagesGaps(ctx);
    const gapBytes = pagesGapBytes(ctx);
    expect(heapTop(heap)).toBe(6 * MiB);
    const [gs, ge] = before[0]!;
    const p = pagesMapExtent(ctx, 20480, 65536);
    expect(p).toBe(Math.floor((ge - 20480) / 65536) * 65536);
    expect(pagesGapBytes(ctx)).toBe(gapBytes - 20480);
    // Both sides stay listed, in address order: [p + 20480, ge) above [gs, p).
    expect(pagesGaps(ctx).slice(0, 2)).toEqual([
      [p + 20480, ge],
      [gs, p],
    ]);
    expect(heap.u8.subarray(p, p + 20480).every((b) => b === 0)).toBe(true);
    heap.check();
    // A mapping nobody took is address space owned by nobody: carved, neither mapped nor retained.
    expect(stat(heap, "stats.mapped") + stat(heap, "stats.retained")).toBe(carvedBytes(heap) - 20480);
    // A page-aligned one takes the top of the highest gap that holds it; a gap taken whole is unlinked.
    const q = pagesMapExtent(ctx, ge - (p + 20480), 4096);
    expect(q).toBe(p + 20480);
    expect(pagesGaps(ctx)[0]).toEqual([gs, p]);
    heap.check();
  });

  it("metadata blocks come from a gap once the top is full (stats.metadata and mapped exact)", () => {
    const heap = fullHeap();
    fillAndFree(heap);
    const ctx = heap.ctx;
    const b0 = ctx.u32[HDR_BASE0_B >>> 2]!;
    const gaps = pagesGaps(ctx);
    const gapBytes = pagesGapBytes(ctx);
    const s0 = baseStats(ctx, b0);
    const mapped0 = stat(heap, "stats.mapped");
    const meta0 = stat(heap, "stats.metadata");
    // Fill the current block until the base has to map another.
    let r = 0;
    let n = 0;
    while (baseStats(ctx, b0).mapped === s0.mapped) {
      r = baseAlloc(ctx, b0, 512, 64);
      expect(r).not.toBe(0);
      n++;
    }
    const [start, end] = baseBlocks(ctx, b0)[0]!;
    expect(inGaps(gaps, start, end)).toBe(true);
    expect(r > start && r + 512 <= end).toBe(true);
    expect(end - start).toBe(4096); // only what the request needs: the top cannot grow
    expect(pagesGapBytes(ctx)).toBe(gapBytes - 4096);
    expect(stat(heap, "stats.mapped")).toBe(mapped0 + 4096);
    expect(stat(heap, "stats.metadata")).toBe(meta0 + n * 512);
    expect(heapTop(heap)).toBe(6 * MiB);
    accounted(heap);
    servesSmall(heap);
  });

  it("when no gap holds the request either, base and malloc fail cleanly and change nothing", () => {
    const heap = fullHeap();
    fillAndFree(heap);
    const ctx = heap.ctx;
    const b0 = ctx.u32[HDR_BASE0_B >>> 2]!;
    // Metadata bigger than every gap: 0, nothing changed.
    const gaps = JSON.stringify(pagesGaps(ctx));
    const s0 = JSON.stringify(baseStats(ctx, b0));
    expect(baseAlloc(ctx, b0, 3 * MiB, 64)).toBe(0);
    expect(JSON.stringify(pagesGaps(ctx))).toBe(gaps);
    expect(JSON.stringify(baseStats(ctx, b0))).toBe(s0);
    // An extent larger than every cached extent, gap and the room at the top: ENOMEM, heap intact.
    expect(heap.malloc(3 * MiB)).toBe(0);
    expect(heap.lastError).toBe(ENOMEM);
    expect(JSON.stringify(pagesGaps(ctx))).toBe(gaps);
    accounted(heap);
    // Use up the gaps with metadata: the buffer is then full everywhere, yet cached memory serves.
    for (let g = pagesGaps(ctx)[0]; g !== undefined; g = pagesGaps(ctx)[0]) {
      expect(baseAlloc(ctx, b0, g[1] - g[0] - 4096, 64)).not.toBe(0);
    }
    expect(pagesGapBytes(ctx)).toBe(0);
    accounted(heap);
    const purged = stat(heap, "stats.arenas.0.dirty_purged");
    const p = heap.malloc(100); // a 7-page slab from the 513-page dirty extent (any-size fit)
    expect(p).not.toBe(0);
    expect(stat(heap, "stats.arenas.0.pdirty")).toBe(513 - 7);
    expect(stat(heap, "stats.arenas.0.dirty_purged")).toBe(purged);
    accounted(heap);
    heap.free(p);
    servesSmall(heap);
  });

  it("dirty extents of different mappings merge to serve a slab (3 MiB, 64 KiB pages)", () => {
    const heap = fullHeap({ maxBytes: 3 * MiB, lgPage: 16 });
    const a = heap.mallocx(257, 0);
    const b = heap.realloc(a, 16385);
    heap.mallctl("arena.4096.decay");
    heap.free(b);
    expect(stat(heap, "stats.arenas.0.pdirty")).toBe(10); // two 5-page extents, two mappings
    servesSmall(heap);
  });

  it("dirty pages on both sides of a retained page are purged and merged (3 MiB, 64 KiB pages)", () => {
    const heap = fullHeap({ maxBytes: 3 * MiB, lgPage: 16 });
    const a = heap.mallocx(257, MALLOCX_LG_ALIGN(3) | MALLOCX_ARENA(0));
    const b = heap.mallocx(257, MALLOCX_LG_ALIGN(17));
    heap.free(a);
    heap.free(b);
    expect(stat(heap, "stats.retained")).toBeGreaterThan(0);
    const purged = stat(heap, "stats.arenas.0.dirty_purged");
    servesSmall(heap);
    expect(stat(heap, "stats.arenas.0.dirty_purged")).toBeGreaterThan(purged);
  });

  it("an extent hook's answer inside a gap is refused (unmapped address space)", () => {
    const heap = fullHeap();
    fillAndFree(heap);
    const [start, end] = pagesGaps(heap.ctx)[0]!;
    expect(hookAllocProblem(heap.ctx, end - 65536, 65536, 4096)).toMatch(/gap/);
    expect(hookAllocProblem(heap.ctx, start, 8192, 4096)).toMatch(/gap/);
  });
});
