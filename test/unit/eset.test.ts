/**
 * eset: one extent cache (jemalloc's eset.c). Extents sit in the heap of their page class
 * (psz_quantize_floor); fit takes the oldest-then-lowest extent over the classes that can hold the
 * request (from psz_quantize_ceil up), stopping at classes more than 2^lg_max_fit times the request;
 * exactOnly looks in the request's own class only; an alignment above a page falls back to a scan that
 * checks the real alignment. Statistics (npages, nextents, per-class counts and bytes) and the LRU
 * order follow every insert and remove. The records and the cache live in a private buffer; the size
 * classes and layout come from a real heap's context.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { HeapCtx } from "../../src/ctx/ctx.js";
import {
  EDATA_W_LIST_NEXT,
  EXTENT_STATE_DIRTY,
  edataBase,
  edataInit,
  edataSize,
} from "../../src/extent/edata.js";
import {
  esetBinNbytes,
  esetBinNextents,
  esetFit,
  esetInit,
  esetInsert,
  esetLruFirst,
  esetNextents,
  esetNpages,
  esetRemove,
  esetState,
  esetSummaryOk,
} from "../../src/extent/eset.js";
import { Heap } from "../../src/heap.js";
import { alignUp } from "../../src/layout/index.js";

const heap = Heap.create({ envConf: null, conf: "tcache:false,narenas:1", clock: () => 0 });
const NREC = 48;
const EC = 64;

interface Bench {
  ctx: HeapCtx;
  recs: number[];
}

/** A context whose views cover a private buffer: [ecache at 64][records…]. */
function bench(): Bench {
  const base = heap.ctx;
  const recStart = alignUp(EC + base.arenaLayout.esetBytes, 64);
  const bytes = recStart + NREC * base.edataBytes;
  const buf = new ArrayBuffer(alignUp(bytes, 8));
  const ctx: HeapCtx = {
    ...base,
    buffer: buf,
    u8: new Uint8Array(buf),
    i32: new Int32Array(buf),
    u32: new Uint32Array(buf),
    f64: new Float64Array(buf),
    dv: new DataView(buf),
  };
  esetInit(ctx, EC, EXTENT_STATE_DIRTY, true);
  const recs: number[] = [];
  for (let i = 0; i < NREC; i++) recs.push(recStart + i * base.edataBytes);
  return { ctx, recs };
}

function init(b: Bench, i: number, base: number, pages: number, sn: number): number {
  const e = b.recs[i]!;
  edataInit(
    b.ctx.u32,
    e,
    0,
    base,
    pages * b.ctx.page,
    false,
    b.ctx.sc.nsizes,
    sn,
    EXTENT_STATE_DIRTY,
    false,
    true,
    false,
  );
  return e;
}

interface Member {
  e: number;
  base: number;
  size: number;
  sn: number;
}

function classOf(ctx: HeapCtx, size: number): number {
  return ctx.sc.psz2ind(ctx.sc.pszQuantizeFloor(size));
}

