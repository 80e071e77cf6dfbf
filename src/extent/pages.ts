/**
 * pages: what stands for the operating system (jemalloc's pages.c). The buffer is the address space:
 * "mapping" bumps the header's `top` and grows the buffer to cover it (fresh pages read as zero).
 * Purging cannot give a SharedArrayBuffer's memory back, so by default it changes only the extent's
 * state: a forced purge then fails the way jemalloc's pages_purge_forced fails where MADV_DONTNEED does
 * not zero, and the extent is marked not zeroed. With zeroOnPurge a forced purge zero-fills. A
 * resizable ArrayBuffer shrinks again when the pages at its end are given back (pagesTrimTail).
 *
 * Synchronization: `top` and buffer growth are under the map lock (HDR_LOCK_MAP_B); the lock is a leaf
 * (nothing else is taken while holding it).
 */

import type { HeapCtx } from "../ctx/ctx.js";
import {
  HDR_LOCK_MAP_B,
  HDR_MAP_FLOOR_B,
  HDR_MAP_GAP_TOP_B,
  HDR_MAX_BYTES_B,
  HDR_TOP_B,
} from "../ctx/header.js";
import { lengthTracking } from "../layout/index.js";
import { heapLock, heapUnlock } from "./lock.js";

/** Growth granularity of the buffer (a WebAssembly page: cheap for engines to commit). */
export const BUFFER_GROW_STEP = 65536;

function topGet(ctx: HeapCtx): number {
  return ctx.f64[HDR_TOP_B >>> 3]!;
}

/**
 * Maps `size` bytes (a page multiple) at the top of the address space. Returns the address, or 0 when
 * the buffer cannot grow that far (out of memory: nothing changes).
 */
export function pagesMap(ctx: HeapCtx, size: number): number {
  heapLock(ctx, HDR_LOCK_MAP_B);
  try {
    if (ctx.failpoint !== null) ctx.failpoint("map.locked");
    const top = topGet(ctx);
    const newTop = top + size;
    const max = ctx.f64[HDR_MAX_BYTES_B >>> 3]!;
    if (newTop > max || newTop > 2 ** 32) return 0;
    if (!bufferEnsure(ctx, newTop, max)) return 0;
    ctx.f64[HDR_TOP_B >>> 3] = newTop;
    return top;
  } finally {
    heapUnlock(ctx, HDR_LOCK_MAP_B);
  }
}

/**
 * Where Linux would put a fresh extent mapping, modulo the hugepage. jemalloc 5.3 maps its base blocks
 * hugepage-aligned and its extents page-aligned, and the kernel hands out anonymous mappings top-down,
 * each just below the previous one, except that a length that is a multiple of the hugepage is placed
 * hugepage-aligned (THP alignment). The residue of each extent mapping therefore follows from the
 * lengths mapped since the last aligned one, and it decides how an aligned request (alignment > page)
 * splits the mapping, so the buffer reproduces it. Inputs: `floor` = residue of the lowest mapping.
 */
function osResidue(ctx: HeapCtx, size: number, alignment: number): number {
  const hp = ctx.hugepage;
  if (size % hp === 0 || alignment >= hp) return 0;
  const floor = ctx.u32[HDR_MAP_FLOOR_B >>> 2]!;
  const r = (((floor - size) % hp) + hp) % hp;
  return r - (r % Math.max(alignment, ctx.page));
}

/**
 * Maps `size` bytes for extents at the first address above the top whose residue modulo the hugepage is
 * the one the OS would give (osResidue) and that is a multiple of `alignment`. The skipped gap is used
 * only once the top is full. When that address does not fit the buffer's maximum, maps at the first
 * aligned address instead, and when that does not fit either, in a gap below the top (gapTake).
 * Returns the address, or 0 (out of memory: nothing changes).
 */
