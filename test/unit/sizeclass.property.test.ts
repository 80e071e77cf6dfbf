// Size classes for configurations that have no reference table: structural checks
// for every accepted (lg_quantum, lg_page) pair (lg_hugepage changes no class), and
// fast-check properties over every accepted (lg_quantum, lg_page, lg_hugepage, lg_vaddr).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  LG_PAGE_MAX,
  LG_PAGE_MIN,
  LG_QUANTUM_MIN,
  LG_VADDR_MAX,
  LG_VADDR_MIN_ABOVE_PAGE,
  SizeClasses,
  sizeClassConfig,
} from "../../src/sizeclass/index.js";

const LONG = process.env.JEMALLOC_TS_LONG === "1";
const RUNS = LONG ? 5000 : 120;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Every accepted (lgQuantum, lgPage) pair. */
function acceptedPairs(): Array<{ lgQuantum: number; lgPage: number }> {
  const pairs = [];
  for (let lgPage = LG_PAGE_MIN; lgPage <= LG_PAGE_MAX; lgPage++) {
    for (let lgQuantum = LG_QUANTUM_MIN; lgQuantum < lgPage; lgQuantum++) pairs.push({ lgQuantum, lgPage });
  }
  return pairs;
}

/** Any accepted configuration, built so every field is drawn from its allowed range. */
const configArb = fc
  .integer({ min: LG_PAGE_MIN, max: LG_PAGE_MAX })
  .chain((lgPage) =>
    fc.integer({ min: lgPage + LG_VADDR_MIN_ABOVE_PAGE, max: LG_VADDR_MAX }).chain((lgVaddr) =>
      fc.record({
        lgPage: fc.constant(lgPage),
        lgVaddr: fc.constant(lgVaddr),
        lgQuantum: fc.integer({ min: LG_QUANTUM_MIN, max: lgPage - 1 }),
        lgHugepage: fc.integer({ min: lgPage, max: lgVaddr }),
      }),
    ),
  )
  .map((c) => sizeClassConfig(c));

describe("structure of every accepted (lg_quantum, lg_page)", () => {
  const pairs = acceptedPairs();

  it("covers the whole accepted range", () => {
    expect(pairs.length).toBe(
      Array.from(
        { length: LG_PAGE_MAX - LG_PAGE_MIN + 1 },
        (_, k) => LG_PAGE_MIN + k - LG_QUANTUM_MIN,
      ).reduce((a, b) => a + b),
    );
  });

  it.each(pairs)("q$lgQuantum p$lgPage", ({ lgQuantum, lgPage }) => {
    const sc = new SizeClasses({ lgQuantum, lgPage, lgHugepage: lgPage, lgVaddr: 32 });
    const q = 2 ** lgQuantum;
    const page = 2 ** lgPage;
    const size = (i: number) => sc.index2size(i);
    // jemalloc's closed forms (internals §1.2)
    expect(sc.ntiny).toBe(lgQuantum - 3);
    expect(sc.nsizes).toBe(sc.ntiny + 4 + 4 * (62 - (lgQuantum + 2) + 1) - 1);
    expect(sc.nbins).toBe(sc.ntiny + 4 + 4 * (lgPage - lgQuantum) - 1);
    expect(sc.npsizes).toBe(4 + (62 - (lgPage + 2)) * 4 + 3);
    expect(sc.nbins).toBeLessThanOrEqual(256);
    // tiny classes, then the quantum-spaced pseudo-group, then 4 classes per doubling
    for (let i = 0; i < sc.ntiny; i++) expect(size(i)).toBe(8 * 2 ** i);
    for (let k = 0; k < 4; k++) expect(size(sc.ntiny + k)).toBe((k + 1) * q);
    for (let i = 1; i < sc.nsizes; i++) expect(size(i)).toBeGreaterThan(size(i - 1));
    for (let i = sc.ntiny + 4; i + 4 < sc.nsizes; i++) expect(size(i + 4)).toBe(2 * size(i));
    expect(sc.indexToSizeBig(sc.nsizes - 1)).toBe(0x7000000000000000n);
    // small/large boundary: small classes are those below 4 pages; 3.5 pages is the largest
    expect(sc.smallMaxclass).toBe(3.5 * page);
    expect(size(sc.nbins - 1)).toBe(sc.smallMaxclass);
    expect(size(sc.nbins)).toBe(4 * page);
    expect(sc.largeMinclass).toBe(4 * page);
    // slabs: slab_size = lcm(size, page), nregs = slab_size / size
    for (let i = 0; i < sc.nbins; i++) {
      const s = size(i);
      const lcm = (s / gcd(s, page)) * page;
      expect([s, sc.binSlabSize[i], sc.binNregs[i], sc.binSlabPages[i]]).toEqual([
        s,
        lcm,
        lcm / s,
        lcm / page,
      ]);
      expect(sc.binSlabPages[i]).toBeLessThanOrEqual(7);
      expect(sc.binNshards[i]).toBe(1);
    }
    // page-size classes are exactly the page multiples, in order
    const pmult = [];
    for (let i = 0; i < sc.nsizes; i++) if (size(i) % page === 0) pmult.push(size(i));
    expect(pmult.length).toBe(sc.npsizes);
    expect(Array.from(sc.pindToSizeTab.subarray(0, sc.npsizes))).toEqual(pmult);
    // the lookup table agrees with the computed form at every entry
    for (let k = 0; k < 513; k++) {
      const s = k * 8;
      expect([s, sc.size2indexLookup(s)]).toEqual([s, sc.size2indexCompute(s)]);
    }
    for (let i = 0; i < sc.nsizes; i++) {
      expect(sc.size2index64(size(i))).toBe(i);
      expect(sc.index2sizeCompute(i)).toBe(size(i));
    }
    // the largest class a 2^32 heap serves
    expect(sc.maxClass + sc.largePad).toBeLessThanOrEqual(2 ** 32);
    expect(size(sc.maxClassIndex + 1) + sc.largePad).toBeGreaterThan(2 ** 32);
  });
});

