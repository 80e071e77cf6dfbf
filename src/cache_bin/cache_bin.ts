/**
 * cache_bin: one bin of a thread cache (jemalloc's cache_bin.h) — its pop and push, its low-water
 * mark, and the "cached" mark that keeps a block from having two owners. The fast paths
 * (src/heap/core.ts), the slow paths (src/heap/ops.ts) and fill/flush (src/tcache/fill_flush.ts)
 * all go through these functions; the bin's record layout is layout.ts.
 *
 * The mark: While a block sits in a thread
 * cache its first word holds the u32 index of the cache slot that holds it (the block is free, so the
 * allocator may write it, as free-list allocators do). A push writes the mark, then the slot; a pop
 * and a flush hand an entry on only if the block's mark names that very slot.
 *
 * A double free pushes the block a second time and moves its mark to the new slot, so the older entry
 * no longer matches: whichever entry leaves the cache second (pop or flush) is refused and reported,
 * at any depth and whichever thread freed it (two workers racing to free one block: the last mark
 * written wins, the other entry is refused). A write into a cached block's first word (use after
 * free) is refused the same way. Cost on the fast paths: one store on free, one compare on malloc —
 * no Atomics (an Atomics RMW costs ~20 ns on the measured machine, more than a whole malloc).
 *
 * Refused entries are dropped from the cache (the block's other entry or owner keeps it) and listed
 * in `flushProblems` for the caller to report once the operation is complete.
 */
import type { HeapCtx } from "../ctx/ctx.js";
import { TBIN_W_CAP, TBIN_W_HEAD, TBIN_W_LOW_WATER, TBIN_W_NSTASHED, TBIN_W_SLOTS } from "./layout.js";

/** Cache entries refused at pop or flush (double frees), reported by the caller after the operation. */
export const flushProblems: number[] = [];

/** Writes the mark of `ptr` for slot word `slotW` (before the slot itself is written). */
export function cacheMarkSet(u32: Uint32Array, ptr: number, slotW: number): void {
  u32[ptr >>> 2] = slotW;
}

/** True if `ptr`'s mark names slot word `slotW`. */
export function cacheMarkOk(u32: Uint32Array, ptr: number, slotW: number): boolean {
  return u32[ptr >>> 2] === slotW;
}

/** Re-marks the entries of bin `w` in [from, to) (after they moved to new slots). */
export function cacheMarkRange(u32: Uint32Array, w: number, from: number, to: number): void {
  const slots = u32[w + TBIN_W_SLOTS]!;
  for (let i = from; i < to; i++) u32[u32[slots + i]! >>> 2] = slots + i;
}

/**
 * True if `ptr` sits in bin `w` now: its mark names an occupied slot of the bin that holds it.
 * Exact for the calling thread's own cache (free-time detection on the slow paths).
 */
export function cacheMarkHeld(u32: Uint32Array, w: number, ptr: number): boolean {
  const m = u32[ptr >>> 2]!;
  const slots = u32[w + TBIN_W_SLOTS]!;
  return m >= slots + u32[w + TBIN_W_HEAD]! && m < slots + u32[w + TBIN_W_CAP]! && u32[m] === ptr;
}

/** cache_bin_full: no room for a push (the stash takes room from the bottom of the stack). */
export function cacheBinFull(u32: Uint32Array, w: number): boolean {
  return u32[w + TBIN_W_HEAD]! <= u32[w + TBIN_W_NSTASHED]!;
}

/** cache_bin_stash: `ptr` into the stash at the bottom of the stack; false (nothing done) when full. */
export function cacheBinStash(u32: Uint32Array, w: number, ptr: number): boolean {
  const n = u32[w + TBIN_W_NSTASHED]!;
  if (u32[w + TBIN_W_HEAD]! <= n) return false;
  u32[u32[w + TBIN_W_SLOTS]! + n] = ptr;
  u32[w + TBIN_W_NSTASHED] = n + 1;
  return true;
}

/** True if `ptr` is in bin `w`'s stash (a second free of a stashed block). Bounded by the bin. */
export function cacheBinStashHolds(u32: Uint32Array, w: number, ptr: number): boolean {
  const slots = u32[w + TBIN_W_SLOTS]!;
  const n = u32[w + TBIN_W_NSTASHED]!;
  for (let i = 0; i < n; i++) if (u32[slots + i] === ptr) return true;
  return false;
}

/**
 * Takes the stash out of bin `w` (jemalloc's cache_bin_init_ptr_array_for_stashed and
 * cache_bin_finish_flush_stashed at once): copies it into `out` and empties it, so a thread
 * terminated while it frees them leaves none listed. Returns how many.
 */
