/**
 * Decay settings and purging seen through a whole heap: decay 0 purges at once, −1 never (only an
 * explicit arena.<i>.purge does), a freed extent that merges into ≥ oversize_threshold of dirty memory
 * is purged at once, and the stats keep their meanings over a buffer: purged pages leave `resident`
 * and `mapped` and join `retained`, mapped + retained is the address space carved from the buffer, and
 * purged pages keep their data by default (read zero with zeroOnPurge).
 */
import { describe, expect, it } from "vitest";
import { HDR_TOP_B } from "../../src/ctx/header.js";
import { pagesGapBytes } from "../../src/extent/pages.js";
import { MALLOCX_ARENA } from "../../src/flags.js";
import type { Heap } from "../../src/heap.js";
import { arenaStat, clockedHeap, dirtyLarge, heapStat, smallHeap } from "../workers/bg-common.js";

const PAGE = 4096;

interface Footprint {
  mapped: number;
  resident: number;
  retained: number;
  pdirty: number;
  pmuzzy: number;
}

function footprint(heap: Heap): Footprint {
  return {
    mapped: heapStat(heap, "mapped"),
    resident: heapStat(heap, "resident"),
    retained: heapStat(heap, "retained"),
    pdirty: arenaStat(heap, 0, "pdirty"),
    pmuzzy: arenaStat(heap, 0, "pmuzzy"),
  };
}

/** mapped + retained covers exactly the address space carved from the buffer (after the header, less
 * the gaps left by placing extent mappings where the OS would). */
function expectAddressSpaceAccounted(heap: Heap): void {
  const top = heap.f64[HDR_TOP_B >>> 3]!;
  const carved = top - heap.ctx.hdr.headerBytes - pagesGapBytes(heap.ctx);
  expect(heapStat(heap, "mapped") + heapStat(heap, "retained")).toBe(carved);
  expect(heap.buffer.byteLength).toBeGreaterThanOrEqual(top);
}

describe("decay settings at heap level", () => {
  it("dirty_decay_ms:0 purges every freed extent at once; its pages keep their data (zero with zeroOnPurge)", () => {
    for (const zeroOnPurge of [false, true]) {
      const heap = smallHeap("dirty_decay_ms:0,muzzy_decay_ms:0", { zeroOnPurge });
      const ptrs = dirtyLarge(heap, 8, 100_000);
      expect(arenaStat(heap, 0, "pdirty")).toBe(0);
      expect(arenaStat(heap, 0, "dirty_purged")).toBeGreaterThanOrEqual(8 * 25);
      const want = zeroOnPurge ? 0 : 0xa5;
      for (const p of ptrs) expect(heap.u8[p]! | heap.u8[p + 99_999]!).toBe(want);
      expectAddressSpaceAccounted(heap);
      heap.check();
    }
  });

  it("dirty_decay_ms:-1 never purges, not even hours later; arena.<i>.purge still does", () => {
    const { heap, clock } = clockedHeap("dirty_decay_ms:-1,muzzy_decay_ms:-1");
    dirtyLarge(heap, 8, 100_000);
    const pd = arenaStat(heap, 0, "pdirty");
    expect(pd).toBeGreaterThanOrEqual(8 * 25);
    for (const ms of [1000, 3600_000, 10 * 3600_000]) {
      clock.ms = ms;
      heap.mallctl("arena.0.decay");
      for (let i = 0; i < 2000; i++) heap.free(heap.malloc(64));
    }
    expect(arenaStat(heap, 0, "pdirty")).toBeGreaterThanOrEqual(pd);
    expect(arenaStat(heap, 0, "dirty_npurge")).toBe(0);
    heap.mallctl("arena.0.purge");
    expect(arenaStat(heap, 0, "pdirty")).toBe(0);
    expect(arenaStat(heap, 0, "dirty_purged")).toBeGreaterThanOrEqual(pd);
    heap.check();
  });

  it("an extent that merges into ≥ oversize_threshold of dirty memory is purged at once (not with −1)", () => {
    for (const [decay, purged] of [
      ["10000", true],
      ["-1", false],
    ] as const) {
      const heap = smallHeap(`dirty_decay_ms:${decay},muzzy_decay_ms:0`);
      // Explicit arena 0 (not the huge arena). A 12 MiB block, freed, leaves one contiguous extent
      // (purged at once itself when decay allows), from which three adjacent 3 MiB blocks are carved.
      const big = heap.mallocx(12 << 20, MALLOCX_ARENA(0));
      heap.free(big);
      expect(arenaStat(heap, 0, "dirty_nmadvise")).toBe(purged ? 1 : 0);
      const ps = [0, 1, 2].map(() => heap.mallocx(3 << 20, MALLOCX_ARENA(0)));
      const ext = (3 << 20) + PAGE;
      expect(Math.abs(Math.floor(ps[1]! / PAGE) - Math.floor(ps[0]! / PAGE)) * PAGE).toBe(ext);
      for (const p of ps) expect(heap.arenaOf(p)).toBe(0);
      const dirty0 = arenaStat(heap, 0, "pdirty");
      heap.free(ps[0]!);
      heap.free(ps[2]!);
      expect(arenaStat(heap, 0, "pdirty") - dirty0).toBe((2 * ext) / PAGE);
      heap.free(ps[1]!);
      expect(arenaStat(heap, 0, "pdirty"), `dirty_decay_ms:${decay}`).toBe(
        purged ? 0 : dirty0 + (3 * ext) / PAGE,
      );
      expect(arenaStat(heap, 0, "dirty_nmadvise")).toBe(purged ? 2 : 0);
      heap.check();
    }
  });

  it("the huge arena purges at once while the defaults are positive", () => {
    const heap = smallHeap("dirty_decay_ms:10000,muzzy_decay_ms:0");
    const p = heap.malloc(9 << 20);
    expect(heap.arenaOf(p)).toBe(1);
    heap.u8.fill(1, p, p + (9 << 20));
    heap.free(p);
    expect(arenaStat(heap, 1, "pdirty")).toBe(0);
    expect(arenaStat(heap, 1, "dirty_purged")).toBeGreaterThanOrEqual((9 << 20) / PAGE);
    heap.check();
  });
});

