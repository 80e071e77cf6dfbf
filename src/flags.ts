/**
 * jemalloc's `MALLOCX_*` flag encoding (include/jemalloc/jemalloc_macros.h.in), bit for bit, so flags
 * written for jemalloc mean the same here.
 *
 *   bits  0..5   lg_align      MALLOCX_LG_ALIGN(la) = la; 0 = no alignment
 *   bit   6      zero          MALLOCX_ZERO
 *   bits  8..19  tcache field  0 = automatic, 1 = none, tc + 2 = explicit cache tc
 *   bits 20..31  arena field   0 = automatic, a + 1 = arena a
 */

export const MALLOCX_LG_ALIGN_MASK = 0x3f;
export const MALLOCX_ZERO = 0x40;
export const MALLOCX_TCACHE_SHIFT = 8;
export const MALLOCX_TCACHE_MASK = 0xfff00 >>> 0; // bits 8..19
export const MALLOCX_ARENA_SHIFT = 20;
export const MALLOCX_ARENA_MASK = 0xfff00000 >>> 0; // bits 20..31
/** Largest explicit tcache index (MALLOCX_TCACHE_MAX in jemalloc). */
export const MALLOCX_TCACHE_MAX = 4093;
/** Arena indices are below this (MALLOCX_ARENA_LIMIT). */
export const MALLOCX_ARENA_LIMIT = 4095;

/** Alignment `1 << la`; `la = 0` means no alignment constraint. */
export function MALLOCX_LG_ALIGN(la: number): number {
  return la;
}

/** `ffs(a) - 1`: like jemalloc this does not check that `a` is a power of two. */
export function MALLOCX_ALIGN(a: number): number {
  if (!Number.isInteger(a) || a <= 0 || a > 0x80000000) {
    throw new RangeError(`MALLOCX_ALIGN: alignment must be a positive integer below 2^32, got ${String(a)}`);
  }
  return 31 - Math.clz32(a & -a);
}

export function MALLOCX_TCACHE(tc: number): number {
  return ((tc + 2) << MALLOCX_TCACHE_SHIFT) >>> 0;
}

export const MALLOCX_TCACHE_NONE = (1 << MALLOCX_TCACHE_SHIFT) >>> 0;

export function MALLOCX_ARENA(a: number): number {
  return ((a + 1) << MALLOCX_ARENA_SHIFT) >>> 0;
}

/** Decoders (the flag word is validated by the caller). */
export function mallocxLgAlign(flags: number): number {
  return flags & MALLOCX_LG_ALIGN_MASK;
}
/** -1 = automatic, -2 = none, else the explicit tcache index. */
export function mallocxTcacheIndex(flags: number): number {
  return ((flags & MALLOCX_TCACHE_MASK) >>> MALLOCX_TCACHE_SHIFT) - 2;
}
/** -1 = automatic, else the arena index. */
export function mallocxArenaIndex(flags: number): number {
  return ((flags & MALLOCX_ARENA_MASK) >>> MALLOCX_ARENA_SHIFT) - 1;
}
