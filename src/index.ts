/**
 * jemalloc-ts: jemalloc 5.3's allocator in TypeScript, over one SharedArrayBuffer that every worker
 * can attach to. Pointers are byte offsets; all allocator state lives in the buffer.
 */
export { Heap } from "./heap.js";
export type { HeapAttachOptions, HeapCreateOptions } from "./heap.js";
export {
  MALLOCX_ALIGN,
  MALLOCX_ARENA,
  MALLOCX_LG_ALIGN,
  MALLOCX_TCACHE,
  MALLOCX_TCACHE_NONE,
  MALLOCX_ZERO,
} from "./flags.js";
export {
  ENOMEM,
  EINVAL,
  HeapCorruptionError,
  HeapPoisonedError,
  type CorruptionHandler,
  type CorruptionReport,
} from "./errors.js";
export { HeapCheckError, type CheckReport } from "./check/check.js";
export { MallctlError } from "./mallctl/errors.js";
export { SizeClasses, sizeClassConfig } from "./sizeclass/index.js";
export {
  struct,
  types,
  cDeclaration,
  STRING_MAX_BYTES_DEFAULT,
  type AnyLayout,
  type Layout,
  type StructHeap,
} from "./struct/index.js";
export type { ReclaimReport } from "./heap.js";
