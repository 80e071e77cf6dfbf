/**
 * The thread cache record. A cache (a thread's, or an explicit one from tcache.create) is one internal
 * allocation in arena 0 — jemalloc allocates its bin stacks the same way, so `internal` and the large
 * statistics match — holding, in order, every bin's slot stack (u32 offsets) and then this record.
 *
 * ╒══════════ Tcache record (TCACHE_HDR_BYTES + nhbins × TBIN_BYTES) ══════════╕
 *  bytes  field          units   meaning (owner: the thread using the cache; plain loads/stores)
 *   0..3  arena          i32     associated arena (stats and fills), -1 = none
 *   4..7  block          ptr     the internal allocation holding stacks and record
 *   8..11 nextGcBin      index   GC visits one bin per event, round robin
 *  12..15 state          enum    TCACHE_STATE_LIVE / DEAD
 *  16..23 gcAllocNext    bytes   thread.allocated value at which the next GC event fires
 *  24..31 gcDallocNext   bytes   thread.deallocated value for the dalloc GC event
 *  32..35 nhbins         count
 *  36..39 kind           enum    thread cache or explicit
 *  40..63 (reserved)
 * then per bin i, at TCACHE_HDR_BYTES + i × TBIN_BYTES, one cache-bin record (src/cache_bin/layout.ts).
 * ╘════════════════════════════════════════════════════════════════════════════╛
 */
export const TCACHE_ARENA_B = 0;
export const TCACHE_BLOCK_B = 4;
export const TCACHE_NEXT_GC_BIN_B = 8;
export const TCACHE_STATE_B = 12;
export const TCACHE_GC_ALLOC_NEXT_B = 16;
export const TCACHE_GC_DALLOC_NEXT_B = 24;
export const TCACHE_NHBINS_B = 32;
export const TCACHE_KIND_B = 36;
export const TCACHE_HDR_BYTES = 64;

export const TCACHE_STATE_LIVE = 1;
export const TCACHE_STATE_DEAD = 2;
export const TCACHE_KIND_THREAD = 1;
export const TCACHE_KIND_EXPLICIT = 2;

export {
  TBIN_BYTES,
  TBIN_FILL_DIV_MASK,
  TBIN_FLUSH_DELAY_MASK,
  TBIN_FLUSH_DELAY_SHIFT,
  TBIN_REFILLED_BIT,
  TBIN_W_CAP,
  TBIN_W_HEAD,
  TBIN_W_LOW_WATER,
  TBIN_W_NREQUESTS,
  TBIN_W_NSTASHED,
  TBIN_W_PACKED,
  TBIN_W_SLOTS,
  TBIN_WORDS,
} from "../cache_bin/layout.js";

import { TBIN_WORDS } from "../cache_bin/layout.js";

/** Word index of bin `i`'s record in the u32 view. */
export function tbinW(tc: number, i: number): number {
  return ((tc + TCACHE_HDR_BYTES) >>> 2) + i * TBIN_WORDS;
}