describe("what purge, mapped, resident and retained mean over a buffer", () => {
  it("purged pages leave resident and mapped, join retained; the buffer itself never shrinks (shared)", () => {
    const heap = smallHeap("dirty_decay_ms:10000,muzzy_decay_ms:0");
    const before = footprint(heap);
    expectAddressSpaceAccounted(heap);
    const ptrs = dirtyLarge(heap, 16, 1 << 20);
    const dirty = footprint(heap);
    expect(dirty.pdirty).toBeGreaterThanOrEqual(16 * 256);
    expect(dirty.resident - before.resident).toBeGreaterThanOrEqual(dirty.pdirty * PAGE);
    expectAddressSpaceAccounted(heap);
    const len = heap.buffer.byteLength;
    heap.mallctl("arena.0.purge");
    const purged = footprint(heap);
    expect(purged.pdirty).toBe(0);
    expect(dirty.resident - purged.resident).toBe(dirty.pdirty * PAGE);
    expect(dirty.mapped - purged.mapped).toBe(dirty.pdirty * PAGE);
    expect(purged.retained - dirty.retained).toBe(dirty.pdirty * PAGE);
    expectAddressSpaceAccounted(heap);
    expect(heap.buffer.byteLength).toBe(len);
    // Not zero-filled (the default): a SharedArrayBuffer gains nothing from it.
    for (const p of ptrs) expect(heap.u8[p + 4096]).toBe(0xa5);
    // Reuse comes from retained: no growth of the buffer for the same sizes again.
    const again = [];
    for (let i = 0; i < 16; i++) again.push(heap.malloc(1 << 20));
    expect(heap.buffer.byteLength).toBe(len);
    expect(footprint(heap).retained).toBeLessThan(purged.retained);
    for (const p of again) heap.free(p);
    heap.check();
  });

  it("muzzy pages (lazy purge) keep their data and count as neither dirty nor retained", () => {
    const { heap, clock } = clockedHeap("dirty_decay_ms:100,muzzy_decay_ms:10000");
    const ptrs = dirtyLarge(heap, 4, 1 << 20);
    const pd = arenaStat(heap, 0, "pdirty");
    clock.ms = 1000;
    heap.mallctl("arena.0.decay");
    clock.ms = 2000;
    heap.mallctl("arena.0.decay");
    const f = footprint(heap);
    expect(f.pdirty).toBe(0);
    expect(f.pmuzzy).toBe(pd);
    expect(heap.u8[ptrs[0]! + 4096]).toBe(0xa5);
    expectAddressSpaceAccounted(heap);
    heap.check();
  });
});
