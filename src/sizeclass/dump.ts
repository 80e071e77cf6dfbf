// dump: the size-class table as JSON in the schema of shared/reference/tables/*.json
// (the `dump` of the real library): lg, arenas, bins, lextents, nallocx_align.
//
// What differs from the reference, and why: pointers are 32-bit offsets, so large
// classes of 2^32 bytes and more are left out of `lextents` and counted in
// `lextents_omitted` (their bound is `lextents_limit`); everything else compares
// exactly. `limits` adds this heap's own bounds. Integers above 2^53 - 1 would be
// written as decimal strings (read every integer with BigInt(v)).
// Errors: none (the SizeClasses object is already valid).

import { TWO_POW_32 } from "./bits.js";
import type { SizeClasses } from "./sz.js";
import { TCACHE_MAX_DEFAULT } from "./tcache_geometry.js";

/** The request sizes of the reference nallocx grid. */
export const NALLOCX_SIZES: readonly number[] = Object.freeze([
  1, 8, 9, 16, 17, 24, 100, 128, 129, 1000, 1024, 1025, 3000, 4096, 4097, 8192, 10000, 14336, 16384, 16385,
  20480, 32768, 40000, 65536, 65537, 100000, 1048576, 1048577, 3000000, 4194304,
]);
/** The grid covers MALLOCX_LG_ALIGN(0..16); 0 means no alignment flag. */
export const NALLOCX_LG_ALIGN_MAX = 16;

/** A JSON integer: a number when exact, else a decimal string. */
export function jsonInteger(v: number | bigint): number | string {
  if (typeof v === "bigint") return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  return v <= Number.MAX_SAFE_INTEGER ? v : BigInt(v).toString();
}

/** nallocx(size, MALLOCX_LG_ALIGN(lg)): s2u without an alignment flag, sa2u with one. */
export function nallocx(sc: SizeClasses, size: number, lgAlign: number): number {
  return lgAlign === 0 ? sc.s2u(size) : sc.sa2u(size, 2 ** lgAlign);
}

export interface DumpOptions {
  /** opt.tcache_max to report arenas.tcache_max / nhbins for (default 32768). */
  tcacheMax?: number;
}

export function sizeClassesDump(sc: SizeClasses, opts: DumpOptions = {}): object {
  const tcacheMax = opts.tcacheMax ?? TCACHE_MAX_DEFAULT;
  const bins = [];
  for (let i = 0; i < sc.nbins; i++) {
    bins.push({
      i,
      size: sc.binRegSize[i]!,
      nregs: sc.binNregs[i]!,
      slab_size: sc.binSlabSize[i]!,
      slab_pages: sc.binSlabPages[i]!,
      nshards: sc.binNshards[i]!,
    });
  }
  const lextents: Array<number | string> = [];
  let omitted = 0;
  for (let i = sc.nbins; i < sc.nsizes; i++) {
    const size = sc.indexToSizeBig(i);
    if (size < BigInt(TWO_POW_32)) lextents.push(jsonInteger(size));
    else omitted++;
  }
  const byLgAlign: number[][] = [];
  for (let lg = 0; lg <= NALLOCX_LG_ALIGN_MAX; lg++)
    byLgAlign.push(NALLOCX_SIZES.map((s) => nallocx(sc, s, lg)));
  return {
    variant: `q${sc.lgQuantum}-p${sc.lgPage}-h${sc.lgHugepage}`,
    lg: { lg_quantum: sc.lgQuantum, lg_page: sc.lgPage, lg_hugepage: sc.lgHugepage, lg_vaddr: sc.lgVaddr },
    arenas: {
      quantum: sc.quantum,
      page: sc.page,
      tcache_max: sc.tcacheMaxclass(tcacheMax),
      nbins: sc.nbins,
      nhbins: sc.nhbins(tcacheMax),
      nlextents: sc.nlextents,
    },
    limits: {
      nsizes: sc.nsizes,
      npsizes: sc.npsizes,
      small_maxclass: sc.smallMaxclass,
      large_minclass: sc.largeMinclass,
      large_pad: sc.largePad,
      max_class_index: sc.maxClassIndex,
      max_class: sc.maxClass,
    },
    bins,
    lextents,
    lextents_limit: TWO_POW_32,
    lextents_omitted: omitted,
    nallocx_align: { sizes: [...NALLOCX_SIZES], by_lg_align: byLgAlign },
  };
}