export function pagesMapExtent(ctx: HeapCtx, size: number, alignment: number): number {
  heapLock(ctx, HDR_LOCK_MAP_B);
  try {
    if (ctx.failpoint !== null) ctx.failpoint("map.locked");
    const hp = ctx.hugepage;
    const top = topGet(ctx);
    const max = ctx.f64[HDR_MAX_BYTES_B >>> 3]!;
    const want = osResidue(ctx, size, alignment);
    let addr = top + ((((want - top) % hp) + hp) % hp);
    if (alignment > hp) addr = Math.ceil(addr / alignment) * alignment;
    if (addr + size > max || addr + size > 2 ** 32) addr = Math.ceil(top / alignment) * alignment;
    const newTop = addr + size;
    if (newTop > max || newTop > 2 ** 32 || !bufferEnsure(ctx, newTop, max))
      return gapTake(ctx, size, alignment > ctx.page ? alignment : ctx.page);
    ctx.f64[HDR_TOP_B >>> 3] = newTop;
    ctx.u32[HDR_MAP_FLOOR_B >>> 2] = addr % hp;
    if (addr > top) gapPush(ctx, top, addr);
    return addr;
  } finally {
    heapUnlock(ctx, HDR_LOCK_MAP_B);
  }
}

/**
 * Maps a base block of about `size` bytes (at least `need`, a page multiple). jemalloc maps base blocks
 * hugepage-aligned, so the extent mapped next lands just below an aligned address: the block is trimmed
 * or stretched to end on a hugepage boundary (when `need` and the buffer allow), so that extent needs no
 * gap. When the top cannot grow by `need` (the buffer's maximum), the block is `need` bytes taken from
 * a placement gap below the top (gapTake), as mmap fills a hole in a full address space. Returns the
 * address (the mapped length in `pagesMappedBytes`), or 0: no room anywhere, nothing changed.
 */
export let pagesMappedBytes = 0;
export function pagesMapBase(ctx: HeapCtx, size: number, need: number): number {
  heapLock(ctx, HDR_LOCK_MAP_B);
  try {
    if (ctx.failpoint !== null) ctx.failpoint("map.locked");
    const hp = ctx.hugepage;
    const top = topGet(ctx);
    const limit = Math.min(ctx.f64[HDR_MAX_BYTES_B >>> 3]!, 2 ** 32);
    let len = Math.floor((top + size) / hp) * hp - top;
    if (len < need) len = Math.ceil((top + size) / hp) * hp - top;
    if (top + len > limit) len = size;
    if (top + len > limit) len = need;
    const newTop = top + len;
    if (newTop > limit || !bufferEnsure(ctx, newTop, ctx.f64[HDR_MAX_BYTES_B >>> 3]!)) {
      const addr = gapTake(ctx, need, ctx.page);
      if (addr !== 0) pagesMappedBytes = need;
      return addr;
    }
    ctx.f64[HDR_TOP_B >>> 3] = newTop;
    ctx.u32[HDR_MAP_FLOOR_B >>> 2] = 0;
    pagesMappedBytes = len;
    return top;
  } finally {
    heapUnlock(ctx, HDR_LOCK_MAP_B);
  }
}

/**
 * Gaps left by pagesMapExtent form a stack ordered by address (made at the top and given back from the
 * top; only a mapping made once the top is full cuts one below, see gapTake): the header holds the
 * highest gap's start, and each gap's first bytes hold [end u32, previous gap's start u32], so a
 * shrinking buffer can give a gap back with the extent above it.
 */
const GAP_END_W = 0;
const GAP_PREV_W = 1;
function gapPush(ctx: HeapCtx, start: number, end: number): void {
  const w = start >>> 2;
  ctx.u32[w + GAP_END_W] = end;
  ctx.u32[w + GAP_PREV_W] = ctx.u32[HDR_MAP_GAP_TOP_B >>> 2]!;
  ctx.u32[HDR_MAP_GAP_TOP_B >>> 2] = start;
}

/** Drops the record of gap `g` (its bytes read as zero again, as unmapped memory does); its predecessor. */
function gapDrop(ctx: HeapCtx, g: number): number {
  const w = g >>> 2;
  const prev = ctx.u32[w + GAP_PREV_W] ?? 0;
  ctx.u32[w + GAP_END_W] = 0;
  ctx.u32[w + GAP_PREV_W] = 0;
  return prev;
}