describe("properties over every accepted configuration (fast-check)", () => {
  const cache = new Map<string, SizeClasses>();
  const get = (c: ReturnType<typeof sizeClassConfig>): SizeClasses => {
    const key = `${c.lgQuantum}/${c.lgPage}/${c.lgHugepage}/${c.lgVaddr}`;
    let sc = cache.get(key);
    if (sc === undefined) {
      sc = new SizeClasses(c);
      cache.set(key, sc);
    }
    return sc;
  };

  it("config fields and servable bound", () => {
    fc.assert(
      fc.property(configArb, (c) => {
        const sc = get(c);
        expect([sc.lgQuantum, sc.lgPage, sc.lgHugepage, sc.lgVaddr]).toEqual([
          c.lgQuantum,
          c.lgPage,
          c.lgHugepage,
          c.lgVaddr,
        ]);
        expect(sc.hugepage).toBe(2 ** c.lgHugepage);
        expect(sc.maxClass + sc.largePad).toBeLessThanOrEqual(2 ** c.lgVaddr);
        expect(sc.index2size(sc.maxClassIndex + 1) + sc.largePad).toBeGreaterThan(2 ** c.lgVaddr);
        expect(sc.maxClassIndex).toBeGreaterThanOrEqual(sc.nbins);
        for (let i = 0; i <= sc.maxClassIndex; i++) expect(sc.size2index(sc.index2size(i))).toBe(i);
      }),
      { numRuns: RUNS },
    );
  });

  it("s2u: idempotent, >= the request, the smallest class >= it; lookup = compute", () => {
    const arb = configArb.chain((c) =>
      fc.tuple(
        fc.constant(c),
        fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.integer({ min: 0, max: get(c).maxClass + 1000 })),
      ),
    );
    fc.assert(
      fc.property(arb, ([c, size]) => {
        const sc = get(c);
        const u = sc.s2u(size);
        const ind = sc.size2index(size);
        expect(ind).toBe(sc.size2indexCompute(size));
        expect(u).toBe(sc.s2uCompute(size));
        if (size > sc.maxClass) {
          expect([u, ind]).toEqual([0, sc.nsizes]);
          return;
        }
        expect(u).toBeGreaterThanOrEqual(size);
        expect(sc.s2u(u)).toBe(u);
        expect(u).toBe(sc.index2size(ind));
        if (ind > 0) expect(sc.index2size(ind - 1)).toBeLessThan(Math.max(size, 1));
      }),
      { numRuns: RUNS },
    );
  });

  it("sa2u: >= the request, a class, a multiple of min(alignment, page); large past the page", () => {
    const arb = configArb.chain((c) =>
      fc.tuple(
        fc.constant(c),
        // size 0 never reaches sa2u in jemalloc (aligned allocations bump it to 1)
        fc.oneof(fc.integer({ min: 1, max: 5 * 2 ** c.lgPage }), fc.integer({ min: 1, max: 2 ** c.lgVaddr })),
        fc.integer({ min: 0, max: c.lgVaddr }),
      ),
    );
    fc.assert(
      fc.property(arb, ([c, size, lgAlign]) => {
        const sc = get(c);
        const align = 2 ** lgAlign;
        const u = sc.sa2u(size, align);
        if (u === 0) {
          // only when the class or its aligned mapping cannot fit in 2^lg_vaddr
          const want = Math.max(sc.s2u64(size), align > sc.page ? sc.largeMinclass : 0);
          const mapping = Math.max(want, sc.largeMinclass) + sc.largePad + Math.max(align, sc.page) - sc.page;
          expect(want > sc.maxClass || mapping > 2 ** c.lgVaddr).toBe(true);
          return;
        }
        expect(u).toBeGreaterThanOrEqual(size);
        expect(sc.s2u(u)).toBe(u);
        expect(u % Math.min(align, sc.page)).toBe(0);
        if (align > sc.page) expect(u).toBeGreaterThanOrEqual(sc.largeMinclass);
        if (align === 1) expect(u).toBe(sc.s2u(size));
      }),
      { numRuns: RUNS },
    );
  });

  it("page-size classes: psz2u = pind2sz(psz2ind), quantize floor <= size <= ceil", () => {
    const arb = configArb.chain((c) =>
      fc.tuple(
        fc.constant(c),
        fc.integer({ min: 1, max: 2 ** c.lgVaddr }),
        fc.integer({ min: 2, max: 2 ** 20 }),
      ),
    );
    fc.assert(
      fc.property(arb, ([c, psz, pages]) => {
        const sc = get(c);
        const pind = sc.psz2ind(psz);
        expect(sc.psz2u(psz)).toBe(sc.pind2sz(pind));
        expect(sc.pind2sz(pind)).toBeGreaterThanOrEqual(psz);
        if (pind > 0) expect(sc.pind2sz(pind - 1)).toBeLessThan(psz);
        const size = Math.min(pages, 2 ** (c.lgVaddr - c.lgPage)) * sc.page;
        const lo = sc.pszQuantizeFloor(size);
        const hi = sc.pszQuantizeCeil(size);
        expect(lo).toBeLessThanOrEqual(size);
        expect(hi).toBeGreaterThanOrEqual(size);
        expect(sc.psz2u(hi - sc.largePad)).toBe(hi - sc.largePad);
        if (lo !== size) expect(sc.psz2u(lo - sc.largePad)).toBe(lo - sc.largePad);
      }),
      { numRuns: RUNS },
    );
  });
});
