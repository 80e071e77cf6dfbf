/**
 * Extent mappings land where Linux would put them modulo the hugepage (src/extent/pages.ts): top-down
 * below the previous mapping, lengths that are hugepage multiples hugepage-aligned, base blocks
 * hugepage-aligned. The residues below are the ones strace shows for jemalloc 5.3's retained growth
 * (2, 2.5, 3, 3.5, 4, 5 MiB) under a hugepage-aligned base block.
 */
import { describe, expect, it } from "vitest";
import { pagesMapBase, pagesMapExtent, pagesTop, pagesTrimTail } from "../../src/extent/pages.js";
import { Heap } from "../../src/index.js";

const MiB = 1 << 20;
const HP = 2 * MiB;

describe("extent placement", () => {
  it("follows the top-down residues of a growth series, with gaps that are never used", () => {
    const heap = Heap.create({ maxBytes: 256 * MiB, conf: "tcache:false", envConf: null });
    const ctx = heap.ctx;
    expect(pagesTop(ctx) % HP).toBe(0); // b0 ends on a hugepage boundary
    pagesMapBase(ctx, HP, 4096); // a base block: the next extent goes just below an aligned address
    const residues = [2, 2.5, 3, 3.5, 4, 5].map((m) => pagesMapExtent(ctx, m * MiB, 4096) % HP);
    expect(residues).toEqual([0, 1.5 * MiB, 0.5 * MiB, 1 * MiB, 0, 1 * MiB]);
    // An alignment above the page is honoured too.
    expect(pagesMapExtent(ctx, 2.5 * MiB, 65536) % 65536).toBe(0);
    heap.detach();
  });

  it("gives a gap back with the mapping above it when a resizable buffer shrinks", () => {
    const heap = Heap.create({ maxBytes: 256 * MiB, shared: false, conf: "tcache:false", envConf: null });
    const ctx = heap.ctx;
    const before = pagesTop(ctx);
    const a = pagesMapExtent(ctx, 2.5 * MiB, 4096);
    expect(a).toBeGreaterThan(before); // a gap below it
    expect(heap.u32[before >>> 2]).toBe(a); // the gap's record: [end, previous gap]
    pagesTrimTail(ctx, a);
    expect(pagesTop(ctx)).toBe(before);
    expect(heap.u8.subarray(before, before + 8).every((b) => b === 0)).toBe(true);
    heap.detach();
  });
});