/** The top after giving back every gap that ends at `top`. */
function gapPopAt(ctx: HeapCtx, top: number): number {
  let g = ctx.u32[HDR_MAP_GAP_TOP_B >>> 2]!;
  while (g !== 0 && g >= top) g = gapDrop(ctx, g);
  while (g !== 0 && ctx.u32[(g >>> 2) + GAP_END_W] === top) {
    top = g;
    g = gapDrop(ctx, g);
  }
  ctx.u32[HDR_MAP_GAP_TOP_B >>> 2] = g;
  return top;
}

/**
 * Takes `size` bytes (a page multiple) aligned to `align` from the highest gap that holds them, as high
 * in it as the alignment allows — where Linux's top-down mmap puts a mapping once the address space is
 * full — and zero-fills them (pages abandoned above an old top may hold data). The stack changes by at
 * most three stores, ordered so that a holder killed between any two leaves each byte either in its gap
 * or in no gap (owned by nobody): the upper rest's record is written first, the gap's end is cut back
 * next, and the link that names the upper rest (or skips a gap taken from its start) comes last. The
 * bytes are filled only after the stack is final. Returns the address, or 0 when no gap is large
 * enough (nothing changes). Map lock held.
 */
function gapTake(ctx: HeapCtx, size: number, align: number): number {
  const u32 = ctx.u32;
  let linkW = HDR_MAP_GAP_TOP_B >>> 2;
  for (let g = u32[linkW]!, n = 0; g !== 0 && n < 1 << 20; g = u32[linkW]!, n++) {
    const w = g >>> 2;
    const end = u32[w + GAP_END_W]!;
    const addr = Math.floor((end - size) / align) * align;
    if (end - g < size || addr < g) {
      linkW = w + GAP_PREV_W;
      continue;
    }
    const past = addr + size;
    if (past < end) {
      u32[(past >>> 2) + GAP_END_W] = end;
      u32[(past >>> 2) + GAP_PREV_W] = addr > g ? g : u32[w + GAP_PREV_W]!;
    }
    if (addr > g) u32[w + GAP_END_W] = addr;
    if (ctx.failpoint !== null) ctx.failpoint("map.gap");
    if (past < end) u32[linkW] = past;
    else if (addr === g) u32[linkW] = u32[w + GAP_PREV_W]!;
    ctx.u8.fill(0, addr, past);
    return addr;
  }
  return 0;
}

/** The placement gaps as [start, end) pairs, highest first (slow path: the checker and tests). */
export function pagesGaps(ctx: HeapCtx): [number, number][] {
  const out: [number, number][] = [];
  const u32 = ctx.u32;
  for (
    let g = u32[HDR_MAP_GAP_TOP_B >>> 2]!;
    g !== 0 && out.length < 1 << 20;
    g = u32[(g >>> 2) + GAP_PREV_W]!
  )
    out.push([g, u32[(g >>> 2) + GAP_END_W]!]);
  return out;
}

/** Whether [addr, addr + size) overlaps a placement gap (address space no mapping owns). */
export function pagesGapOverlaps(ctx: HeapCtx, addr: number, size: number): boolean {
  const u32 = ctx.u32;
  for (
    let g = u32[HDR_MAP_GAP_TOP_B >>> 2]!, n = 0;
    g !== 0 && n < 1 << 20;
    g = u32[(g >>> 2) + GAP_PREV_W]!, n++
  ) {
    if (addr < u32[(g >>> 2) + GAP_END_W]! && g < addr + size) return true;
  }
  return false;
}

/** Bytes of the placement gaps below the top (address space carved but never used). */
export function pagesGapBytes(ctx: HeapCtx): number {
  let sum = 0;
  for (let g = ctx.u32[HDR_MAP_GAP_TOP_B >>> 2]!; g !== 0; g = ctx.u32[(g >>> 2) + GAP_PREV_W]!) {
    sum += ctx.u32[(g >>> 2) + GAP_END_W]! - g;
  }
  return sum;
}

