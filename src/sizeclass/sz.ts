// sz: the size-class engine of one heap (sz.h, sz.c, plus bin_info and tcache geometry).
//
// What: size -> class index (a 513-entry lookup table for sizes <= 4096, computed
// above), index -> size, usable size (s2u), aligned usable size (sa2u), the
// page-size classes used by extent sets (psz*), and per-bin slab constants.
// Each lookup has a `...Compute` twin; test/unit/sizeclass.test.ts proves they agree.
//
// Address space: pointers are u32 byte offsets into the heap's buffer, so a heap
// spans at most 2^lg_vaddr <= 2^32 bytes. Every large extent is its usable size plus
// one page (largePad, cache-oblivious). maxClassIndex is the largest class whose
// size + largePad fits in 2^lg_vaddr; size2index / s2u / sa2u treat anything larger
// as too large (nsizes / 0), as jemalloc does above SC_LARGE_MAXCLASS. The counts
// (nsizes, nlextents, npsizes) stay those of 64-bit jemalloc for mallctl fidelity,
// and the `...64` methods answer as 64-bit jemalloc would.
//
// Invariants: every class size is an exact double (<= 3 significant bits).
// Synchronization: immutable after construction; each worker builds its own from
// the config recorded in the heap header.
// Errors: the hot-path methods (size2index, s2u, index2size, ...) do not validate:
// callers pass non-negative integers (see checkSize). The constructor and the
// tcache helpers throw TypeError/RangeError naming the bad value.
//
// Legend: ind = class index, pind = page-size class index, psz = page-multiple size,
// usize = usable size, lg = log2, tiny = classes below the quantum.

import {
  applySlabSizes,
  type BinShardSegment,
  binShardSizes,
  buildBinInfo,
  type SlabSizeSegment,
} from "./bin_info.js";
import { alignUp, isPowerOfTwo, lgCeil } from "./bits.js";
import { describeValue, type SizeClassConfig, sizeClassConfig } from "./config.js";
import { generateScTable, SC_LG_MAX_LOOKUP, SC_LG_NGROUP, SC_LG_TINY_MIN, SC_LOOKUP_MAXCLASS } from "./sc.js";
import {
  checkInteger,
  checkNslotsOptions,
  ncachedMaxSmall,
  TCACHE_MAXCLASS_LIMIT,
  TCACHE_NSLOTS_DEFAULTS,
  type TcacheNslotsOptions,
} from "./tcache_geometry.js";

/** Entries of size2indexTab: (4096 >> 3) + 1. */
export const SIZE2INDEX_TAB_LEN = (SC_LOOKUP_MAXCLASS >> SC_LG_TINY_MIN) + 1;

export interface SizeClassOptions {
  slabSizes?: SlabSizeSegment[];
  binShards?: BinShardSegment[];
}

/** Throw unless `size` is a non-negative safe integer (for API layers, before the hot path). */
export function checkSize(size: unknown, what = "size"): number {
  if (typeof size !== "number" || !Number.isInteger(size)) {
    throw new TypeError(`${what} must be a non-negative integer, got ${describeValue(size)}`);
  }
  if (size < 0 || size > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`${what} must be in 0..${Number.MAX_SAFE_INTEGER}, got ${size}`);
  }
  return size;
}

/** Entries at most in a coarseLookup table (64 KiB). */
const COARSE_TAB_MAX = 65536;

/** Extents shorter than this many pages find their extent-set class in a table (16 MiB at 4 KiB pages). */
const PSZ_TAB_PAGES = 4096;

