// Exact division by region sizes (src/sizeclass/div.ts): for every bin of several size-class
// configurations, every slab offset (and offsets past the slab, and negative ones) gives the region
// index exactly when it is a region start, and -1 otherwise.
import { describe, expect, it } from "vitest";
import { divRegind, divTable, divTableOf, inverseMod32 } from "../../src/sizeclass/div.js";
import { SC_DEFAULTS, SizeClasses } from "../../src/sizeclass/index.js";

describe("sizeclass div", () => {
  it("inverseMod32 inverts every odd number it is given", () => {
    for (const d of [1, 3, 5, 7, 9, 15, 25, 1234567, 0x7fffffff, 0xfffffff1]) {
      expect(Math.imul(d, inverseMod32(d)) >>> 0).toBe(1);
    }
  });

  for (const cfg of [{}, { lgQuantum: 3 }, { lgPage: 14 }, { lgPage: 16 }]) {
    it(`region index of every slab offset, ${JSON.stringify(cfg)}`, () => {
      const sc = new SizeClasses({ ...SC_DEFAULTS, lgHugepage: 21, ...cfg });
      const t = divTable(sc.binRegSize, sc.binNregs, sc.nbins);
      let wrong = 0;
      for (let b = 0; b < sc.nbins; b++) {
        const size = sc.binRegSize[b]!;
        const nregs = sc.binNregs[b]!;
        const past = size * nregs + 2 * size;
        const step = past > 1 << 16 ? 7 : 1; // the biggest slabs: a stride coprime to every size
        for (let off = -2 * size; off < past; off += step) {
          const want = off >= 0 && off % size === 0 && off / size < nregs ? off / size : -1;
          if (divRegind(t, b, off) !== want) wrong++;
        }
        for (let r = 0; r < nregs; r++) if (divRegind(t, b, r * size) !== r) wrong++;
        // An offset near 2^32 (a pointer below its record's base, seen unsigned) is no region.
        expect(divRegind(t, b, 2 ** 32 - size)).toBe(-1);
      }
      expect(wrong).toBe(0);
    });
  }

  it("divTableOf builds one table per size-class set", () => {
    const sc = new SizeClasses(SC_DEFAULTS);
    expect(divTableOf(sc)).toBe(divTableOf(sc));
    expect(divTableOf(new SizeClasses(SC_DEFAULTS))).toEqual(divTableOf(sc));
  });
});
