// Size classes (jemalloc sc / sz / bin_info): the barrel higher layers import.
// Pointers are 32-bit offsets, so the largest class a heap serves is bounded by
// 2^lg_vaddr <= 2^32 (see sz.ts: maxClassIndex / maxClass).

export type { BinShardSegment, SlabSizeSegment } from "./bin_info.js";
export { BIN_SHARDS_MAX } from "./bin_info.js";
export { isPowerOfTwo, lgCeil, lgFloor } from "./bits.js";
export type { SizeClassConfig } from "./config.js";
export {
  LG_PAGE_MAX,
  LG_PAGE_MIN,
  LG_QUANTUM_MIN,
  LG_VADDR_MAX,
  LG_VADDR_MIN_ABOVE_PAGE,
  SC_DEFAULTS,
  sizeClassConfig,
} from "./config.js";
export type { DumpOptions } from "./dump.js";
export { NALLOCX_LG_ALIGN_MAX, NALLOCX_SIZES, nallocx, sizeClassesDump } from "./dump.js";
export {
  SC_LARGE_MAXCLASS,
  SC_LG_NGROUP,
  SC_LG_TINY_MIN,
  SC_LOOKUP_MAXCLASS,
  SC_NGROUP,
} from "./sc.js";
export type { SizeClassOptions } from "./sz.js";
export { checkSize, SIZE2INDEX_TAB_LEN, SizeClasses } from "./sz.js";
export type { TcacheNslotsOptions } from "./tcache_geometry.js";
export {
  CACHE_BIN_NCACHED_MAX,
  TCACHE_LG_MAXCLASS_LIMIT,
  TCACHE_MAX_DEFAULT,
  TCACHE_MAXCLASS_LIMIT,
  TCACHE_NSLOTS_DEFAULTS,
} from "./tcache_geometry.js";
