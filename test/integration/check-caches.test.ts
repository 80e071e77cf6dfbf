/** heap.check() rule C5: every offset parked in a thread cache is a live region of its bin's class. */
import { describe, expect, it } from "vitest";
import { THREAD_TCACHE_B } from "../../src/ctx/header.js";
import { Heap, HeapCheckError } from "../../src/index.js";
import { TBIN_W_HEAD, TBIN_W_SLOTS, tbinW } from "../../src/tcache/layout.js";

describe("heap.check(): thread caches (C5)", () => {
  it("passes with cached blocks and reports a corrupted cache entry", () => {
    const heap = Heap.create({ maxBytes: 64 << 20, envConf: null });
    const ps = Array.from({ length: 10 }, () => heap.malloc(64));
    for (const p of ps) heap.free(p);
    const report = heap.check();
    expect(report.cachedEntries).toBeGreaterThanOrEqual(10);
    // Corrupt the top entry of the 64-byte bin: point it into the middle of a region.
    const ctx = heap.ctx;
    const tc = ctx.u32[(ctx.threadB + THREAD_TCACHE_B) >>> 2]!;
    const ind = ctx.sc.size2index(64);
    const w = tbinW(tc, ind);
    const slot = ctx.u32[w + TBIN_W_SLOTS]! + ctx.u32[w + TBIN_W_HEAD]!;
    const good = ctx.u32[slot]!;
    ctx.u32[slot] = good + 8;
    expect(() => heap.check()).toThrow(HeapCheckError);
    try {
      heap.check();
    } catch (e) {
      expect((e as HeapCheckError).problems.some((m) => m.startsWith("C5"))).toBe(true);
    }
    ctx.u32[slot] = good;
    expect(heap.check().cachedEntries).toBe(report.cachedEntries);
  });
});