export class SizeClasses {
  readonly lgQuantum: number;
  readonly lgPage: number;
  readonly lgHugepage: number;
  readonly lgVaddr: number;
  readonly quantum: number;
  readonly page: number;
  readonly hugepage: number;
  readonly ntiny: number;
  /** 64-bit jemalloc class count (232 by default). */
  readonly nsizes: number;
  /** Small (slab) classes. */
  readonly nbins: number;
  /** nsizes - nbins (64-bit count). */
  readonly nlextents: number;
  /** Page-size classes (64-bit count). */
  readonly npsizes: number;
  /** Classes covered by size2indexTab. */
  readonly nlbins: number;
  readonly smallMaxclass: number;
  readonly largeMinclass: number;
  /** SC_LARGE_MAXCLASS of 64-bit jemalloc (7 * 2^60). */
  readonly largeMaxclass: number;
  /** Bytes added to every large extent: one page (cache-oblivious is always on). */
  readonly largePad: number;
  /** Largest index whose size + largePad <= 2^lgVaddr: the largest class this heap serves. */
  readonly maxClassIndex: number;
  readonly maxClass: number;
  readonly binRegSize: Uint32Array;
  readonly binNregs: Uint32Array;
  readonly binSlabSize: Uint32Array;
  readonly binSlabPages: Uint32Array;
  readonly binNshards: Uint32Array;
  /** size2index for size <= 4096 is size2indexTab[(size + 7) >>> 3]. */
  readonly size2indexTab: Uint8Array;
  /** Size of every class (exact doubles). */
  readonly indexToSizeTab: Float64Array;
  /** Size of every page-size class; [npsizes] holds largeMaxclass + page (a double: it rounds to 7 * 2^60). */
  readonly pindToSizeTab: Float64Array;
  /** Largest tiny class (quantum / 2), or 0 when lg_quantum is 3 and there is none. */
  readonly #tinyMaxclass: number;
  /** By page count < PSZ_TAB_PAGES: [0, n) psz2ind(pszQuantizeFloor), [n, 2n) psz2ind(pszQuantizeCeil); built on first use. */
  #pszIndTab: Uint16Array | null = null;

  constructor(cfg: SizeClassConfig, opts?: SizeClassOptions) {
    const c = sizeClassConfig(cfg);
    this.lgQuantum = c.lgQuantum;
    this.lgPage = c.lgPage;
    this.lgHugepage = c.lgHugepage;
    this.lgVaddr = c.lgVaddr;
    this.quantum = 2 ** c.lgQuantum;
    this.page = 2 ** c.lgPage;
    this.hugepage = 2 ** c.lgHugepage;
    const t = generateScTable(c.lgQuantum, c.lgPage);
    this.ntiny = t.ntiny;
    this.nsizes = t.nsizes;
    this.nbins = t.nbins;
    this.nlextents = t.nsizes - t.nbins;
    this.npsizes = t.npsizes;
    this.nlbins = t.nlbins;
    this.smallMaxclass = t.smallMaxclass;
    this.largeMinclass = t.largeMinclass;
    this.largeMaxclass = t.largeMaxclass;
    this.largePad = this.page;
    this.#tinyMaxclass = t.ntiny > 0 ? 2 ** (c.lgQuantum - 1) : 0;
    this.indexToSizeTab = t.size;
    let maxInd = t.nsizes - 1;
    while (t.size[maxInd]! + this.largePad > 2 ** c.lgVaddr) maxInd--;
    this.maxClassIndex = maxInd;
    this.maxClass = t.size[maxInd]!;
    this.size2indexTab = buildSize2indexTab(t.size);
    this.pindToSizeTab = buildPind2szTab(t.size, t.psz, t.npsizes, t.largeMaxclass + this.page);
    applySlabSizes(t, opts?.slabSizes, c.lgVaddr);
    const shards = binShardSizes(t, opts?.binShards, (s) => this.size2index64(s));
    const bins = buildBinInfo(t, shards);
    this.binRegSize = bins.regSize;
    this.binNregs = bins.nregs;
    this.binSlabSize = bins.slabSize;
    this.binSlabPages = bins.slabPages;
    this.binNshards = bins.nshards;
  }

  // ---- size -> index --------------------------------------------------------

  /** Class index of `size`; nsizes when size > maxClass. Lookup form for size <= 4096. */
  size2index(size: number): number {
    if (size <= SC_LOOKUP_MAXCLASS) return this.size2indexTab[(size + 7) >>> 3]!;
    return this.size2indexCompute(size);
  }

  /** Lookup form only: 0 <= size <= 4096. */
  size2indexLookup(size: number): number {
    return this.size2indexTab[(size + 7) >>> 3]!;
  }

