// Thread-cache geometry that depends only on the size classes (tcache.c tcache_boot,
// tcache_ncached_max_compute): the largest cached class and each bin's capacity.
//
// Invariants: capacities are even, >= 2 and <= CACHE_BIN_NCACHED_MAX for small bins.
// Errors: TypeError for non-integers, RangeError for out-of-range options.

import { describeValue } from "./config.js";

/** TCACHE_LG_MAXCLASS_LIMIT: tcache_max is clipped to 8 MiB. */
export const TCACHE_LG_MAXCLASS_LIMIT = 23;
export const TCACHE_MAXCLASS_LIMIT = 2 ** TCACHE_LG_MAXCLASS_LIMIT;
/** opt.tcache_max default. */
export const TCACHE_MAX_DEFAULT = 32768;
/** cache_bin.h: 2^16 / sizeof(void *) - 1 (slot counts are u16 in C, pointers 8 bytes). */
export const CACHE_BIN_NCACHED_MAX = 8191;

export interface TcacheNslotsOptions {
  nslotsSmallMin: number;
  nslotsSmallMax: number;
  nslotsLarge: number;
  lgNslotsMul: number;
}

/** jemalloc's opt.* defaults: tcache_nslots_small_min/max, tcache_nslots_large, lg_tcache_nslots_mul. */
export const TCACHE_NSLOTS_DEFAULTS: TcacheNslotsOptions = Object.freeze({
  nslotsSmallMin: 20,
  nslotsSmallMax: 200,
  nslotsLarge: 20,
  lgNslotsMul: 1,
});

export function checkInteger(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new TypeError(`${name} must be an integer, got ${describeValue(v)}`);
  }
  if (v < min || v > max) throw new RangeError(`${name} must be in ${min}..${max}, got ${v}`);
  return v;
}

/**
 * Capacity of a small bin whose slab holds `nregs` regions: nregs scaled by
 * 2^lgNslotsMul, made even, clamped to [min, max] after jemalloc's own clamping of
 * min/max (even, >= 2, min <= max, max <= 8191).
 */
export function ncachedMaxSmall(nregs: number, o: TcacheNslotsOptions): number {
  let max = Math.min(o.nslotsSmallMax, CACHE_BIN_NCACHED_MAX);
  let min = o.nslotsSmallMin;
  if (min % 2 !== 0) min++;
  if (max % 2 !== 0) max--;
  if (min < 2) min = 2;
  if (max < 2) max = 2;
  if (min > max) min = max;
  // C computes in 32-bit unsigned: a left shift wraps, a right shift floors.
  let candidate =
    o.lgNslotsMul < 0 ? Math.floor(nregs / 2 ** -o.lgNslotsMul) : (nregs * 2 ** o.lgNslotsMul) % 2 ** 32;
  if (candidate % 2 !== 0) candidate++;
  if (candidate <= min) return min;
  return Math.min(candidate, max);
}

export function checkNslotsOptions(o: TcacheNslotsOptions): void {
  if (typeof o !== "object" || o === null) {
    throw new TypeError(`tcache slot options must be an object, got ${describeValue(o)}`);
  }
  // Bounds are malloc_conf's: the small/large counts clip to 1..2048 there, the multiplier is -16..16.
  checkInteger("tcache_nslots_small_min (nslotsSmallMin)", o.nslotsSmallMin, 1, 2048);
  checkInteger("tcache_nslots_small_max (nslotsSmallMax)", o.nslotsSmallMax, 1, 2048);
  checkInteger("tcache_nslots_large (nslotsLarge)", o.nslotsLarge, 1, 2048);
  checkInteger("lg_tcache_nslots_mul (lgNslotsMul)", o.lgNslotsMul, -16, 16);
}
