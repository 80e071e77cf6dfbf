// Size classes against builds of jemalloc 5.3.0 configured with other --with-lg-quantum,
// --with-lg-page and --with-lg-hugepage (test/fixtures/tables/native/q<Q>-p<P>-h<H>.json, printed by
// scripts/native-replay/sizeclasses.c linked with each build; `diff.mjs tables --jemalloc DIR`
// re-checks one): arenas.*, every bin, every large class below 4 GiB and nallocx over the reference
// grid of sizes and alignments 2^0..2^16.

import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { NALLOCX_SIZES, SizeClasses, sizeClassConfig, sizeClassesDump } from "../../src/sizeclass/index.js";

interface NativeTable {
  arenas: Record<string, number>;
  bins: Array<{ i: number; size: number; nregs: number; slab_size: number; nshards: number }>;
  lextents: number[];
  nallocx_align: { by_lg_align: number[][] };
}

interface OursDump {
  arenas: Record<string, number>;
  bins: Array<{ i: number; size: number; nregs: number; slab_size: number; nshards: number }>;
  lextents: Array<number | string>;
  nallocx_align: { sizes: number[]; by_lg_align: number[][] };
}

const DIR = new URL("../fixtures/tables/native/", import.meta.url);
const NAMES = readdirSync(DIR)
  .filter((f) => /^q\d+-p\d+-h\d+\.json$/.test(f))
  .map((f) => f.slice(0, -".json".length))
  .sort();

function oursFor(name: string): OursDump {
  const [q, p, h] = name.match(/\d+/g)!.map(Number);
  const sc = new SizeClasses(sizeClassConfig({ lgQuantum: q, lgPage: p, lgHugepage: h }));
  return sizeClassesDump(sc) as OursDump;
}

describe("size classes against jemalloc builds of other quantum, page and hugepage sizes", () => {
  it("has the builds", () => {
    expect(NAMES.length).toBeGreaterThanOrEqual(7);
  });

  describe.each(NAMES)("%s", (name) => {
    const native = JSON.parse(readFileSync(new URL(`${name}.json`, DIR), "utf8")) as NativeTable;
    const ours = oursFor(name);

    it("arenas.quantum, page, tcache_max, nbins, nhbins, nlextents", () => {
      expect(ours.arenas).toMatchObject(native.arenas);
    });

    it("every bin: size, nregs, slab_size, nshards", () => {
      expect(
        ours.bins.map(({ i, size, nregs, slab_size, nshards }) => ({ i, size, nregs, slab_size, nshards })),
      ).toEqual(native.bins);
    });

    it("every large class below 4 GiB", () => {
      expect(native.lextents.length).toBeGreaterThan(50);
      expect(ours.lextents).toEqual(native.lextents);
    });

    it("nallocx over the grid of sizes × MALLOCX_LG_ALIGN(0..16)", () => {
      expect(ours.nallocx_align.sizes).toEqual([...NALLOCX_SIZES]);
      expect(native.nallocx_align.by_lg_align).toHaveLength(17);
      expect(ours.nallocx_align.by_lg_align).toEqual(native.nallocx_align.by_lg_align);
    });
  });
});