  /**
   * A table for the classes above the 4 KiB lookup, up to `maxSize` (the largest cached class, for the
   * malloc fast path): `tab[(size - 1) >>> lgGrain]` is size2index(size) for SC_LOOKUP_MAXCLASS < size
   * ≤ `limit`. lgGrain is the largest power of two dividing every class boundary in the range, so a
   * grain never straddles two classes; `limit` is the largest class ≤ `maxSize` (a smaller one when the
   * table would pass COARSE_TAB_MAX entries), 0 when none lies above 4 KiB.
   */
  coarseLookup(maxSize: number): { tab: Uint8Array; lgGrain: number; limit: number } {
    let lgGrain = SC_LG_MAX_LOOKUP;
    let last = this.size2index(SC_LOOKUP_MAXCLASS);
    // Uint8 entries: every class up to TCACHE_MAXCLASS_LIMIT has an index below 256.
    for (let ind = last + 1; ind < 256 && ind < this.nsizes && this.indexToSizeTab[ind]! <= maxSize; ind++) {
      const size = this.indexToSizeTab[ind]!;
      lgGrain = Math.min(lgGrain, 31 - Math.clz32(size & -size));
      last = ind;
    }
    let limit = this.indexToSizeTab[last]!;
    if (limit <= SC_LOOKUP_MAXCLASS) return { tab: new Uint8Array(0), lgGrain, limit: 0 };
    while (limit / 2 ** lgGrain > COARSE_TAB_MAX) limit = this.indexToSizeTab[--last]!;
    const tab = new Uint8Array(limit / 2 ** lgGrain);
    for (let j = SC_LOOKUP_MAXCLASS >>> lgGrain; j < tab.length; j++)
      tab[j] = this.size2index((j + 1) * 2 ** lgGrain);
    return { tab, lgGrain, limit };
  }

  /** Computed form; nsizes when size > maxClass (or NaN). */
  size2indexCompute(size: number): number {
    if (!(size <= this.maxClass)) return this.nsizes;
    return this.size2index64(size);
  }

  /** As 64-bit jemalloc's sz_size2index_compute: bounded by largeMaxclass, not by lgVaddr. */
  size2index64(size: number): number {
    if (!(size <= this.largeMaxclass)) return this.nsizes;
    if (size === 0) return 0;
    if (size <= this.#tinyMaxclass) {
      const lg = lgCeil(size);
      return lg < SC_LG_TINY_MIN ? 0 : lg - SC_LG_TINY_MIN;
    }
    const lgQ = this.lgQuantum;
    if (size <= 4294967296) {
      // Integer arithmetic on size - 1 < 2^32 (every size a 32-bit heap can serve).
      const xi = 32 - Math.clz32(size - 1);
      const shiftI = xi < SC_LG_NGROUP + lgQ ? 0 : xi - (SC_LG_NGROUP + lgQ);
      const lgDeltaI = xi < SC_LG_NGROUP + lgQ + 1 ? lgQ : xi - SC_LG_NGROUP - 1;
      return this.ntiny + shiftI * 4 + (((size - 1) >>> lgDeltaI) & 3);
    }
    // x = jemalloc's lg_floor(2 * size - 1), computed without rounding above 2^53.
    const x = lgCeil(size);
    const shift = x < SC_LG_NGROUP + lgQ ? 0 : x - (SC_LG_NGROUP + lgQ);
    const lgDelta = x < SC_LG_NGROUP + lgQ + 1 ? lgQ : x - SC_LG_NGROUP - 1;
    const mod = (Math.ceil(size / 2 ** lgDelta) - 1) % 4;
    return this.ntiny + shift * 4 + mod;
  }

  // ---- index -> size --------------------------------------------------------

  /** Table form; ind must be in 0..nsizes-1. */
  index2size(ind: number): number {
    return this.indexToSizeTab[ind]!;
  }

  /** Computed form (sz_index2size_compute). */
  index2sizeCompute(ind: number): number {
    this.#checkIndex(ind);
    if (ind < this.ntiny) return 2 ** (SC_LG_TINY_MIN + ind);
    const r = ind - this.ntiny;
    const grp = Math.floor(r / 4);
    const mod = r % 4;
    const grpSize = grp === 0 ? 0 : 2 ** (this.lgQuantum + SC_LG_NGROUP - 1 + grp);
    const lgDelta = (grp === 0 ? 1 : grp) + this.lgQuantum - 1;
    return grpSize + (mod + 1) * 2 ** lgDelta;
  }

  /** Exact size as a bigint (for JSON/mallctl output of classes above 2^53). */
  indexToSizeBig(ind: number): bigint {
    this.#checkIndex(ind);
    return BigInt(this.indexToSizeTab[ind]!);
  }

  // ---- usable size ----------------------------------------------------------

  /** Usable size of a request; 0 when size > maxClass. s2u(0) is the smallest class. */
  s2u(size: number): number {
    if (size <= SC_LOOKUP_MAXCLASS) return this.indexToSizeTab[this.size2indexTab[(size + 7) >>> 3]!]!;
    return this.s2uCompute(size);
  }