/** The model of eset_fit (first fit, then the alignment scan). */
function modelFit(
  ctx: HeapCtx,
  members: Member[],
  esize: number,
  alignment: number,
  exactOnly: boolean,
  lgMaxFit: number,
): number {
  const sc = ctx.sc;
  const page = ctx.page;
  const nbins = ctx.arenaLayout.esetNbins;
  const older = (a: Member, b: Member) => a.sn < b.sn || (a.sn === b.sn && a.base < b.base);
  const firstOf = (cls: number): Member | undefined => {
    let best: Member | undefined;
    for (const m of members)
      if (classOf(ctx, m.size) === cls && (best === undefined || older(m, best))) best = m;
    return best;
  };
  const maxSize = esize + alignUp(alignment, page) - page;
  const pind = sc.psz2ind(sc.pszQuantizeCeil(maxSize));
  let found: Member | undefined;
  if (pind < nbins) {
    if (exactOnly) found = firstOf(pind);
    else {
      for (const m of members) {
        const c = classOf(ctx, m.size);
        if (c < pind) continue;
        // Classes are visited in ascending order and the walk stops at the first non-empty class that is
        // too big: every class beyond it is too big as well.
        if (Math.floor(sc.pind2sz(c) / 2 ** Math.min(lgMaxFit, 63)) > maxSize) continue;
        if (found === undefined || older(m, found)) found = m;
      }
    }
  }
  if (found === undefined && alignment > page) {
    const lo = sc.psz2ind(sc.pszQuantizeCeil(esize));
    const hi = Math.min(nbins, sc.psz2ind(sc.pszQuantizeCeil(maxSize)));
    const palign = alignUp(alignment, page);
    for (let c = lo; c < hi && found === undefined; c++) {
      const m = firstOf(c);
      if (m === undefined) continue;
      const next = alignUp(m.base, palign);
      if (m.base > next || m.base + m.size <= next) continue;
      if (m.size - (next - m.base) >= esize) found = m;
    }
  }
  return found?.e ?? 0;
}

function checkStats(b: Bench, members: Member[], lru: number[]): void {
  const { ctx } = b;
  expect(esetNextents(ctx, EC)).toBe(members.length);
  expect(esetNpages(ctx, EC)).toBe(members.reduce((s, m) => s + m.size / ctx.page, 0));
  const n = new Map<number, number>();
  const bytes = new Map<number, number>();
  for (const m of members) {
    const c = classOf(ctx, m.size);
    n.set(c, (n.get(c) ?? 0) + 1);
    bytes.set(c, (bytes.get(c) ?? 0) + m.size);
  }
  for (let c = 0; c < ctx.arenaLayout.esetNbins; c++) {
    if (esetBinNextents(ctx, EC, c) !== (n.get(c) ?? 0))
      expect(esetBinNextents(ctx, EC, c), `class ${c} nextents`).toBe(n.get(c) ?? 0);
    if (esetBinNbytes(ctx, EC, c) !== (bytes.get(c) ?? 0))
      expect(esetBinNbytes(ctx, EC, c), `class ${c} nbytes`).toBe(bytes.get(c) ?? 0);
    // The class's (sn, addr) summary, which first fit compares, names its heap's root.
    if (!esetSummaryOk(ctx, EC, c)) expect(esetSummaryOk(ctx, EC, c), `class ${c} summary`).toBe(true);
  }
  const walk: number[] = [];
  for (let e = esetLruFirst(ctx, EC); e !== 0; e = ctx.u32[(e >>> 2) + EDATA_W_LIST_NEXT]!) walk.push(e);
  expect(walk, "LRU order = insertion order").toEqual(lru);
}

