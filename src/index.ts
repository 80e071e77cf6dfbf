/**
 * jemalloc-ts: jemalloc 5.3's allocator in TypeScript, over one SharedArrayBuffer that every worker
 * can attach to. Pointers are byte offsets; all allocator state lives in the buffer.
 */

export { type CheckReport, HeapCheckError } from "./check/check.js";
export {
  type CorruptionHandler,
  type CorruptionReport,
  EINVAL,
  ENOMEM,
  HeapCorruptionError,
  HeapPoisonedError,
  MallctlError,
} from "./errors.js";
export {
  MALLOCX_ALIGN,
  MALLOCX_ARENA,
  MALLOCX_LG_ALIGN,
  MALLOCX_TCACHE,
  MALLOCX_TCACHE_NONE,
  MALLOCX_ZERO,
} from "./flags.js";
export type {
  ExtentStateName,
  HeapMapArena,
  HeapMapExtent,
  HeapMapSnapshot,
  HeapMapTotals,
} from "./heap/map.js";
export { HEAP_MAP_COLOURS, type HeapMapSvgOptions, heapMapSvg } from "./heap/map_svg.js";
export type { HeapAttachOptions, HeapCreateOptions, ReclaimReport } from "./heap.js";
export { Heap } from "./heap.js";
export { SizeClasses, sizeClassConfig } from "./sizeclass/index.js";
export {
  type AnyLayout,
  cDeclaration,
  type Layout,
  STRING_MAX_BYTES_DEFAULT,
  type StructHeap,
  struct,
  types,
} from "./struct/index.js";
export { WasmHeap, type WasmImports } from "./wasm/index.js";
