// Size classes against the tables measured from the real jemalloc 5.3.0
// (test/fixtures/tables, copied from shared/reference/tables), lookup-vs-compute
// agreement, validation, slab_sizes / bin_shards and the tcache geometry.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  LG_PAGE_MAX,
  NALLOCX_LG_ALIGN_MAX,
  nallocx,
  SC_DEFAULTS,
  SizeClasses,
  sizeClassConfig,
  sizeClassesDump,
} from "../../src/sizeclass/index.js";

interface RefTable {
  lg: { lg_quantum: number; lg_page: number };
  arenas: Record<string, number | null>;
  bins: Array<{
    i: number;
    size: number;
    nregs: number;
    slab_size: number;
    slab_pages: number;
    nshards: number;
  }>;
  lextents: Array<number | string>;
  nallocx_align: { sizes: number[]; by_lg_align: Array<Array<number | string>> };
}

const REF_NAMES = ["debian-q4-p12-h21", "q3-p12-h21", "q4-p16-h21"] as const;

function loadRef(name: string): RefTable {
  const url = new URL(`../fixtures/tables/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as RefTable;
}

function scFor(ref: RefTable): SizeClasses {
  return new SizeClasses({
    lgQuantum: ref.lg.lg_quantum,
    lgPage: ref.lg.lg_page,
    lgHugepage: 21,
    lgVaddr: 32,
  });
}

const ARENA_FIELDS = ["quantum", "page", "tcache_max", "nbins", "nhbins", "nlextents"] as const;
const TWO_32 = 2n ** 32n;

describe.each(REF_NAMES)("reference table %s", (name) => {
  const ref = loadRef(name);
  const sc = scFor(ref);

  it("bins: size, nregs, slab_size, slab_pages, nshards", () => {
    expect(sc.nbins).toBe(ref.bins.length);
    for (const b of ref.bins) {
      expect([
        sc.binRegSize[b.i],
        sc.binNregs[b.i],
        sc.binSlabSize[b.i],
        sc.binSlabPages[b.i],
        sc.binNshards[b.i],
        sc.index2size(b.i),
      ]).toEqual([b.size, b.nregs, b.slab_size, b.slab_pages, b.nshards, b.size]);
    }
  });

  it("every large class: exact below 2^32 as numbers, above as bigint strings", () => {
    expect(sc.nlextents).toBe(ref.lextents.length);
    ref.lextents.forEach((v, k) => {
      const ind = sc.nbins + k;
      expect(sc.indexToSizeBig(ind).toString()).toBe(String(v));
      if (BigInt(v) < TWO_32) {
        expect(sc.index2size(ind)).toBe(Number(v));
        expect(sc.index2sizeCompute(ind)).toBe(Number(v));
      }
    });
  });

  it("nallocx_align grid (lg_align 0 = no alignment) below 2^32", () => {
    const { sizes, by_lg_align } = ref.nallocx_align;
    expect(by_lg_align.length).toBe(NALLOCX_LG_ALIGN_MAX + 1);
    let compared = 0;
    by_lg_align.forEach((row, lg) => {
      row.forEach((want, k) => {
        if (BigInt(want) >= TWO_32) return;
        expect([lg, sizes[k], nallocx(sc, sizes[k]!, lg)]).toEqual([lg, sizes[k], Number(want)]);
        compared++;
      });
    });
    expect(compared).toBe(sizes.length * by_lg_align.length);
  });

  it("arenas fields", () => {
    const dump = sizeClassesDump(sc) as { arenas: Record<string, number> };
    for (const f of ARENA_FIELDS) expect([f, dump.arenas[f]]).toEqual([f, ref.arenas[f]]);
    expect(sc.quantum).toBe(ref.arenas.quantum);
    expect(sc.page).toBe(ref.arenas.page);
    expect(sc.nhbins(32768)).toBe(ref.arenas.nhbins);
  });

  it("the dump equals the reference on the compared fields", () => {
    const dump = sizeClassesDump(sc) as {
      bins: unknown;
      lextents: Array<number | string>;
      lextents_omitted: number;
      nallocx_align: unknown;
    };
    expect(dump.bins).toEqual(ref.bins);
    const below = ref.lextents.filter((v) => BigInt(v) < TWO_32);
    expect(dump.lextents).toEqual(below);
    expect(dump.lextents_omitted).toBe(ref.lextents.length - below.length);
    expect(dump.nallocx_align).toEqual(ref.nallocx_align);
  });
});

describe("default table (internals §1.2, §1.3, §3.1)", () => {
  const sc = new SizeClasses(SC_DEFAULTS);
  // tcache_slots column of §1.3
  const SLOTS = [
    200, 200, 200, 200, 128, 200, 200, 200, 64, 200, 128, 200, 32, 128, 64, 128, 20, 64, 32, 64, 20, 32, 20,
    32, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
  ];

  it("counts and boundaries", () => {
    expect([sc.ntiny, sc.nsizes, sc.nbins, sc.npsizes, sc.nlbins, sc.nlextents]).toEqual([
      1, 232, 36, 199, 29, 196,
    ]);
    expect([sc.smallMaxclass, sc.largeMinclass, sc.largePad]).toEqual([14336, 16384, 4096]);
    // 3.5 GiB + one page of pad is exactly 2^32; 4 GiB + pad is not servable.
    expect(sc.maxClass).toBe(3758096384);
    expect(sc.index2size(sc.maxClassIndex + 1)).toBe(2 ** 32);
    expect(sc.s2u(3758096384)).toBe(3758096384);
    expect(sc.s2u(3758096385)).toBe(0);
    expect(sc.size2index(3758096385)).toBe(sc.nsizes);
    expect(sc.s2u64(3758096385)).toBe(2 ** 32);
    expect(sc.indexToSizeBig(sc.nsizes - 1)).toBe(0x7000000000000000n);
  });

  it("tcache slots per bin, nhbins, tcache_maxclass", () => {
    expect(Array.from({ length: sc.nbins }, (_, i) => sc.ncachedMax(i))).toEqual(SLOTS);
    expect(sc.ncachedMax(sc.nbins)).toBe(20);
    expect(sc.nhbins(32768)).toBe(41);
    expect(sc.nhbins(0)).toBe(1);
    expect(sc.tcacheMaxclass(0)).toBe(8);
    expect(sc.tcacheMaxclass(2 ** 40)).toBe(8 * 1024 * 1024);
    expect(sc.tcacheMaxclass(32769)).toBe(40960);
    // Σ slots over the 41 cached bins = 3096 (reference README)
    let sum = 0;
    for (let i = 0; i < 41; i++) sum += sc.ncachedMax(i);
    expect(sum).toBe(3096);
    const o = { nslotsSmallMin: 3, nslotsSmallMax: 9999, nslotsLarge: 7, lgNslotsMul: -2 };
    expect(() => sc.ncachedMax(0, o)).toThrow(RangeError);
    const o2 = { nslotsSmallMin: 3, nslotsSmallMax: 2048, nslotsLarge: 7, lgNslotsMul: -2 };
    expect(sc.ncachedMax(0, o2)).toBe(128); // 512 >> 2
    expect(sc.ncachedMax(35, o2)).toBe(4); // 2 >> 2 = 0 -> min 3 made even
    expect(sc.ncachedMax(40, o2)).toBe(7);
    expect(() => sc.ncachedMax(232)).toThrow(RangeError);
  });

  it("sa2u examples of §1.6", () => {
    const cases: Array<[number, number, number]> = [
      [1, 64, 64],
      [100, 64, 128],
      [1, 4096, 4096],
      [1, 8192, 16384],
      [5000, 4096, 8192],
      [4096, 8192, 16384],
      [14337, 1, 16384],
      [16385, 1, 20480],
      [2 ** 20 + 1, 1, 1.25 * 2 ** 20],
      [2 ** 23 + 1, 1, 10 * 2 ** 20],
    ];
    for (const [size, align, want] of cases)
      expect([size, align, sc.sa2u(size, align)]).toEqual([size, align, want]);
    expect(sc.sa2u(1, 2 ** 31)).toBe(16384);
    expect(sc.sa2u(1, 2 ** 32)).toBe(0); // 16 KiB + pad + 4 GiB - page > 2^32
    expect(sc.sa2u(3758096384, 4096)).toBe(3758096384);
    expect(sc.sa2u(3758096384, 8192)).toBe(3758096384); // 3.5 GiB + 8 KiB of mapping fits
    expect(sc.sa2u(3758096384, 2 ** 30)).toBe(0);
    expect(() => sc.sa2u(1, 3)).toThrow(/alignment must be a power of two, got 3/);
    expect(() => sc.sa2u(1, 0)).toThrow(RangeError);
  });

  it("page-size classes and quantize", () => {
    expect([sc.pind2sz(0), sc.pind2sz(3), sc.pind2sz(8), sc.pind2sz(31)]).toEqual([
      4096,
      16384,
      40960,
      2 ** 21,
    ]);
    expect(sc.psz2ind(2 ** 21)).toBe(31);
    expect(sc.psz2ind(2 ** 21 + 1)).toBe(32);
    expect(sc.psz2u(36865)).toBe(40960);
    expect(sc.pszQuantizeFloor(20480)).toBe(20480);
    expect(sc.pszQuantizeFloor(40960)).toBe(36864);
    expect(sc.pszQuantizeCeil(40960)).toBe(45056);
    expect(sc.pszQuantizeCeil(4096)).toBe(4096);
    expect(sc.psz2ind(2 ** 62)).toBe(sc.npsizes - 4);
    expect(sc.psz2ind(2 ** 63)).toBe(sc.npsizes);
    for (let p = 0; p < sc.npsizes; p++) {
      const s = sc.pind2sz(p);
      expect(sc.psz2ind(s)).toBe(p);
      expect(sc.psz2u(s)).toBe(s);
      if (s < 2 ** 52) expect(sc.psz2ind(s + 1)).toBe(p + 1);
      if (s < 2 ** 40) {
        expect(sc.pszQuantizeFloor(s + sc.largePad)).toBe(s + sc.largePad);
        expect(sc.pszQuantizeCeil(s + sc.largePad)).toBe(s + sc.largePad);
      }
    }
  });
});

/** Configurations for the exhaustive lookup-vs-compute sweep. */
const SWEEP_CONFIGS = [
  { lgQuantum: 4, lgPage: 12 },
  { lgQuantum: 3, lgPage: 12 },
  { lgQuantum: 4, lgPage: 16 },
  { lgQuantum: 11, lgPage: 12 },
  { lgQuantum: 13, lgPage: 14 },
  { lgQuantum: 3, lgPage: LG_PAGE_MAX },
];

describe.each(SWEEP_CONFIGS)("lookup vs compute, q$lgQuantum p$lgPage", (cfg) => {
  const sc = new SizeClasses({ ...SC_DEFAULTS, lgHugepage: Math.max(21, cfg.lgPage), ...cfg });

  it("every size 0..2^16", () => {
    const bad: number[] = [];
    for (let size = 0; size <= 65536; size++) {
      const ind = sc.size2index(size);
      const u = sc.s2u(size);
      if (ind !== sc.size2indexCompute(size) || u !== sc.s2uCompute(size) || u !== sc.index2size(ind))
        bad.push(size);
      if (size <= 4096 && ind !== sc.size2indexLookup(size)) bad.push(size);
    }
    expect(bad).toEqual([]);
  });

  it("class boundaries (size-1, size, size+1 of every class) and index2size twins", () => {
    for (let i = 0; i < sc.nsizes; i++) {
      expect(sc.index2sizeCompute(i)).toBe(sc.index2size(i));
      expect(sc.indexToSizeBig(i)).toBe(BigInt(sc.index2size(i)));
      expect(sc.size2index64(sc.index2size(i))).toBe(i);
    }
    for (let i = 0; i <= sc.maxClassIndex; i++) {
      const c = sc.index2size(i);
      for (const s of [c - 1, c, c + 1]) {
        expect([s, sc.size2index(s)]).toEqual([s, sc.size2indexCompute(s)]);
        expect([s, sc.s2u(s)]).toEqual([s, sc.s2uCompute(s)]);
      }
      expect(sc.size2index(c)).toBe(i);
      expect(sc.s2u(c)).toBe(c);
      expect(sc.size2index(c + 1)).toBe(i === sc.maxClassIndex ? sc.nsizes : i + 1);
    }
  });

  it("pszFloorInd / pszCeilInd (extent-set classes by table) equal psz2ind of pszQuantizeFloor / Ceil", () => {
    const bad: number[] = [];
    const check = (size: number) => {
      if (sc.pszFloorInd(size) !== sc.psz2ind(sc.pszQuantizeFloor(size))) bad.push(size);
      if (sc.pszCeilInd(size) !== sc.psz2ind(sc.pszQuantizeCeil(size))) bad.push(-size);
    };
    // Every page count in and past the table, then page-class boundaries ± 1 page up to 2^40.
    for (let n = 1; n <= 9000; n++) check(n * sc.page);
    for (let p = 0; p < sc.npsizes; p++) {
      const c = sc.pind2sz(p);
      if (c > 2 ** 40) break;
      for (const s of [c - sc.page, c, c + sc.page, c + 2 * sc.page]) if (s > 0) check(s);
    }
    expect(bad).toEqual([]);
  });

  it("size2indexTab has 513 entries and s2u(0) is the 8-byte class", () => {
    expect(sc.size2indexTab.length).toBe(513);
    expect(sc.s2u(0)).toBe(8);
    expect(sc.size2index(0)).toBe(0);
  });
});

describe("validation", () => {
  const cases: Array<[Record<string, unknown>, typeof TypeError | typeof RangeError, RegExp]> = [
    [{ lgPage: 11 }, RangeError, /lg_page \(lgPage\) must be in 12\.\.29.*got 11/],
    [{ lgPage: 30 }, RangeError, /lg_page \(lgPage\) must be in 12\.\.29.*got 30/],
    [{ lgQuantum: 2 }, RangeError, /lg_quantum \(lgQuantum\) must be in 3\.\.11.*got 2/],
    [{ lgQuantum: 12 }, RangeError, /lg_quantum .*3\.\.11.*got 12/],
    [{ lgQuantum: Number.NaN }, TypeError, /lg_quantum \(lgQuantum\) must be an integer, got NaN/],
    [{ lgPage: "12" }, TypeError, /lg_page \(lgPage\) must be an integer, got "12" \(a string\)/],
    [{ lgPage: 1.5 }, TypeError, /lg_page \(lgPage\) must be an integer, got 1\.5/],
    [{ lgVaddr: 33 }, RangeError, /lg_vaddr \(lgVaddr\) must be in 15\.\.32.*got 33/],
    [{ lgVaddr: 14 }, RangeError, /lg_vaddr .*15\.\.32.*got 14/],
    [{ lgHugepage: 11 }, RangeError, /lg_hugepage \(lgHugepage\) must be in 12\.\.32.*got 11/],
    [{ lgHugepage: 22, lgVaddr: 21 }, RangeError, /lg_hugepage .*12\.\.21.*got 22/],
    [{ lgHugepage: null }, TypeError, /lg_hugepage .*got null/],
    [{ lg_page: 16 }, TypeError, /unknown size-class setting "lg_page"/],
  ];
  it.each(cases)("%o is rejected", (partial, type, message) => {
    expect(() => sizeClassConfig(partial as never)).toThrow(type);
    expect(() => sizeClassConfig(partial as never)).toThrow(message);
    expect(() => new SizeClasses({ ...SC_DEFAULTS, ...partial } as never)).toThrow(type);
  });

  it("missing fields take defaults; explicit undefined too", () => {
    expect(sizeClassConfig()).toEqual(SC_DEFAULTS);
    expect(sizeClassConfig({ lgPage: 16 })).toEqual({
      lgQuantum: 4,
      lgPage: 16,
      lgHugepage: 21,
      lgVaddr: 32,
    });
    expect(sizeClassConfig({ lgPage: undefined })).toEqual(SC_DEFAULTS);
    expect(sizeClassConfig({ lgPage: 29, lgQuantum: 28, lgHugepage: 32 }).lgHugepage).toBe(32);
    expect(() => sizeClassConfig(5 as never)).toThrow(/must be an object, got 5/);
  });

  it("tcacheMax must be a non-negative integer", () => {
    const sc = new SizeClasses(SC_DEFAULTS);
    expect(() => sc.tcacheMaxclass(-1)).toThrow(RangeError);
    expect(() => sc.nhbins(1.5)).toThrow(/tcache_max must be an integer, got 1\.5/);
  });
});

describe("slab_sizes and bin_shards", () => {
  it("slab_sizes clamps pages to [ceil(size/page), 512 * size / page] and later segments win", () => {
    const sc = new SizeClasses(SC_DEFAULTS, {
      slabSizes: [
        { start: 1, end: 64, pages: 4 },
        { start: 14336, end: 99999, pages: 1 },
        { start: 4096, end: 4096, pages: 9 },
        { start: 100, end: 50, pages: 9 }, // empty range: no effect, as in jemalloc
      ],
    });
    expect(sc.binSlabPages[0]).toBe(1); // 8 B: at most 512 regions = 1 page
    expect(sc.binSlabPages[1]).toBe(2); // 16 B: at most 2 pages
    expect(sc.binSlabPages[3]).toBe(4); // 48 B
    expect(sc.binNregs[3]).toBe(Math.floor(16384 / 48));
    expect(sc.binSlabPages[5]).toBe(5); // 80 B untouched
    expect(sc.binSlabPages[35]).toBe(4); // 14336 B needs at least 4 pages
    expect(sc.binNregs[35]).toBe(1);
    expect(sc.binSlabPages[28]).toBe(9);
    expect(sc.binSlabSize[28]).toBe(9 * 4096);
    expect(sc.binNregs[28]).toBe(9);
  });

  it("a slab that cannot fit in 2^lg_vaddr is a RangeError", () => {
    const cfg = { ...SC_DEFAULTS, lgVaddr: 15, lgHugepage: 15 };
    expect(new SizeClasses(cfg).maxClass).toBe(28672);
    expect(() => new SizeClasses(cfg, { slabSizes: [{ start: 14336, end: 14336, pages: 100 }] })).toThrow(
      /100-page slab .*14336-byte class.*lg_vaddr 15/,
    );
    expect(() => new SizeClasses(SC_DEFAULTS, { slabSizes: [{ start: 1, end: 2, pages: -1 }] })).toThrow(
      /slabSizes\[0\]\.pages must be in 0\.\./,
    );
  });

  it("bin_shards: from the class of start to the class of min(end, small max)", () => {
    const sc = new SizeClasses(SC_DEFAULTS, {
      binShards: [
        { start: 1, end: 100, nshards: 4 },
        { start: 8192, end: 1 << 30, nshards: 64 },
        { start: 20000, end: 30000, nshards: 2 }, // start above small classes: ignored
      ],
    });
    const shards = Array.from(sc.binNshards);
    expect(shards.slice(0, 8)).toEqual([4, 4, 4, 4, 4, 4, 4, 4]); // 100 rounds up to the 112 class
    expect(shards.slice(8, 32).every((n) => n === 1)).toBe(true);
    expect(shards.slice(32)).toEqual([64, 64, 64, 64]);
    expect(() => new SizeClasses(SC_DEFAULTS, { binShards: [{ start: 1, end: 2, nshards: 0 }] })).toThrow(
      /binShards\[0\]\.nshards must be in 1\.\.64, got 0/,
    );
    expect(() => new SizeClasses(SC_DEFAULTS, { binShards: [{ start: 1, end: 2, nshards: 65 }] })).toThrow(
      RangeError,
    );
  });
});