/** Grows the buffer so that [0, end) is addressable; false if the engine refuses. */
function bufferEnsure(ctx: HeapCtx, end: number, max: number): boolean {
  if (ctx.space) return end <= max && ctx.space.ensure(ctx, end);
  const buf = ctx.buffer;
  if (buf.byteLength >= end) return true;
  const want = Math.min(max, Math.ceil(end / BUFFER_GROW_STEP) * BUFFER_GROW_STEP);
  try {
    if (ctx.shared) (buf as SharedArrayBuffer).grow(want);
    else (buf as ArrayBuffer).resize(want);
  } catch (err) {
    // RangeError: past maxByteLength; TypeError: a fixed-length buffer (e.g. an attached copy).
    if (err instanceof RangeError || err instanceof TypeError) return false;
    throw err;
  }
  return buf.byteLength >= end;
}

/**
 * Forced purge. True (failure: the pages keep their data) unless the heap was created with zeroOnPurge,
 * which zero-fills them so they read as zero afterwards, as after MADV_DONTNEED.
 */
export function pagesPurgeForced(ctx: HeapCtx, addr: number, size: number): boolean {
  if (!ctx.opt.zeroOnPurge) return true;
  ctx.u8.fill(0, addr, addr + size);
  return false;
}

/**
 * Address space [addr, end) that will never be used again (abandoned VM) is given back when it is at the
 * top, with the gaps below it, so a bounded buffer does not run out of addresses after failed splits.
 * jemalloc leaves such memory mapped in a 47-bit address space; its statistics do not count it.
 */
export function pagesAbandonTop(ctx: HeapCtx, addr: number, end: number): void {
  heapLock(ctx, HDR_LOCK_MAP_B);
  try {
    if (end === topGet(ctx)) ctx.f64[HDR_TOP_B >>> 3] = gapPopAt(ctx, addr);
  } finally {
    heapUnlock(ctx, HDR_LOCK_MAP_B);
  }
}

/** A resizable ArrayBuffer gives memory back when the top of the address space is unused. */
export function pagesTrimTail(ctx: HeapCtx, newTop: number): void {
  if (ctx.shared) return;
  heapLock(ctx, HDR_LOCK_MAP_B);
  try {
    const top = topGet(ctx);
    if (newTop >= top) return;
    newTop = gapPopAt(ctx, newTop);
    ctx.f64[HDR_TOP_B >>> 3] = newTop;
    const want = Math.ceil(newTop / BUFFER_GROW_STEP) * BUFFER_GROW_STEP;
    const buf = ctx.buffer as ArrayBuffer;
    // Only a buffer whose views track its length may shrink (fixed views would go out of bounds).
    if (want < buf.byteLength && ctx.u8.length === buf.byteLength && isLengthTracking(ctx)) buf.resize(want);
    // What stays in the buffer above the new top is mapped again later as fresh (zeroed) pages.
    const end = top < buf.byteLength ? top : buf.byteLength;
    if (newTop < end) ctx.u8.fill(0, newTop, end);
  } finally {
    heapUnlock(ctx, HDR_LOCK_MAP_B);
  }
}

function isLengthTracking(ctx: HeapCtx): boolean {
  // A length-tracking view was created without a length: its byteOffset is 0 and it follows resizes.
  const probe = ctx.u8;
  return (
    (probe as unknown as { length: number }).length === ctx.buffer.byteLength && lengthTracking.has(probe)
  );
}

/**
 * Whether the top could still take a mapping of `size` bytes aligned to `alignment` below the buffer's
 * maximum (an unlocked read: a hint for choosing a last resort, never a promise).
 */
export function pagesRoomFor(ctx: HeapCtx, size: number, alignment: number): boolean {
  const limit = Math.min(ctx.f64[HDR_MAX_BYTES_B >>> 3]!, 2 ** 32);
  const align = alignment > ctx.page ? alignment : ctx.page;
  return Math.ceil(topGet(ctx) / align) * align + size <= limit;
}

export function pagesTop(ctx: HeapCtx): number {
  return topGet(ctx);
}
