import { describe, expect, it } from "vitest";
import {
  applyBinShards,
  applySlabSizes,
  type ConfResult,
  mallocConfSources,
  parseMallocConf,
} from "../../src/conf/conf.js";

const J = "<jemalloc>: ";

// Bin sizes and default slab pages of the 4 KiB page, 16-byte quantum build
// (tables/debian-q4-p12-h21.json).
const BIN_SIZES = [
  8, 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024, 1280,
  1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192, 10240, 12288, 14336,
];
const SLAB_PAGES = [
  1, 1, 1, 3, 1, 5, 3, 7, 1, 5, 3, 7, 1, 5, 3, 7, 1, 5, 3, 7, 1, 5, 3, 7, 1, 5, 3, 7, 1, 5, 3, 7, 2, 5, 3, 7,
];

function run(embedded: string, env: string | null = null): { result: ConfResult; out: string[] } {
  const out: string[] = [];
  const result = parseMallocConf(mallocConfSources(embedded, env), { ncpus: 2, writer: (m) => out.push(m) });
  return { result, out };
}

describe("slab_sizes", () => {
  it("parses start-end:pages segments separated by |", () => {
    const { result, out } = run("slab_sizes:1-16:2|0x20-0100:3");
    expect(out).toEqual([]);
    expect(result.slabSizes).toEqual([
      { start: 1, end: 16, pages: 2 },
      { start: 32, end: 64, pages: 3 },
    ]);
  });

  it("accumulates over sources and is reset by slab_sizes:default", () => {
    expect(run("slab_sizes:1-16:2", "slab_sizes:32-64:3").result.slabSizes).toHaveLength(2);
    expect(run("slab_sizes:1-16:2", "slab_sizes:default").result.slabSizes).toEqual([]);
  });

  it.each([["1-16"], ["1:16-2"], ["1-16:"], ["x"], [""], ["1-16:2||"], ["1-16:2x"]])(
    "slab_sizes:%s gives Invalid settings for slab_sizes",
    (v) => {
      const { out } = run(`slab_sizes:${v}`);
      expect(out).toEqual([`${J}Invalid settings for slab_sizes: slab_sizes:${v}\n`]);
    },
  );

  it("keeps the segments parsed before an error", () => {
    const { result, out } = run("slab_sizes:1-16:2|garbage");
    expect(out).toHaveLength(1);
    expect(result.slabSizes).toEqual([{ start: 1, end: 16, pages: 2 }]);
  });

  it("accepts a trailing | and applies the (int) cast to the page count", () => {
    expect(run("slab_sizes:1-16:2|").out).toEqual([]);
    expect(run("slab_sizes:1-16:4294967297").result.slabSizes[0]?.pages).toBe(1);
    expect(run("slab_sizes:1-16:-1").result.slabSizes[0]?.pages).toBe(-1);
  });

  it("applies segments with sc_data_update_slab_size's clamping", () => {
    const { result } = run("slab_sizes:1-16:2|48-48:100|4096-8192:0|10240-14336:-1");
    const pages = applySlabSizes(result.slabSizes, BIN_SIZES, SLAB_PAGES, 12);
    expect(pages.slice(0, 2)).toEqual([1, 2]); // 8 bytes: at most 512 × 8 / 4096 = 1 page
    expect(pages[2]).toBe(1); // 32 untouched
    expect(pages[3]).toBe(6); // 48: at most 512 × 48 / 4096 pages
    expect(pages.slice(28, 33)).toEqual([1, 2, 2, 2, 2]); // at least ceil(size / page)
    expect(pages.slice(33)).toEqual([1280, 1536, 1792]); // negative → the maximum, 512 × size / 4096
  });
});

describe("bin_shards", () => {
  it("parses start-end:nshards segments", () => {
    const { result, out } = run("bin_shards:1-160:16|161-320:4");
    expect(out).toEqual([]);
    expect(result.binShards).toEqual([
      { start: 1, end: 160, nshards: 16 },
      { start: 161, end: 320, nshards: 4 },
    ]);
  });

  it.each([["1-2:0"], ["1-2:65"], ["1-2"], ["a-2:3"], ["1-2:3|4"]])(
    "bin_shards:%s gives Invalid settings for bin_shards",
    (v) => {
      expect(run(`bin_shards:${v}`).out).toEqual([`${J}Invalid settings for bin_shards: bin_shards:${v}\n`]);
    },
  );

  it("stops at the first bad segment, keeping the earlier ones", () => {
    const { result, out } = run("bin_shards:1-2:4|3-4:0|5-6:2");
    expect(out).toHaveLength(1);
    expect(result.binShards).toEqual([{ start: 1, end: 2, nshards: 4 }]);
    expect(run("bin_shards:1-2:64").out).toEqual([]);
  });

  it("applies segments like bin_update_shard_size", () => {
    const { result } = run("bin_shards:1-16:2|100-200:3|14000-99999:5|20000-30000:9");
    const shards = applyBinShards(result.binShards, BIN_SIZES);
    expect(shards.slice(0, 3)).toEqual([2, 2, 1]);
    // 100 → class 112 (index 7) … 200 → class 224 (index 11)
    expect(shards.slice(6, 13)).toEqual([1, 3, 3, 3, 3, 3, 1]);
    expect(shards[35]).toBe(5); // end clipped to the largest small class
    expect(shards.filter((n) => n === 9)).toEqual([]); // start above it: ignored
    expect(applyBinShards([{ start: 0, end: 0, nshards: 7 }], BIN_SIZES)[0]).toBe(7);
  });
});
