/**
 * emap: the page map. Every live block's address finds the extent that holds it; every page of an
 * active slab maps to that slab; lookups of addresses that no live extent covers (the header, beyond
 * the top, the far end of the address space) find nothing; a checked lookup never returns a record that
 * does not cover the address.
 */
import { describe, expect, it } from "vitest";
import { EXTENT_STATE_ACTIVE, edataBase, edataSize, edataSlab, edataState } from "../../src/extent/edata.js";
import { emapLookupChecked, emapRead } from "../../src/extent/emap.js";
import { Heap } from "../../src/heap.js";
import { prng } from "../helpers/ledger.js";

describe("emap", () => {
  it("maps live blocks to their extents, slab interiors included", () => {
    const h = Heap.create({ envConf: null, conf: "tcache:false,narenas:1", clock: () => 0 });
    const ctx = h.ctx;
    const rnd = prng(3);
    const live: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const size = rnd() % 10 === 0 ? 16 * 1024 + (rnd() % (512 * 1024)) : 1 + (rnd() % 4000);
      live.push(h.malloc(size));
      if (rnd() % 3 === 0) h.free(live.splice(rnd() % live.length, 1)[0]!);
    }
    const slabs = new Set<number>();
    for (const p of live) {
      const e = emapLookupChecked(ctx, p);
      expect(e).not.toBe(0);
      const base = edataBase(ctx.u32, e);
      expect(base <= p && p < base + edataSize(ctx.u32, e)).toBe(true);
      expect(edataState(ctx.u32, e)).toBe(EXTENT_STATE_ACTIVE);
      if (edataSlab(ctx.u32, e)) {
        // Any byte of a slab region finds the slab (a large extent maps only its first and last pages).
        expect(emapLookupChecked(ctx, p + h.mallocUsableSize(p) - 1)).toBe(e);
        slabs.add(e);
      }
    }
    expect(slabs.size).toBeGreaterThan(1);
    for (const e of slabs) {
      const base = edataBase(ctx.u32, e);
      for (let a = base; a < base + edataSize(ctx.u32, e); a += ctx.page) expect(emapRead(ctx, a)).toBe(e);
    }
    for (const p of live) h.free(p);
    h.check();
  });

  it("finds nothing for the header, beyond the top, or the end of the address space", () => {
    const h = Heap.create({ envConf: null, conf: "tcache:false,narenas:1", clock: () => 0 });
    const ctx = h.ctx;
    h.malloc(100);
    for (const a of [
      0,
      8,
      4096,
      h.buffer.byteLength,
      h.buffer.byteLength + 12345,
      2 ** 32 - 1,
      2 ** 32 - 4096,
    ]) {
      expect(emapLookupChecked(ctx, a), String(a)).toBe(0);
    }
  });

  it("a freed large block's address no longer finds an active extent", () => {
    const h = Heap.create({ envConf: null, conf: "tcache:false,narenas:1", clock: () => 0 });
    const keep = h.malloc(64 * 1024);
    const p = h.malloc(128 * 1024);
    const keep2 = h.malloc(64 * 1024);
    h.free(p);
    const e = emapLookupChecked(h.ctx, p);
    if (e !== 0) expect(edataState(h.ctx.u32, e)).not.toBe(EXTENT_STATE_ACTIVE);
    h.free(keep);
    h.free(keep2);
    h.check();
  });
});