describe("eset", () => {
  it("init: empty, in the given state", () => {
    const b = bench();
    expect(esetState(b.ctx, EC)).toBe(EXTENT_STATE_DIRTY);
    expect(esetNextents(b.ctx, EC)).toBe(0);
    expect(esetFit(b.ctx, EC, b.ctx.page, b.ctx.page, false, 6)).toBe(0);
  });

  it("fit prefers the oldest extent, then the lowest address, over every class that can hold the request", () => {
    const b = bench();
    const P = b.ctx.page;
    const young = init(b, 0, 100 * P, 4, 9);
    const oldHigh = init(b, 1, 400 * P, 8, 2);
    const oldLow = init(b, 2, 200 * P, 16, 2);
    for (const e of [young, oldHigh, oldLow]) esetInsert(b.ctx, EC, e);
    expect(esetFit(b.ctx, EC, 2 * P, P, false, 63)).toBe(oldLow); // sn 2 at the lower address
    expect(esetFit(b.ctx, EC, 10 * P, P, false, 63)).toBe(oldLow); // only the 16-page extent is big enough
    esetRemove(b.ctx, EC, oldLow);
    expect(esetFit(b.ctx, EC, 2 * P, P, false, 63)).toBe(oldHigh);
    expect(esetFit(b.ctx, EC, 10 * P, P, false, 63)).toBe(0);
  });

  it("lg_max_fit: the dirty cache will not split an extent more than 64× the request", () => {
    const b = bench();
    const P = b.ctx.page;
    const huge = init(b, 0, 1000 * P, 128, 0); // oldest, but 128 pages
    const small = init(b, 1, 10 * P, 4, 7);
    esetInsert(b.ctx, EC, huge);
    esetInsert(b.ctx, EC, small);
    expect(esetFit(b.ctx, EC, 1 * P, P, false, 6)).toBe(small); // 128 pages >> 6 = 2 pages > 1 page
    expect(esetFit(b.ctx, EC, 2 * P, P, false, 6)).toBe(huge); // 2 pages ≤ 2 pages: the oldest wins
    expect(esetFit(b.ctx, EC, 1 * P, P, false, 63)).toBe(huge); // no bound (muzzy / retained)
  });

  it("exactOnly looks in the request's own class only", () => {
    const b = bench();
    const P = b.ctx.page;
    const four = init(b, 0, 40 * P, 4, 5);
    const eight = init(b, 1, 80 * P, 8, 1);
    esetInsert(b.ctx, EC, four);
    esetInsert(b.ctx, EC, eight);
    expect(esetFit(b.ctx, EC, 4 * P, P, true, 63)).toBe(four);
    expect(esetFit(b.ctx, EC, 4 * P, P, false, 63)).toBe(eight);
    expect(esetFit(b.ctx, EC, 3 * P, P, true, 63)).toBe(0);
  });

  it("random inserts, removes and fits agree with the model (sizes, ages, alignments, lg_max_fit)", () => {
    const opArb = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          k: fc.constant("insert" as const),
          pages: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 41, max: 3000 })),
          sn: fc.nat({ max: 8 }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ k: fc.constant("remove" as const), i: fc.nat() }) },
      {
        weight: 4,
        arbitrary: fc.record({
          k: fc.constant("fit" as const),
          pages: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 21, max: 2000 })),
          lgAlignPages: fc.oneof(
            { weight: 3, arbitrary: fc.constant(0) },
            { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }) },
          ),
          exactOnly: fc.boolean(),
          lgMaxFit: fc.constantFrom(6, 3, 63),
        }),
      },
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        const b = bench();
        const P = b.ctx.page;
        const members: Member[] = [];
        const lru: number[] = [];
        const free = [...b.recs.keys()];
        let top = 16 * P;
        for (const op of ops) {
          if (op.k === "insert") {
            const i = free.pop();
            if (i === undefined) continue;
            const base = top + P * (op.sn % 3); // gaps, so addresses are not sorted by age
            top = base + op.pages * P;
            const e = init(b, i, base, op.pages, op.sn);
            esetInsert(b.ctx, EC, e);
            members.push({ e, base, size: op.pages * P, sn: op.sn });
            lru.push(e);
          } else if (op.k === "remove") {
            if (members.length === 0) continue;
            const m = members.splice(op.i % members.length, 1)[0]!;
            esetRemove(b.ctx, EC, m.e);
            lru.splice(lru.indexOf(m.e), 1);
            free.push(b.recs.indexOf(m.e));
          } else {
            const esize = op.pages * P;
            const alignment = P * 2 ** op.lgAlignPages;
            const got = esetFit(b.ctx, EC, esize, alignment, op.exactOnly, op.lgMaxFit);
            const want = modelFit(b.ctx, members, esize, alignment, op.exactOnly, op.lgMaxFit);
            expect(got, JSON.stringify(op)).toBe(want);
            if (got !== 0 && !op.exactOnly) {
              // Whatever fit returns can hold the request at the alignment.
              const base = edataBase(b.ctx.u32, got);
              expect(base + edataSize(b.ctx.u32, got) - alignUp(base, alignment)).toBeGreaterThanOrEqual(
                esize,
              );
            }
          }
          checkStats(b, members, lru);
        }
      }),
      { numRuns: 200 },
    );
  });
});
