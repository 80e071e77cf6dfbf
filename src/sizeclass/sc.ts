// sc: generate jemalloc 5.3's size-class table (src/sc.c) for one (lg_quantum, lg_page).
//
// What: every class of the 64-bit jemalloc table, in index order, described as
// size = 2^lgBase + ndelta * 2^lgDelta, with its flags (page multiple, small/slab)
// and default slab page count. The 64-bit table is kept whole (232 classes by
// default) so mallctl and stats report jemalloc's counts; which of these a 32-bit
// heap can serve is decided in sz.ts (maxClassIndex).
// Order of generation (= index order):
//   tiny          8, 16, ... 2^(lg_quantum-1)            one per power of two
//   pseudo-group  1, 2, 3, 4 x quantum
//   groups        lg_base = lg_quantum+2 .. 62: 2^lg_base + k * 2^(lg_base-2), k = 1..4
//                 (k = 1..3 in the last group: SC_LARGE_MAXCLASS = 7 * 2^60)
//   small (bin)   size < 4 pages; slab = smallest page multiple divisible by size
// Invariants: every size has at most 3 significant bits, so it is an exact double.
// Errors: internal consistency failures throw Error (a bug, not bad input).
//
// Legend: sc = size class, lg = log2, psz = page-size (multiple of the page),
// pgs = slab pages, nlbins = classes covered by the size->index lookup table.

import { lgCeil } from "./bits.js";

export const SC_LG_NGROUP = 2;
export const SC_NGROUP = 4;
export const SC_LG_TINY_MIN = 3;
/** Largest group base on a 64-bit build: classes stay below 2^63. */
export const SC_LG_BASE_MAX = 62;
export const SC_LG_MAX_LOOKUP = 12;
export const SC_LOOKUP_MAXCLASS = 4096;
/** 2^62 + 3 * 2^60 = 0x7000000000000000: jemalloc's largest class (exact as a double). */
export const SC_LARGE_MAXCLASS = 2 ** 62 + 3 * 2 ** 60;

export interface ScTable {
  readonly lgQuantum: number;
  readonly lgPage: number;
  readonly ntiny: number;
  readonly nsizes: number;
  readonly nbins: number;
  readonly npsizes: number;
  readonly nlbins: number;
  readonly lgBase: Uint8Array;
  readonly lgDelta: Uint8Array;
  readonly ndelta: Uint8Array;
  /** 1 when the class is a multiple of the page. */
  readonly psz: Uint8Array;
  /** Slab pages for small classes (mutable: slab_sizes overrides), 0 for large. */
  readonly pgs: Uint32Array;
  readonly size: Float64Array;
  readonly smallMaxclass: number;
  readonly lgLargeMinclass: number;
  readonly largeMinclass: number;
  readonly largeMaxclass: number;
}

/** jemalloc's closed forms (sc.h), used to size the arrays and cross-check the generator. */
export function scCounts(lgQuantum: number, lgPage: number) {
  const ntiny = lgQuantum - SC_LG_TINY_MIN;
  const nsizes = ntiny + SC_NGROUP + SC_NGROUP * (SC_LG_BASE_MAX - (lgQuantum + SC_LG_NGROUP) + 1) - 1;
  const nbins = ntiny + SC_NGROUP + SC_NGROUP * (lgPage - lgQuantum) - 1;
  const npsizes = SC_NGROUP + (SC_LG_BASE_MAX - (lgPage + SC_LG_NGROUP)) * SC_NGROUP + SC_NGROUP - 1;
  return { ntiny, nsizes, nbins, npsizes };
}

/** Slab pages (sc.c slab_size): the smallest page multiple that regSize divides. */
export function slabPagesDefault(page: number, regSize: number): number {
  let pages = 1;
  while ((pages * page) % regSize !== 0) pages++;
  return pages;
}

/** Largest region count of a slab bitmap (bitmap.h BITMAP_MAXBITS). */
export function bitmapMaxbits(lgPage: number, nsizes: number): number {
  return 2 ** Math.max(lgPage - SC_LG_TINY_MIN, lgCeil(nsizes));
}