export function cacheBinTakeStashed(u32: Uint32Array, w: number, out: Uint32Array): number {
  const slots = u32[w + TBIN_W_SLOTS]!;
  const n = u32[w + TBIN_W_NSTASHED]!;
  for (let i = 0; i < n; i++) out[i] = u32[slots + i]!;
  u32[w + TBIN_W_NSTASHED] = 0;
  return n;
}

/** cache_bin_ncached_get: entries in bin `w`. */
export function cacheBinNcached(u32: Uint32Array, w: number): number {
  return u32[w + TBIN_W_CAP]! - u32[w + TBIN_W_HEAD]!;
}

/** cache_bin_low_water_set: the GC's visit restarts the low-water mark at the current count. */
export function cacheBinLowWaterSet(u32: Uint32Array, w: number): void {
  u32[w + TBIN_W_LOW_WATER] = u32[w + TBIN_W_CAP]! - u32[w + TBIN_W_HEAD]!;
}

/** Lowers bin `w`'s low-water mark to `n` entries if it is above. */
export function cacheBinLowWaterLower(u32: Uint32Array, w: number, n: number): void {
  if (n < u32[w + TBIN_W_LOW_WATER]!) u32[w + TBIN_W_LOW_WATER] = n;
}

/**
 * Pops the newest entry whose mark matches; refused entries are dropped into markProblems.
 * Returns 0 when the bin is (or becomes) empty. Keeps the low-water mark.
 */
export function cacheBinPopChecked(ctx: HeapCtx, w: number): number {
  const u32 = ctx.u32;
  const cap = u32[w + TBIN_W_CAP]!;
  const slots = u32[w + TBIN_W_SLOTS]!;
  let head = u32[w + TBIN_W_HEAD]!;
  while (head < cap) {
    const p = u32[slots + head]!;
    head++;
    u32[w + TBIN_W_HEAD] = head;
    if (cap - head < u32[w + TBIN_W_LOW_WATER]!) u32[w + TBIN_W_LOW_WATER] = cap - head;
    if (u32[p >>> 2] === slots + head - 1) return p;
    flushProblems.push(p);
  }
  return 0;
}

/** Pushes `ptr` into a bin that has room: the mark first, then the slot, then the head. */
export function cacheBinPush(u32: Uint32Array, w: number, ptr: number): void {
  const head = u32[w + TBIN_W_HEAD]! - 1;
  const slotW = u32[w + TBIN_W_SLOTS]! + head;
  u32[ptr >>> 2] = slotW;
  u32[slotW] = ptr;
  u32[w + TBIN_W_HEAD] = head;
}

// Local copies of the offsets the fast paths use: V8 folds a module's own constant into the code it
// inlines, but loads an imported binding from its module cell at every use (measured: +1.5 % on
// small churn).
const W_HEAD = TBIN_W_HEAD;
const W_LOW_WATER = TBIN_W_LOW_WATER;
const W_CAP = TBIN_W_CAP;
const W_SLOTS = TBIN_W_SLOTS;

/**
 * cache_bin_alloc_easy: the newest entry of bin `w` when its mark names its slot, else 0 with nothing
 * changed (empty, or an entry freed twice: the slow path's cacheBinPopChecked drops and reports it).
 * Keeps the low-water mark.
 */
export function cacheBinAllocEasy(u32: Uint32Array, w: number): number {
  const head = u32[w + W_HEAD]!;
  const cap = u32[w + W_CAP]!;
  if (head === cap) return 0;
  const slotW = u32[w + W_SLOTS]! + head;
  const p = u32[slotW]!;
  if (u32[p >>> 2] !== slotW) return 0;
  u32[w + W_HEAD] = head + 1;
  if (cap - head - 1 < u32[w + W_LOW_WATER]!) u32[w + W_LOW_WATER] = cap - head - 1;
  return p;
}

/**
 * cache_bin_dalloc_easy: pushes `ptr` unless the bin is full, or `ptr` is its newest entry (the
 * immediate repeat `free(p); free(p)`, left to the slow path to report). True when pushed.
 */
export function cacheBinDallocEasy(u32: Uint32Array, w: number, ptr: number): boolean {
  const head = u32[w + W_HEAD]!;
  const slotW = u32[w + W_SLOTS]! + head - 1;
  if (head !== 0 && u32[slotW + 1] !== ptr) {
    // Written out rather than calling cacheBinPush: this is the free fast path's whole push.
    u32[ptr >>> 2] = slotW;
    u32[slotW] = ptr;
    u32[w + W_HEAD] = head - 1;
    return true;
  }
  return false;
}
