// bin_info: per-bin (small class) constants (bin_info.c, bin.c bin_update_shard_size)
// and the malloc_conf overrides that shape them (slab_sizes, bin_shards).
//
// What: region size, slab size and pages, regions per slab, shard count per bin.
// Invariants: nregs = floor(slabSize / regSize) <= BITMAP_MAXBITS; 1 <= nshards <= 64;
// every slab is smaller than the address space 2^lg_vaddr (slabs are u32 sizes).
// Errors: TypeError for non-integer segment fields, RangeError for bad ranges.

import { describeValue } from "./config.js";
import { type ScTable, scUpdateSlabSize } from "./sc.js";
import { checkInteger } from "./tcache_geometry.js";

/** One `start-end:pages` segment of malloc_conf `slab_sizes`. */
export interface SlabSizeSegment {
  start: number;
  end: number;
  pages: number;
}

/** One `start-end:nshards` segment of malloc_conf `bin_shards`. */
export interface BinShardSegment {
  start: number;
  end: number;
  nshards: number;
}

/** BIN_SHARDS_MAX = 2^6. */
export const BIN_SHARDS_MAX = 64;

export interface BinInfo {
  regSize: Uint32Array;
  nregs: Uint32Array;
  slabSize: Uint32Array;
  slabPages: Uint32Array;
  nshards: Uint32Array;
}

function segmentList<T>(what: string, v: unknown): T[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new TypeError(`${what} must be an array of segments, got ${describeValue(v)}`);
  return v as T[];
}

/** Apply slab_sizes segments in order (later ones win), as sc_data_update_slab_size does. */
export function applySlabSizes(table: ScTable, segments: unknown, lgVaddr: number): void {
  for (const [k, seg] of segmentList<SlabSizeSegment>("slabSizes", segments).entries()) {
    const at = `slabSizes[${k}]`;
    const start = checkInteger(`${at}.start`, seg?.start, 0, Number.MAX_SAFE_INTEGER);
    const end = checkInteger(`${at}.end`, seg?.end, 0, Number.MAX_SAFE_INTEGER);
    const pages = checkInteger(`${at}.pages`, seg?.pages, 0, Number.MAX_SAFE_INTEGER);
    scUpdateSlabSize(table, start, end, pages);
  }
  const limit = 2 ** lgVaddr;
  for (let i = 0; i < table.nbins; i++) {
    const bytes = table.pgs[i]! * 2 ** table.lgPage;
    if (bytes >= limit) {
      throw new RangeError(
        `slabSizes: a ${table.pgs[i]}-page slab (${bytes} bytes) for the ${table.size[i]}-byte class ` +
          `does not fit in the 2^${lgVaddr}-byte address space (lg_vaddr ${lgVaddr})`,
      );
    }
  }
}

/**
 * bin_shards (bin_update_shard_size): classes from the class of `start` to the class
 * of min(end, small max) get `nshards` shards; a start above the small classes is
 * ignored. `sizeToIndex` must be the unbounded compute form, as in jemalloc.
 */
export function binShardSizes(
  table: ScTable,
  segments: unknown,
  sizeToIndex: (size: number) => number,
): Uint32Array {
  const shards = new Uint32Array(table.nbins).fill(1);
  for (const [k, seg] of segmentList<BinShardSegment>("binShards", segments).entries()) {
    const at = `binShards[${k}]`;
    const start = checkInteger(`${at}.start`, seg?.start, 0, Number.MAX_SAFE_INTEGER);
    const end = checkInteger(`${at}.end`, seg?.end, 0, Number.MAX_SAFE_INTEGER);
    const nshards = checkInteger(`${at}.nshards`, seg?.nshards, 1, BIN_SHARDS_MAX);
    if (start > table.smallMaxclass) continue;
    const last = sizeToIndex(Math.min(end, table.smallMaxclass));
    for (let i = sizeToIndex(start); i <= last; i++) shards[i] = nshards;
  }
  return shards;
}

export function buildBinInfo(table: ScTable, nshards: Uint32Array): BinInfo {
  const n = table.nbins;
  const info: BinInfo = {
    regSize: new Uint32Array(n),
    nregs: new Uint32Array(n),
    slabSize: new Uint32Array(n),
    slabPages: new Uint32Array(n),
    nshards,
  };
  const page = 2 ** table.lgPage;
  for (let i = 0; i < n; i++) {
    const reg = table.size[i]!;
    const slab = table.pgs[i]! * page;
    info.regSize[i] = reg;
    info.slabPages[i] = table.pgs[i]!;
    info.slabSize[i] = slab;
    info.nregs[i] = Math.floor(slab / reg);
  }
  return info;
}