/** Generate the table. Inputs are assumed validated (config.ts). */
export function generateScTable(lgQuantum: number, lgPage: number): ScTable {
  const counts = scCounts(lgQuantum, lgPage);
  const n = counts.nsizes;
  const lgBase = new Uint8Array(n);
  const lgDelta = new Uint8Array(n);
  const ndelta = new Uint8Array(n);
  let index = 0;
  const push = (base: number, delta: number, nd: number): void => {
    lgBase[index] = base;
    lgDelta[index] = delta;
    ndelta[index] = nd;
    index++;
  };
  for (let lg = SC_LG_TINY_MIN; lg < lgQuantum; lg++) {
    push(lg, lg === SC_LG_TINY_MIN ? lg : lg - 1, 0);
  }
  if (counts.ntiny > 0) {
    // First pseudo-group class is one delta above the largest tiny class.
    push(lgQuantum - 1, lgQuantum - 1, 1);
    for (let nd = 1; nd < SC_NGROUP; nd++) push(lgQuantum, lgQuantum, nd);
  } else {
    for (let nd = 0; nd < SC_NGROUP; nd++) push(lgQuantum, lgQuantum, nd);
  }
  for (let base = lgQuantum + SC_LG_NGROUP; base <= SC_LG_BASE_MAX; base++) {
    const limit = base === SC_LG_BASE_MAX ? SC_NGROUP - 1 : SC_NGROUP;
    for (let nd = 1; nd <= limit; nd++) push(base, base - SC_LG_NGROUP, nd);
  }
  if (index !== n) throw new Error(`sc: generated ${index} classes, expected ${n}`);
  return classify(lgQuantum, lgPage, counts, lgBase, lgDelta, ndelta);
}

function classify(
  lgQuantum: number,
  lgPage: number,
  counts: ReturnType<typeof scCounts>,
  lgBase: Uint8Array,
  lgDelta: Uint8Array,
  ndelta: Uint8Array,
): ScTable {
  const n = counts.nsizes;
  const page = 2 ** lgPage;
  const largeMinclass = 2 ** (lgPage + SC_LG_NGROUP);
  const size = new Float64Array(n);
  const psz = new Uint8Array(n);
  const pgs = new Uint32Array(n);
  let nbins = 0;
  let npsizes = 0;
  let nlbins = 0;
  for (let i = 0; i < n; i++) {
    const s = 2 ** lgBase[i]! + ndelta[i]! * 2 ** lgDelta[i]!;
    size[i] = s;
    if (s % page === 0) {
      psz[i] = 1;
      npsizes++;
    }
    if (s < largeMinclass) {
      pgs[i] = slabPagesDefault(page, s);
      nbins++;
    }
    if (s <= SC_LOOKUP_MAXCLASS) nlbins = i + 1;
  }
  if (nbins !== counts.nbins || npsizes !== counts.npsizes) {
    throw new Error(`sc: nbins ${nbins}/${counts.nbins}, npsizes ${npsizes}/${counts.npsizes} disagree`);
  }
  return {
    lgQuantum,
    lgPage,
    ...counts,
    nlbins,
    lgBase,
    lgDelta,
    ndelta,
    psz,
    pgs,
    size,
    smallMaxclass: size[nbins - 1]!,
    lgLargeMinclass: lgPage + SC_LG_NGROUP,
    largeMinclass,
    largeMaxclass: size[n - 1]!,
  };
}

/**
 * slab_sizes override (sc.c sc_data_update_slab_size): small classes with
 * begin <= size <= end get `pages` pages, clamped to [ceil(size/page),
 * BITMAP_MAXBITS * size / page]. begin > end changes nothing, as in jemalloc.
 */
export function scUpdateSlabSize(table: ScTable, begin: number, end: number, pages: number): void {
  const page = 2 ** table.lgPage;
  const maxbits = bitmapMaxbits(table.lgPage, table.nsizes);
  for (let i = 0; i < table.nbins; i++) {
    const reg = table.size[i]!;
    if (begin <= reg && reg <= end) {
      const minPages = Math.ceil(reg / page);
      const maxPages = Math.floor((maxbits * reg) / page);
      table.pgs[i] = Math.min(Math.max(pages, minPages), maxPages);
    }
  }
}