  /** Computed form of s2u. */
  s2uCompute(size: number): number {
    if (!(size <= this.maxClass)) return 0;
    return this.s2u64(size);
  }

  /** As 64-bit jemalloc's sz_s2u_compute: 0 only above largeMaxclass. */
  s2u64(size: number): number {
    if (!(size <= this.largeMaxclass)) return 0;
    if (size === 0) size = 1;
    if (size <= this.#tinyMaxclass) return 2 ** Math.max(lgCeil(size), SC_LG_TINY_MIN);
    const x = lgCeil(size);
    const lgDelta = x < SC_LG_NGROUP + this.lgQuantum + 1 ? this.lgQuantum : x - SC_LG_NGROUP - 1;
    return alignUp(size, 2 ** lgDelta);
  }

  /**
   * Usable size for `size` at `alignment` (a power of two; RangeError otherwise),
   * as sz_sa2u: small when the aligned size stays small and alignment <= page, else
   * large (at least largeMinclass). 0 when the result exceeds maxClass, or when the
   * mapping large_palloc needs (usize + largePad + alignment - page) exceeds the
   * 2^lgVaddr address space: the 32-bit counterpart of jemalloc's size_t overflow check.
   */
  sa2u(size: number, alignment: number): number {
    if (!isPowerOfTwo(alignment)) {
      throw new RangeError(`alignment must be a power of two, got ${describeValue(alignment)}`);
    }
    if (size <= this.smallMaxclass && alignment <= this.page) {
      const usize = this.s2u(alignUp(size, alignment));
      if (usize < this.largeMinclass) return usize;
    }
    let usize: number;
    if (size <= this.largeMinclass) {
      usize = this.largeMinclass;
    } else {
      usize = this.s2u(size);
      if (usize === 0) return 0;
    }
    if (usize > this.maxClass) return 0;
    if (usize + this.largePad + alignUp(alignment, this.page) - this.page > 2 ** this.lgVaddr) return 0;
    return usize;
  }

  // ---- page-size classes (extent sets) --------------------------------------

  /** Page-size class index of psz (rounding up); npsizes when psz > largeMaxclass. */
  psz2ind(psz: number): number {
    if (!(psz <= this.largeMaxclass)) return this.npsizes;
    if (psz <= this.page) return 0;
    if (psz <= 4294967296) {
      // The common case (extents of a 32-bit heap): integer arithmetic on psz - 1 < 2^32 only.
      const x = 32 - Math.clz32(psz - 1);
      const off = x < SC_LG_NGROUP + this.lgPage ? 0 : x - (SC_LG_NGROUP + this.lgPage);
      const lgDelta = off === 0 ? this.lgPage : this.lgPage + off - 1;
      // ceil(psz / 2^lgDelta) - 1 = floor((psz - 1) / 2^lgDelta)
      return off * 4 + (((psz - 1) >>> lgDelta) & 3);
    }
    const x = lgCeil(psz);
    const off = x < SC_LG_NGROUP + this.lgPage ? 0 : x - (SC_LG_NGROUP + this.lgPage);
    const lgDelta = off === 0 ? this.lgPage : this.lgPage + off - 1;
    const inner = (Math.ceil(psz / 2 ** lgDelta) - 1) % 4;
    return off * 4 + inner;
  }

  /** Size of page-size class pind (0..npsizes; npsizes gives largeMaxclass + page). */
  pind2sz(pind: number): number {
    return this.pindToSizeTab[pind]!;
  }

  /** psz rounded up to its page-size class. */
  psz2u(psz: number): number {
    if (!(psz <= this.largeMaxclass)) return this.largeMaxclass + this.page;
    if (psz <= this.page) return this.page;
    const x = psz <= 4294967296 ? 32 - Math.clz32(psz - 1) : lgCeil(psz);
    const lgDelta = x < SC_LG_NGROUP + this.lgPage + 1 ? this.lgPage : x - SC_LG_NGROUP - 1;
    return alignUp(psz, 2 ** lgDelta);
  }

  /** sz_psz_quantize_floor: largest (page class + largePad) <= size; size is a page multiple > 0. */
  pszQuantizeFloor(size: number): number {
    const pind = this.psz2ind(size - this.largePad + 1);
    if (pind === 0) return size;
    return this.pindToSizeTab[pind - 1]! + this.largePad;
  }

  /**
   * psz2ind(pszQuantizeFloor(size)): the extent-set class of a free extent of `size` (a page
   * multiple > 0). A table lookup for extents under PSZ_TAB_PAGES pages, else computed.
   */
  pszFloorInd(size: number): number {
    const n = size / this.page;
    if (n < PSZ_TAB_PAGES && n > 0 && (n | 0) === n) return (this.#pszIndTab ?? this.#buildPszIndTab())[n]!;
    return this.psz2ind(this.pszQuantizeFloor(size));
  }

  /** psz2ind(pszQuantizeCeil(size)): the first extent-set class that can hold `size` (a page multiple > 0). */
  pszCeilInd(size: number): number {
    const n = size / this.page;
    if (n < PSZ_TAB_PAGES && n > 0 && (n | 0) === n)
      return (this.#pszIndTab ?? this.#buildPszIndTab())[PSZ_TAB_PAGES + n]!;
    return this.psz2ind(this.pszQuantizeCeil(size));
  }

  #buildPszIndTab(): Uint16Array {
    const tab = new Uint16Array(2 * PSZ_TAB_PAGES);
    for (let n = 1; n < PSZ_TAB_PAGES; n++) {
      tab[n] = this.psz2ind(this.pszQuantizeFloor(n * this.page));
      tab[PSZ_TAB_PAGES + n] = this.psz2ind(this.pszQuantizeCeil(n * this.page));
    }
    this.#pszIndTab = tab;
    return tab;
  }

  /** sz_psz_quantize_ceil: smallest (page class + largePad) >= size. */
  pszQuantizeCeil(size: number): number {
    const floor = this.pszQuantizeFloor(size);
    if (floor >= size) return floor;
    return this.pindToSizeTab[this.psz2ind(floor - this.largePad + 1)]! + this.largePad;
  }

  // ---- thread-cache geometry -------------------------------------------------

  /**
   * tcache_maxclass = s2u(opt.tcache_max) with tcache_max clipped to 8 MiB, as
   * jemalloc does, and also to maxClass (a small lg_vaddr cannot serve 8 MiB).
   */
  tcacheMaxclass(tcacheMax: number): number {
    checkInteger("tcache_max", tcacheMax, 0, Number.MAX_SAFE_INTEGER);
    return this.s2u(Math.min(tcacheMax, TCACHE_MAXCLASS_LIMIT, this.maxClass));
  }

  /** Number of cached bins: size2index(tcacheMaxclass) + 1 (41 by default). */
  nhbins(tcacheMax: number): number {
    return this.size2index(this.tcacheMaxclass(tcacheMax)) + 1;
  }

  /** Slots of tcache bin `binIndex` (§3.1): nslotsLarge for large bins. */
  ncachedMax(binIndex: number, opts: TcacheNslotsOptions = TCACHE_NSLOTS_DEFAULTS): number {
    this.#checkIndex(binIndex);
    checkNslotsOptions(opts);
    if (binIndex >= this.nbins) return opts.nslotsLarge;
    return ncachedMaxSmall(this.binNregs[binIndex]!, opts);
  }

  #checkIndex(ind: number): void {
    checkInteger("size class index", ind, 0, this.nsizes - 1);
  }
}

/** sz_boot_size2index_tab: entry k holds the class of sizes (8k-7 .. 8k]. */
function buildSize2indexTab(size: Float64Array): Uint8Array {
  const tab = new Uint8Array(SIZE2INDEX_TAB_LEN);
  let dst = 0;
  for (let ind = 0; ind < size.length && dst < SIZE2INDEX_TAB_LEN; ind++) {
    const maxDst = Math.floor((size[ind]! + 7) / 8);
    for (; dst <= maxDst && dst < SIZE2INDEX_TAB_LEN; dst++) tab[dst] = ind;
  }
  return tab;
}

/** sz_boot_pind2sz_tab: sizes of the page-multiple classes, then the sentinel. */
function buildPind2szTab(
  size: Float64Array,
  psz: Uint8Array,
  npsizes: number,
  sentinel: number,
): Float64Array {
  const tab = new Float64Array(npsizes + 1);
  let pind = 0;
  for (let i = 0; i < size.length; i++) if (psz[i]) tab[pind++] = size[i]!;
  for (; pind <= npsizes; pind++) tab[pind] = sentinel;
  return tab;
}
